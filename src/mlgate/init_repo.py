"""Writing mlgate's templates into a team's repository (`mlgate init`).

The templates are package data (`mlgate/templates/`), so this works from an installed wheel as
well as from a source checkout. Files are written only when missing or, with `force`, when they
differ from the template; `[tool.mlgate]` is merged key by key into an existing pyproject.toml
with tomlkit, which keeps the rest of the file, its formatting and its comments, as they were.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import tomlkit
import tomlkit.exceptions
from tomlkit.container import Container
from tomlkit.items import Table

from mlgate.errors import ConfigError, UsageError
from mlgate.init_precommit import merge, pin
from mlgate.linters.atomic import write_atomic
from mlgate.linters.vcs import git
from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import build_policy, scan_file, suggest_pack


class Action(NamedTuple):
    """What `init` did (or left alone) for one file."""

    path: str
    verb: str
    detail: str = ""

    @property
    def wrote(self) -> bool:
        """True when the file on disk changed."""
        return self.verb in {"wrote", "replaced", "updated"}


#: Files written as they are: their place in the repository, and their name under
#: `mlgate/templates/`.
FILES = {
    ".github/workflows/mlgate-pr.yml": "workflows/mlgate-pr.yml",
    ".github/workflows/mlgate-release.yml": "workflows/mlgate-release.yml",
    ".pre-commit-config.yaml": "pre-commit-config.yaml",
}
PYPROJECT = "pyproject.toml"
PRE_COMMIT = ".pre-commit-config.yaml"
#: Model files the `mlgate-scan-models` hook scans (its `files:` in .pre-commit-hooks.yaml).
MODEL_FILES = re.compile(r"\.(pkl|pickle|joblib|pt|pth|ckpt|bin|sav|dill|p|npy|npz)$")
#: Lists in the starter pyproject.toml that are merged item by item into the team's own.
_UNION_KEYS = frozenset({"tool.ruff.lint.external"})
_RUFF_FILES = (".ruff.toml", "ruff.toml")

MANUAL_STEPS = (
    "Create the `production` environment (Settings > Environments) with required reviewers, and "
    "a `staging` environment; restrict both to the branches and tags you release from.",
    "Protect the default branch: require pull requests and the status checks `mlgate / "
    "pre-commit hooks`, `mlgate / tests and changed-line coverage` and `mlgate / mlgate lint`.",
    "Enable code scanning (Settings > Code security) so the SARIF from `mlgate lint` shows on "
    "pull requests.",
    "Approve before each deploy, to staging too: by default an environment needs one approval "
    "of the package, by someone other than its builder, given within 24 hours "
    "(`mlgate approve PKG --env staging --by NAME`); [tool.mlgate.environments.ENV.approval] "
    "sets approvers, min-approvals, expires, or required = false (see docs/releases.md).",
    "Run `pip install pre-commit && pre-commit install` once in each clone; "
    "`pre-commit autoupdate --freeze` pins the other hook repositories by commit too.",
    "Describe the model package and its environments in [tool.mlgate.package] and "
    "[tool.mlgate.environments] (see docs/releases.md).",
    "To sign the release ledger, create the repository secret MLGATE_LEDGER_KEY (`python -c "
    '"import secrets; print(secrets.token_hex(32))"`) and set [tool.mlgate.ledger] signed = true.',
)


def template_text(name: str) -> str:
    """The text of a template shipped in the package."""
    node = resources.files("mlgate").joinpath("templates", *name.split("/"))
    return node.read_text(encoding="utf-8")


def init_repo(root: Path, force: bool = False) -> list[Action]:
    """Write the templates into the repository at `root`; return what was done per file."""
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder; pass the root of your repository")
    actions = [
        _write_template(root, dest, source, force)
        for dest, source in FILES.items()
        if dest != PRE_COMMIT
    ]
    actions.append(merge_pre_commit(root))
    actions.append(merge_pyproject(root, force))
    return actions


def pre_commit_template() -> str:
    """The pre-commit template, mlgate's hooks pinned to the workflows' commit."""
    workflow = template_text(FILES[".github/workflows/mlgate-pr.yml"])
    return pin(template_text(FILES[PRE_COMMIT]), workflow)


def merge_pre_commit(root: Path) -> Action:
    """Write the pre-commit template, or add mlgate's hooks to the team's own file."""
    path, template = root / PRE_COMMIT, pre_commit_template()
    current = _read(path)
    if current is None:
        write_atomic(path, template)
        return Action(PRE_COMMIT, "wrote")
    merged = merge(current, template, str(path))
    if not merged.added:
        return Action(PRE_COMMIT, "unchanged", "it already runs mlgate's hooks")
    write_atomic(path, merged.text)
    return Action(PRE_COMMIT, "updated", "added " + "; ".join(merged.added) + "; kept your hooks")


def model_packs(root: Path) -> list[str]:
    """The scanner packs the committed model files need, found by scanning them."""
    listed = git(["ls-files", "-z"], root)
    names = listed.stdout.split("\0") if listed.returncode == 0 else []
    policy = build_policy(ScanConfig())
    packs = {
        suggest_pack(*name.rsplit(".", 1))
        for file in names
        if MODEL_FILES.search(file) and (root / file).is_file()
        for name in scan_file(root / file, policy).globals
    }
    return sorted(pack for pack in packs if pack)


def detect(root: Path) -> list[str]:
    """Notes about the repository that change what the team has to do."""
    notes = []
    if not (root / ".git").exists():
        notes.append("not a git repository yet: run `git init` (the workflows need one)")
    if not (root / "src").is_dir():
        paths = ", ".join(_production_paths(root))
        notes.append(f"no src/ folder: the production profile covers {paths}")
    ruff = _ruff_file(root)
    if ruff is not None:
        notes.append(
            f'{ruff} configures ruff: add `external = ["MLG"]` to its [lint] table, so '
            "`ruff check --fix` keeps mlgate's `# noqa: MLG...` comments"
        )
    return notes


def _ruff_file(root: Path) -> str | None:
    """The ruff configuration file that takes precedence over pyproject.toml, if any."""
    return next((name for name in _RUFF_FILES if (root / name).is_file()), None)


def _write_template(root: Path, dest: str, source: str, force: bool) -> Action:
    text = template_text(source)
    current = _read(root / dest)
    if current == text:
        return Action(dest, "unchanged")
    if current is not None and not force:
        return Action(dest, "kept", "it differs from the template; --force replaces it")
    (root / dest).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(root / dest, text)
    return Action(dest, "wrote" if current is None else "replaced")


def merge_pyproject(root: Path, force: bool) -> Action:
    """Merge the starter `[tool.mlgate]` into `root/pyproject.toml`, creating it if missing."""
    path = root / PYPROJECT
    current = _read(path)
    document = _parse(current or "", path)
    starter = tomlkit.parse(template_text(PYPROJECT))
    starter["tool"]["mlgate"]["profiles"]["production"]["paths"] = _production_paths(root)
    if _ruff_file(root) is not None:
        del starter["tool"]["ruff"]  # ruff reads only that file: `detect` says what to add
    packs = model_packs(root)
    if packs:
        starter["tool"]["mlgate"]["scan"] = _scan_table(packs)
    changes = list(_merge(document, starter, force, ""))
    if not changes:
        return Action(PYPROJECT, "unchanged")
    kept = [key for verb, key in changes if verb == "kept"]
    written = [key for verb, key in changes if verb != "kept"]
    if written:
        write_atomic(path, tomlkit.dumps(document))
    return Action(PYPROJECT, _pyproject_verb(current, written), _pyproject_detail(written, kept))


def _scan_table(packs: list[str]) -> Table:
    table = tomlkit.table()
    table.add(tomlkit.comment("The allowlist packs the committed model files need (mlgate init)."))
    table.add("packs", packs)
    table.add(tomlkit.nl())
    return table


def _pyproject_verb(current: str | None, written: list[str]) -> str:
    if not written:
        return "kept"
    return "wrote" if current is None else "updated"


def _pyproject_detail(written: list[str], kept: list[str]) -> str:
    parts = []
    if written:
        parts.append("set " + ", ".join(written))
    if kept:
        parts.append("kept your " + ", ".join(kept) + " (--force sets the template's values)")
    return "; ".join(parts)


def _merge(
    target: Container | Table, source: Container | Table, force: bool, prefix: str
) -> Iterator[tuple[str, str]]:
    """Copy keys of `source` missing from `target`; yield (verb, dotted key) per difference."""
    for key, value in source.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in target:
            target[key] = value
            yield "added", dotted
        elif dotted in _UNION_KEYS and isinstance(value, list) and isinstance(target[key], list):
            missing = [item for item in value if item not in target[key]]
            target[key].extend(missing)
            yield from [("added", dotted)] if missing else []
        elif isinstance(value, Table) and isinstance(target[key], Table):
            yield from _merge(target[key], value, force, dotted)
        elif _plain(target[key]) != _plain(value):
            if force:
                target[key] = value
            yield ("replaced" if force else "kept"), dotted


def _plain(value: Any) -> Any:
    """A TOML item as plain Python data, so values compare without their formatting."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def _production_paths(root: Path) -> list[str]:
    """`src/**` for a src layout, else the top-level packages, else `src/**`."""
    if (root / "src").is_dir():
        return ["src/**"]
    packages = sorted(
        child.name + "/**"
        for child in root.iterdir()
        if child.is_dir() and (child / "__init__.py").is_file() and child.name != "tests"
    )
    return packages or ["src/**"]


def _parse(text: str, path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as err:
        raise ConfigError(f"{path} is not valid TOML ({err}); fix it, then rerun") from err


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None  # a missing file is written from the template
