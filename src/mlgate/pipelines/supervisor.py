"""`python -m mlgate.pipelines.supervisor -- COMMAND...`: the parent a sandbox dies with.

bubblewrap's `--die-with-parent` kills the sandbox when bwrap's parent process ends. mlgate
itself ends after a deploy while its servers keep serving, so bwrap's parent is this process
instead: it runs COMMAND (bwrap) as its child, waits for it and exits with its status. mlgate
records this process's pid; stopping it, or killing it, takes bwrap and the whole sandbox with
it, and nothing is left behind.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command as a child, inherited descriptors included; return its exit status."""
    parser = argparse.ArgumentParser(prog="python -m mlgate.pipelines.supervisor")
    parser.add_argument("command", nargs="+", help="the command to supervise (bwrap ...)")
    args = parser.parse_args(argv)
    with subprocess.Popen(args.command, close_fds=False) as child:
        return child.wait()


if __name__ == "__main__":
    sys.exit(main())
