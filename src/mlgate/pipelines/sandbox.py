"""Least privilege for model servers: a minimal environment, and a bubblewrap sandbox.

The code a package ships runs when its server loads the model. It gets the least it needs:

- **Environment.** An allowlist: the locale (`LANG`, `LANGUAGE`, `LC_*`, `TZ`), `PATH`,
  `HOME`, `PYTHONPATH`, what mlgate sets (`MLGATE_DIGEST`, `MLGATE_LISTEN_FD`, `PORT`) and the
  keys the environment names in `env = [...]`. Nothing else of the deployer's environment:
  not `MLGATE_LEDGER_KEY`, not `GITHUB_*`/`ACTIONS_*` tokens, not cloud credentials. Those
  cannot be named in `env` either (`refused_key`).
- **Sandbox.** With `sandbox = "auto"` (the default) and a working `bwrap`, or with `sandbox =
  "required"`, the server runs under bubblewrap (`sandbox_argv`): system folders, the Python
  installation and mlgate itself read-only, its own release folder read-only (a change would
  persist into the next start), a private writable `/tmp` (its HOME), everything else read-only
  (and `/etc/shadow`, `/etc/gshadow`, `/etc/ssh` masked), every namespace unshared (its own pid
  namespace: it sees and signals only itself and the relay; its own network namespace: no
  network), no capabilities, its own session (no terminal to push input into), and it dies with
  bwrap's parent (`--die-with-parent`), the supervisor whose pid mlgate records
  (`mlgate.pipelines.supervisor`): stopping or killing that pid leaves nothing behind. The
  project, the release store, the ledger folder, the allowed_signers file and the ledger's SSH
  key are hidden even when they lie in a folder the interpreter needs.
- **Socket.** No socket of the host's network namespace enters the sandbox. mlgate binds the
  server's port on 127.0.0.1; the supervisor accepts there and hands each connection over an
  AF_UNIX socket (SCM_RIGHTS) to `python -m mlgate.pipelines.sandbox` (the relay, in the
  sandbox with the server), which forwards it to the server's port in the sandbox's own network
  namespace. A server command that takes `{fd}` (the built-in one does) gets a listening socket
  the relay binds there, under that number (also `MLGATE_LISTEN_FD`); one that takes `{port}`
  binds it itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import mlgate
from mlgate.errors import GateError
from mlgate.pipelines.runtime import bind_local

MODES = ("auto", "required", "off")
ALLOWED = (
    "HOME",
    "LANG",
    "LANGUAGE",
    "PATH",
    "PYTHONPATH",
    "TZ",
    # coverage.py's subprocess measurement (its configuration, not a secret)
    "COVERAGE_PROCESS_CONFIG",
    "COVERAGE_PROCESS_START",
)
ALLOWED_PREFIXES = ("LC_",)
#: Never handed to a model server, even when the environment's `env` names them.
REFUSED_PREFIXES = (
    "MLGATE_",
    "GITHUB_",
    "ACTIONS_",
    "RUNNER_",
    "AWS_",
    "AZURE_",
    "ARM_",
    "GOOGLE_",
    "GCP_",
    "GCLOUD_",
    "CLOUDSDK_",
    "SSH_",
)
#: Mounted read-only. Not /opt (self-hosted runners keep their work folders, credentials and
#: other repositories there): an interpreter under /opt is mounted by its own folders.
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
#: Readable by root only, and root may run mlgate: masked in the sandbox.
SYSTEM_SECRETS = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/ssh")
_CHUNK = 65536
#: The sandbox's own /tmp: a fresh tmpfs per server, also its HOME.
PRIVATE_TMP = "/tmp"  # noqa: S108 - a private tmpfs inside the sandbox, not the host's /tmp


class Sandbox(NamedTuple):
    """How a server is confined: the bwrap binary ("" for none) and why, for the run record."""

    bwrap: str
    note: str


def refused_key(name: str) -> str | None:
    """Why the environment variable `name` may not be passed to a model server, or None."""
    if any(name.startswith(prefix) for prefix in REFUSED_PREFIXES):
        return "mlgate's keys, CI tokens and cloud credentials never reach a model server"
    if not name or "=" in name or "\0" in name:
        return "not an environment variable name"
    return None


def _allowed(name: str, passthrough: Sequence[str]) -> bool:
    if refused_key(name):
        return False
    return name in ALLOWED or name.startswith(ALLOWED_PREFIXES) or name in passthrough


def server_env(
    environ: Mapping[str, str],
    passthrough: Sequence[str],
    given: Mapping[str, str],
    confined: bool = False,
) -> dict[str, str]:
    """The whole environment of a model server: the allowlisted part of `environ`, then `given`
    (what mlgate sets). In a sandbox HOME is its private /tmp, and coverage.py stays off (it
    could not write its data there)."""
    kept = {name: value for name, value in environ.items() if _allowed(name, passthrough)}
    if not confined:
        return {**kept, **given}
    kept = {name: value for name, value in kept.items() if not name.startswith("COVERAGE_")}
    return {**kept, **given, "HOME": PRIVATE_TMP}


def _works(bwrap: str) -> str:
    """Nothing ("") when `bwrap` can build a sandbox here, else its complaint."""
    argv = [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--cap-drop", "ALL", "--", "true"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"cannot run {bwrap}: {err}"
    return "" if done.returncode == 0 else done.stderr.strip() or f"exit {done.returncode}"


def choose(mode: str) -> Sandbox:
    """The sandbox for `mode`; GateError when "required" cannot be met."""
    if mode == "off":
        return Sandbox("", 'off (sandbox = "off")')
    bwrap = shutil.which("bwrap") or ""
    problem = _works(bwrap) if bwrap else "bwrap (bubblewrap) is not installed"
    if not problem:
        return Sandbox(bwrap, "bwrap")
    if mode == "required":
        raise GateError(
            f'sandbox = "required" but {problem}; install bubblewrap (apt-get install '
            'bubblewrap) and allow user namespaces, or set sandbox = "auto"'
        )
    return Sandbox("", f"none: {problem}")


def _python_folders(hide: Sequence[Path]) -> Iterator[Path]:
    """The folders the interpreter and mlgate load from, minus any holding a hidden path or
    the working folder (`python -m` puts it on sys.path: it is the project, ledger included)."""
    found = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)]
    found += [Path(entry) for entry in sys.path if entry and Path(entry).is_dir()]
    found.append(Path(mlgate.__file__).resolve().parents[1])
    found.append(Path(sys.executable).resolve().parent)
    kept_out = [path.resolve() for path in (*hide, Path.cwd())]
    for folder in dict.fromkeys(path.resolve() for path in found):
        if not any(path.is_relative_to(folder) for path in kept_out):
            yield folder


def _masks() -> Iterator[str]:
    for path in SYSTEM_SECRETS:
        if os.path.isdir(path):
            yield from ("--tmpfs", path)
        elif os.path.exists(path):
            yield from ("--ro-bind", os.devnull, path)


def _hidden(path: Path) -> list[str]:
    """Mask `path`: a folder under an empty tmpfs, a file under /dev/null; nothing to mask when
    it does not exist."""
    if path.is_file():
        return ["--ro-bind", os.devnull, str(path)]
    return ["--tmpfs", str(path)] if path.exists() else []


def _exposed(folders: Sequence[str]) -> Iterator[Path]:
    """The working folder (often the project) and the deployer's HOME when they lie inside a
    mounted folder (a project under /etc, a HOME inside an interpreter's folder) and hold none
    of the mounted folders: hidden too."""
    home = os.environ.get("HOME", "")
    mounted = [Path(folder) for folder in folders]
    for path in (Path.cwd().resolve(), *([Path(home).resolve()] if os.path.isabs(home) else [])):
        under = any(path.is_relative_to(folder) and path != folder for folder in mounted)
        if under and not any(folder.is_relative_to(path) for folder in mounted):
            yield path


def sandbox_argv(bwrap: str, release: Path, hide: Sequence[Path]) -> list[str]:
    """The bwrap command line confining a server to `release`; `hide` (the release store,
    the ledger, signing keys) stays out even when it lies inside a folder the interpreter
    needs. The sandbox dies with the bwrap process and runs in its own session."""
    argv = [bwrap, "--die-with-parent", "--new-session", "--unshare-all", "--cap-drop", "ALL"]
    argv += ["--tmpfs", PRIVATE_TMP]
    folders = [*SYSTEM, *map(str, _python_folders(hide))]
    for folder in folders:
        argv += ["--ro-bind-try", folder, folder]
    argv += ["--dev", "/dev", "--proc", "/proc", *_masks()]
    for path in (*hide, *_exposed(folders)):
        argv += _hidden(path)
    # read-only: a change would persist into the next start of the release (/tmp is scratch)
    argv += ["--ro-bind", str(release), str(release)]
    return [*argv, "--remount-ro", "/", "--chdir", str(release), "--"]


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy `source` to `sink` until `source` ends, then pass the end on (half-close)."""
    try:
        while data := source.recv(_CHUNK):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:  # a side went away: this direction is over; the other one ends on its own
        return


def splice(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways between two connected sockets until both directions end."""
    inbound = threading.Thread(target=_pump, args=(client, upstream), daemon=True)
    inbound.start()
    _pump(upstream, client)
    inbound.join()


def _relay(client: socket.socket, port: int) -> None:
    with client:
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:  # the server does not listen (yet): the client sees the connection close
            return
        with upstream:
            upstream.settimeout(None)
            splice(client, upstream)


def serve_handoff(control: socket.socket, port: int) -> None:
    """Forward every connection the supervisor hands over on `control` (an AF_UNIX socket,
    one descriptor per byte) to 127.0.0.1:`port` in the sandbox's network, until it closes."""
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:  # the supervisor went away: nothing more to relay
            return
        if not fds:  # end of stream: the supervisor closed its side
            return
        client = socket.socket(fileno=fds[0])
        threading.Thread(target=_relay, args=(client, port), daemon=True).start()


def _own_listener(fd: int, port: int) -> tuple[int, ...]:
    """Bind 127.0.0.1:`port` in the sandbox's own network namespace, under descriptor `fd`
    (the number the server command was given, replacing the control socket's copy there), for
    a server that takes `{fd}`."""
    listener = bind_local(port)
    os.dup2(listener.fileno(), fd)
    listener.close()
    return (fd,)


def main(argv: Sequence[str] | None = None) -> int:
    """The relay in the sandbox: run the server command and forward to its port every
    connection the supervisor hands over on the control socket `--fd`."""
    parser = argparse.ArgumentParser(prog="python -m mlgate.pipelines.sandbox")
    parser.add_argument("--fd", type=int, required=True, help="the control socket")
    parser.add_argument("--port", type=int, required=True, help="where the server listens")
    parser.add_argument("--bind", action="store_true", help="bind the port, hand it over as --fd")
    parser.add_argument("command", nargs="+", help="the server command")
    args = parser.parse_args(argv)
    control = socket.socket(fileno=os.dup(args.fd))
    passed = _own_listener(args.fd, args.port) if args.bind else ()
    if not passed:
        os.close(args.fd)
    server = subprocess.Popen(args.command, pass_fds=passed)
    for fd in passed:
        os.close(fd)
    threading.Thread(target=serve_handoff, args=(control, args.port), daemon=True).start()
    return server.wait()


if __name__ == "__main__":
    sys.exit(main())
