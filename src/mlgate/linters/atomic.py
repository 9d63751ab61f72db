"""Writing a file so that readers see the old content or the new one, never a part."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

_NEW_FILE_MODE = 0o644


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8, line ends as given) to a temporary file next to `path`, then
    rename it over `path`. An existing file keeps its permission bits; a new one gets 0644.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    mode = _NEW_FILE_MODE
    with contextlib.suppress(FileNotFoundError):  # a new file: the default mode applies
        mode = stat.S_IMODE(path.stat().st_mode)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
