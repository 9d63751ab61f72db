"""`python -m mlgate.pipelines.supervisor [--fd N] -- COMMAND...`: the parent a sandbox dies with.

bubblewrap's `--die-with-parent` kills the sandbox when bwrap's parent process ends. mlgate
itself ends after a deploy while its servers keep serving, so bwrap's parent is this process
instead: it runs COMMAND (bwrap) as its child, waits for it and exits with its status. mlgate
records this process's pid; stopping it, or killing it, takes bwrap and the whole sandbox with
it, and nothing is left behind.

With `--fd N` (the listening TCP socket mlgate bound on 127.0.0.1) this process accepts the
connections itself: a TCP socket belongs to the host's network namespace, and a sandboxed
process holding one could connect it anywhere there (connect(AF_UNSPEC) disconnects even an
accepted one). COMMAND gets instead, under the same descriptor number, one end of an AF_UNIX
socket pair; each accepted connection is relayed to a fresh AF_UNIX socket pair whose other end
is handed over on it (SCM_RIGHTS), to the relay in the sandbox (`mlgate.pipelines.sandbox`).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence

from mlgate.pipelines.sandbox import splice


def _hand_over(client: socket.socket, control: socket.socket) -> None:
    """Relay `client` to a new socket pair whose other end goes to the sandbox on `control`."""
    with client:
        ours, theirs = socket.socketpair()
        with ours:
            try:
                with theirs:
                    socket.send_fds(control, [b"c"], [theirs.fileno()])
            except OSError:  # the sandbox's relay is gone: the client sees the connection close
                return
            splice(client, ours)


def accept_loop(listener: socket.socket, control: socket.socket) -> None:
    """Hand every connection accepted on `listener` over on `control`, until it closes."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:  # the listener was closed: nothing more to accept
            return
        threading.Thread(target=_hand_over, args=(client, control), daemon=True).start()


def _take(fd: int) -> tuple[int, ...]:
    """Keep the TCP listener `fd` here; put the sandbox's end of the control socket pair under
    its number instead, the only descriptor the command inherits."""
    listener = socket.socket(fileno=os.dup(fd))
    ours, theirs = socket.socketpair()
    os.dup2(theirs.fileno(), fd)
    theirs.close()
    threading.Thread(target=accept_loop, args=(listener, ours), daemon=True).start()
    return (fd,)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command as a child; return its exit status."""
    parser = argparse.ArgumentParser(prog="python -m mlgate.pipelines.supervisor")
    parser.add_argument("--fd", type=int, help="the listening TCP socket to accept on")
    parser.add_argument("command", nargs="+", help="the command to supervise (bwrap ...)")
    args = parser.parse_args(argv)
    passed = _take(args.fd) if args.fd is not None else ()
    with subprocess.Popen(args.command, pass_fds=passed) as child:
        for fd in passed:
            os.close(fd)
        return child.wait()


if __name__ == "__main__":
    sys.exit(main())
