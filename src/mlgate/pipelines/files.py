"""Which project files go into a package: the model globs and the code globs, minus excludes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pathspec

from mlgate.errors import ConfigError
from mlgate.pipelines.config import PackageConfig

#: Never packaged: interpreter caches and version-control folders.
ALWAYS_EXCLUDED = ("__pycache__/", "*.py[cod]", ".git/", ".mlgate/")


def collect_files(config: PackageConfig) -> tuple[list[str], list[str]]:
    """(model files, code files) as sorted project-relative POSIX paths."""
    excluded = pathspec.GitIgnoreSpec.from_lines(
        [*ALWAYS_EXCLUDED, f"/{config.out}/", *config.exclude]
    )
    models = _matching(config.root, config.models, excluded, "models")
    code = _matching(config.root, config.code, excluded, "code")
    return models, sorted(set(code) - set(models))


def _matching(
    root: Path, patterns: Sequence[str], excluded: pathspec.GitIgnoreSpec, key: str
) -> list[str]:
    found: set[str] = set()
    for pattern in patterns:
        matched = {path for path in _expand(root, pattern, key) if not excluded.match_file(path)}
        if not matched:
            raise ConfigError(
                f"[tool.mlgate.package] {key}: '{pattern}' matches no file under {root}"
            )
        found |= matched
    return sorted(found)


def _expand(root: Path, pattern: str, key: str) -> Iterator[str]:
    """Files matching one glob; a matched folder stands for every file under it."""
    if pattern.startswith("/") or ".." in pattern.split("/") or not pattern.strip():
        raise ConfigError(f"[tool.mlgate.package] {key}: '{pattern}' must stay inside the project")
    resolved_root = root.resolve()
    for match in sorted(root.glob(pattern)):
        candidates = sorted(match.rglob("*")) if match.is_dir() else [match]
        for path in candidates:
            if path.is_file():
                yield _relative(path, root, resolved_root)


def _relative(path: Path, root: Path, resolved_root: Path) -> str:
    """The project-relative path; a link leading outside the project is refused."""
    if not path.resolve().is_relative_to(resolved_root):
        raise ConfigError(f"{path} links outside the project; copy the file into the project")
    return path.relative_to(root).as_posix()
