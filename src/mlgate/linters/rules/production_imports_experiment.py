"""MLG303 production-imports-experiment: production code importing experiment code.

## What it does
Reports an `import` or `from ... import` statement whose module lies under one of the
`experiment-paths` globs, on the statement's line (once per statement). A module name maps to
the paths it can be imported from: `experiments.tune` is `experiments/tune.py` or
`experiments/tune/__init__.py`, below the project root or below any folder of a glob's leading
literal part (so with `src/research/**`, `research.tune` is `src/research/tune.py`). Relative
imports resolve against the importing file's folder. No file is opened: the check is by name.

With path profiles, `experiment-paths` is filled in for you: every profile with
`kind = "production"` gets the `paths` of every profile with `kind = "experiment"`. Other files
get none, so the rule is silent there.

## Why is this bad?
Exploration code is held to relaxed rules because it does not ship. Once production code
imports it, it ships anyway: untested, unreviewed code with relaxed error handling ends up in
the deployed package, and the experiment can no longer change without breaking production.

## Example
```python
# src/serving/predict.py, in the production profile
from experiments.feature_v2 import build_features
```

## Use instead
Move what production needs (`build_features`) into the production package, with tests, and
have the experiment import it from there.

## Options
- `experiment-paths` (list of globs, relative to the project root): where experiment code lives.
  Filled in from the `"experiment"` profiles (under flake8 too); set it by hand without them.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterator, Sequence

from pathspec import GitIgnoreSpec

from mlgate.linters.base import Example, FileContext, Finding, Option

CODE = "MLG303"
NAME = "production-imports-experiment"
CATEGORY = "maintainability"
FIX = None
EXPERIMENT_PATHS: Option[tuple[str, ...]] = Option(
    "experiment-paths",
    (),
    "globs (relative to the project root) where experiment code lives; filled in from the "
    '"experiment" profiles',
)
OPTIONS = (EXPERIMENT_PATHS,)
NODE_TYPES: tuple[type[ast.AST], ...] = (ast.Import, ast.ImportFrom)

_CACHE_KEY = "production_imports_experiment.paths"
_GLOB = re.compile(r"[*?\[]")


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report an import of a module that lies under an experiment path."""
    if not EXPERIMENT_PATHS.of(ctx.options) or not isinstance(node, ast.Import | ast.ImportFrom):
        return
    spec, roots = _experiments(ctx)
    for module in _modules(node, ctx.path):
        found = _experiment_file(module, spec, roots)
        if found is not None:
            yield Finding(
                node.lineno,
                node.col_offset,
                f"production code imports `{module}` from experiment code (`{found}`); "
                "move what it needs into production code",
            )
            return


def _experiments(ctx: FileContext) -> tuple[GitIgnoreSpec, dict[str, list[str]]]:
    """The compiled globs, and for each top-level name the folders it can be imported from."""
    cached = ctx.cache.get(_CACHE_KEY)
    if cached is None:
        patterns = EXPERIMENT_PATHS.of(ctx.options)
        cached = ctx.cache[_CACHE_KEY] = (GitIgnoreSpec.from_lines(patterns), _roots(patterns))
    return cached  # type: ignore[return-value]


def _roots(patterns: Sequence[str]) -> dict[str, list[str]]:
    roots: dict[str, list[str]] = {}
    for pattern in patterns:
        literal: list[str] = []
        for part in pattern.strip("/").split("/"):
            if _GLOB.search(part):
                break
            roots.setdefault(part.removesuffix(".py"), []).append("/".join(literal))
            literal.append(part)
    return roots


def _modules(node: ast.Import | ast.ImportFrom, path: str) -> Iterator[str]:
    """The dotted modules a statement imports: the `from` module, then its names."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = _package(node, path)
    if base:
        yield base
        yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def _package(node: ast.ImportFrom, path: str) -> str:
    if not node.level:
        return node.module or ""
    folder = posixpath.dirname(path.replace("\\", "/"))
    for _ in range(node.level - 1):
        folder = posixpath.dirname(folder)
    parts = [p for p in folder.split("/") if p not in ("", ".")]
    return ".".join([*parts, *([node.module] if node.module else [])])


def _experiment_file(module: str, spec: GitIgnoreSpec, roots: dict[str, list[str]]) -> str | None:
    parts = module.split(".")
    for root in roots.get(parts[0], ()):
        stem = posixpath.join(root, *parts)
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if spec.match_file(candidate):
                return candidate
    return None


_PATHS = (("experiment-paths", ("experiments/**", "src/research/**")),)

VALID: tuple[Example, ...] = (
    Example(
        """\
import numpy
from serving import features
from . import helpers
from experimental_results import table
""",
        options=_PATHS,
    ),
    Example("from experiments.tune import search\n"),
)
INVALID: tuple[Example, ...] = (
    Example(
        """\
import numpy
from experiments.feature_v2 import build_features
import research.tune as tune
from experiments import notebooks_helpers, cleanup
import experiments
""",
        expected=((2, CODE), (3, CODE), (4, CODE), (5, CODE)),
        options=_PATHS,
    ),
)
