"""Per-file lint results under `.mlgate_cache/`, so an unchanged tree is only stat'ed.

Results are stored by a key hashing the file's path and content, in a folder named by a salt
hashing mlgate's version, its rule code, the Python version and the effective configuration:
any of those changing starts a fresh folder. An index maps (path, size, mtime) to the key, so a
warm run reads no source file at all. A file modified in the last two seconds is not indexed
(its mtime could repeat after a quick edit, as git's "racy" entries can); it is still found by
content. Every write is atomic, so concurrent runs never see half a file, and an entry that
does not read back as written is deleted and treated as a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

from mlgate import __version__
from mlgate.linters.atomic import write_atomic

CACHE_DIR = ".mlgate_cache"
_RACY_NS = 2_000_000_000
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# mlgate's cache; safe to delete.\n"


def content_key(path: str, data: bytes) -> str:
    """The key of one file's results: a hash of its path and content."""
    return hashlib.sha256(path.encode("utf-8", "surrogateescape") + b"\0" + data).hexdigest()


def salt(config_digest: str) -> str:
    """The cache folder name for this mlgate build, Python and configuration."""
    package = Path(__file__).parent
    code = sorted(
        (p.relative_to(package).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in package.rglob("*.py")
    )
    material = json.dumps([__version__, sys.version, config_digest, code])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:20]


class ObjectStore(NamedTuple):
    """Results by key, one small JSON file each; safe to share between processes."""

    folder: Path

    def load(self, key: str) -> object | None:
        """The payload stored under `key`, or None (a corrupt entry is deleted)."""
        path = self._path(key)
        try:
            entry = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None  # not cached yet
        except (OSError, ValueError):
            entry = None
        if isinstance(entry, dict) and entry.get("key") == key and "payload" in entry:
            payload: object = entry["payload"]
            return payload
        with contextlib.suppress(OSError):  # a miss either way; the next store replaces it
            path.unlink()
        return None

    def store(self, key: str, payload: object) -> None:
        """Store `payload` (JSON-serialisable) under `key`, atomically."""
        path = self._path(key)
        data = json.dumps({"key": key, "payload": payload}).encode("utf-8")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
        except OSError:
            return  # a full disk or read-only tree: the result is still correct, just not kept

    def _path(self, key: str) -> Path:
        return self.folder / "objects" / key[:2] / f"{key}.json"


class StatIndex:
    """(path, size, mtime_ns) to content key, read once and written back once per run."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.entries = _read_index(file)
        self.changed = False

    def key_for(self, path: str, stat: os.stat_result) -> str | None:
        """The key of `path` if its size and mtime are as recorded."""
        entry = self.entries.get(path)
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return str(entry[2])
        return None

    def record(self, path: str, stat: os.stat_result, key: str) -> None:
        """Remember the key of `path`, unless its mtime is too recent to be trusted."""
        if time.time_ns() - stat.st_mtime_ns < _RACY_NS:
            return
        entry = [stat.st_size, stat.st_mtime_ns, key]
        if self.entries.get(path) != entry:
            self.entries[path] = entry
            self.changed = True

    def save(self) -> None:
        """Write the index back if it changed."""
        if not self.changed:
            return
        data = json.dumps(self.entries, separators=(",", ":"), sort_keys=True)
        try:
            write_atomic(self.file, data.encode("utf-8"))
        except OSError:
            return  # a full disk or read-only tree: the next run reads the files again
        self.changed = False


def _read_index(file: Path) -> dict[str, list[object]]:
    try:
        data = json.loads(file.read_bytes())
    except FileNotFoundError:
        return {}  # a first run
    except (OSError, ValueError):
        return {}  # unreadable or corrupt: rebuilt by this run
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, list) and len(v) == 3}


class Cache(NamedTuple):
    """The object store and the stat index of one cache folder."""

    objects: ObjectStore
    stats: StatIndex


def open_cache(root: Path, config_digest: str) -> Cache | None:
    """The cache under `root/.mlgate_cache` for this build and configuration.

    None when the folder cannot be made (a read-only checkout): the run goes on without it.
    """
    top = root / CACHE_DIR
    folder = top / salt(config_digest)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", "*\n"), ("CACHEDIR.TAG", _TAG)):
            if not (top / name).exists():
                write_atomic(top / name, text.encode("utf-8"))
    except OSError:
        return None  # nowhere to keep results: every file is checked, as with --no-cache
    return Cache(ObjectStore(folder), StatIndex(folder / "index.json"))
