"""Which files `mlgate lint` reads.

Folders are walked for `*.py` files and `*.ipynb` notebooks, skipping what `.gitignore` files
ignore (the ones inside the walked folders and, in a git repository, the ones above them up to
the repository root, plus `.git/info/exclude`; none of those above when they ignore the named
folder itself) and what `exclude`/`extend-exclude` name. Both
use gitignore patterns (pathspec); `exclude` patterns are relative to the project root. `.git`
folders are always skipped. Symbolic links to folders are not followed. Files named on the
command line are taken as given, unless `force-exclude` is set: then `exclude`/`extend-exclude`
apply to them as well (pre-commit names every changed file, excluded or not).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from pathspec import GitIgnoreSpec

from mlgate.errors import UsageError
from mlgate.linters.base import Violation
from mlgate.linters.config import LintConfig

UNREADABLE = "MLG000"
_SUFFIXES = (".py", ".ipynb")


class Discovery(NamedTuple):
    """The files to lint, in order, and a finding for each folder that could not be read."""

    files: list[str]
    errors: list[Violation]


class _Ignore(NamedTuple):
    """Gitignore patterns and the absolute folder they are relative to."""

    base: str
    spec: GitIgnoreSpec


class _Walk(NamedTuple):
    """What a folder walk needs: the exclude patterns, their root, and where results go."""

    root: str
    exclude: GitIgnoreSpec
    found: Discovery


def discover(paths: Iterable[str], config: LintConfig) -> Discovery:
    """The Python files under `paths` (files named directly are kept as given)."""
    patterns = (*config.exclude, *config.extend_exclude)
    walk = _Walk(str(config.root.resolve()), GitIgnoreSpec.from_lines(patterns), Discovery([], []))
    for path in paths:
        if os.path.isdir(path):
            top = os.path.abspath(path)
            _walk_folder(walk, path, top, top, _inherited_ignores(top))
        elif os.path.exists(path):
            if not (config.force_exclude and _excluded(walk, path)):
                walk.found.files.append(os.path.normpath(path))
        else:
            raise UsageError(f"{path}: no such file or folder")
    return Discovery(list(dict.fromkeys(walk.found.files)), walk.found.errors)


def relative_to_root(absolute: str, root: str, fallback: str) -> str:
    """`absolute` relative to `root` in posix form, or relative to `fallback` outside it."""
    for base in (root, fallback):
        if absolute.startswith(base + os.sep):
            return absolute[len(base) + 1 :].replace(os.sep, "/")
    return absolute.replace(os.sep, "/")


def _walk_folder(walk: _Walk, shown: str, folder: str, top: str, ignores: list[_Ignore]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        ignores = [*ignores, *_read_ignore(folder, os.path.join(folder, ".gitignore"))]
    except OSError as err:
        walk.found.errors.append(Violation(shown, 1, 0, UNREADABLE, f"cannot read: {err.strerror}"))
        return
    for entry in entries:
        is_dir = entry.is_dir(follow_symlinks=False)
        if is_dir and entry.name == ".git":
            continue
        if not is_dir and not (entry.name.endswith(_SUFFIXES) and entry.is_file()):
            continue
        if _skipped(walk, entry.path, top, ignores, is_dir):
            continue
        shown_path = os.path.normpath(os.path.join(shown, entry.name))
        if is_dir:
            _walk_folder(walk, shown_path, entry.path, top, ignores)
        else:
            walk.found.files.append(shown_path)


def _excluded(walk: _Walk, path: str) -> bool:
    """Whether `exclude` matches a file named directly (inside the project root only)."""
    absolute = os.path.abspath(path)
    if not absolute.startswith(walk.root + os.sep):
        return False
    return walk.exclude.match_file(relative_to_root(absolute, walk.root, walk.root))


def _skipped(walk: _Walk, path: str, top: str, ignores: list[_Ignore], is_dir: bool) -> bool:
    slash = "/" if is_dir else ""
    if walk.exclude.match_file(relative_to_root(path, walk.root, top) + slash):
        return True
    return _ignored(path + slash, ignores)


def _ignored(path: str, ignores: list[_Ignore]) -> bool:
    """Whether the innermost ignore file with a matching pattern ignores `path`."""
    for ignore in reversed(ignores):
        verdict = ignore.spec.check_file(relative_to_root(path, ignore.base, ignore.base))
        if verdict.include is not None:
            return bool(verdict.include)
    return False


def _inherited_ignores(top: str) -> list[_Ignore]:
    """The ignore files of a git repository that apply above `top`, outermost first.

    None apply when they ignore `top` itself: a folder named on the command line is linted.
    """
    try:
        found = _ignores_above(top)
    except OSError as err:
        raise UsageError(f"cannot read the .gitignore files above {top}: {err}") from err
    return [] if found and _ignored(top + os.sep, found) else found


def _ignores_above(top: str) -> list[_Ignore]:
    repo = _git_root(top)
    if repo is None:
        return []
    found = _read_ignore(repo, os.path.join(repo, ".git", "info", "exclude"))
    folder = repo
    for part in _parts_between(repo, top):
        found.extend(_read_ignore(folder, os.path.join(folder, ".gitignore")))
        folder = os.path.join(folder, part)
    return found


def _parts_between(outer: str, inner: str) -> list[str]:
    relative = os.path.relpath(inner, outer)
    return [] if relative == "." else relative.split(os.sep)


def _git_root(folder: str) -> str | None:
    for candidate in _ancestors(folder):
        if os.path.exists(os.path.join(candidate, ".git")):
            return candidate
    return None


def _ancestors(folder: str) -> Iterator[str]:
    while True:
        yield folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return
        folder = parent


def _read_ignore(base: str, path: str) -> list[_Ignore]:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return [_Ignore(base, GitIgnoreSpec.from_lines(handle.read().splitlines()))]
    except (FileNotFoundError, NotADirectoryError):
        return []  # no ignore file here: nothing to apply
