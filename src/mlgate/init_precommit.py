"""Adding mlgate's pre-commit hooks to a team's `.pre-commit-config.yaml` (`mlgate init`).

The team's file is parsed with ruamel.yaml only to find where things are; the new lines are
then inserted as text, so every other byte (their hooks, comments, order, quoting and
indentation) stays as it was. A repository the team already lists is not added again, and a
hook id it already runs (from any repository, `local` included) is never duplicated.

mlgate's own hook repository is pinned to the commit the workflow templates are pinned to,
with a `# frozen: vX.Y.Z` comment (the `pre-commit autoupdate --freeze` convention), so the
hooks and the workflows run the same mlgate, and the pin works before any tag is published.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from mlgate.errors import ConfigError

MLGATE_REPO = "https://github.com/mlgate/mlgate"
_PIN = re.compile(r"mlgate/mlgate/\S+@([0-9a-f]{40}) # (v\S+)")
_ITEM = re.compile(r"^(\s*)- ", re.MULTILINE)
_EMPTY = re.compile(r"^repos:[ \t]*\[[ \t]*\]([ \t]*(?:#.*)?)$", re.MULTILINE)


class Block(NamedTuple):
    """One repository entry of the template: its URL, hook ids and its lines of text."""

    url: str
    hooks: tuple[str, ...]
    text: str


class Merged(NamedTuple):
    """The merged text, and what was added (repository URLs and `repo: hook` names)."""

    text: str
    added: tuple[str, ...]


def pin(template: str, workflow: str) -> str:
    """The pre-commit template with mlgate's `rev:` pinned like the `workflow` template."""
    found = _PIN.search(workflow)
    if found is None:
        raise ConfigError("the workflow template has no pinned mlgate reference")
    sha, version = found.groups()
    old = re.compile(rf"(repo: {re.escape(MLGATE_REPO)}\n\s*rev: )\S+")
    return old.sub(lambda m: f"{m.group(1)}{sha}  # frozen: {version}", template, count=1)


def blocks(template: str) -> list[Block]:
    """The template's repository entries, each with its comment lines and hooks."""
    data = _load(template, "the pre-commit template")
    starts = [m.start() for m in _ITEM.finditer(template) if m.group(1) == "  "]
    ends = [*starts[1:], len(template)]
    return [
        Block(_norm(repo["repo"]), tuple(hook["id"] for hook in repo["hooks"]), template[a:b])
        for repo, a, b in zip(data["repos"], starts, ends, strict=True)
    ]


def merge(current: str, template: str, where: str) -> Merged:
    """`current` with mlgate's hooks added (one insertion at most)."""
    data = _load(current, where)
    repos: Any = data.get("repos") if hasattr(data, "get") else None
    if repos == [] and _EMPTY.search(current):
        [block] = [block for block in blocks(template) if block.url == MLGATE_REPO]
        text = _EMPTY.sub(lambda m: f"repos:{m.group(1)}\n{block.text.rstrip()}", current, 1)
        return Merged(text, (f"mlgate's hooks {', '.join(block.hooks)}, pinned by commit",))
    _check_repos(repos, where)
    have = {_norm(repo.get("repo", "")): repo for repo in repos}
    running = {hook.get("id") for repo in repos for hook in repo.get("hooks") or ()}
    lines = current.splitlines(keepends=True)
    lines[-1] += "" if lines[-1].endswith("\n") else "\n"
    added: list[str] = []
    for edit in _edits(blocks(template), have, running, repos, lines):
        lines[edit.line : edit.line] = [edit.text]
        added.append(edit.label)
    return Merged("".join(lines), tuple(added))


class _Edit(NamedTuple):
    line: int
    text: str
    label: str


def _edits(
    template: list[Block], have: dict[str, Any], running: set[Any], repos: Any, lines: list[str]
) -> Iterator[_Edit]:
    """mlgate's hooks the team does not run yet: into its mlgate entry, or as a new entry.

    Only mlgate's own repository is merged: the template's ruff, mypy and bandit entries are a
    suggestion for a new repository, not something to add to a team's existing choice.
    """
    [block] = [block for block in template if block.url == MLGATE_REPO]
    missing = [hook for hook in block.hooks if hook not in running]
    if missing and block.url in have:
        yield from _hooks_into(have[block.url], missing, lines)
    elif missing:
        shift = _dash_column(repos, 0, lines) - 2  # the template's items are `  - repo: ...`
        label = f"mlgate's hooks {', '.join(missing)}, pinned by commit"
        yield _Edit(_end_of(repos, lines), _reindent(block.text, shift), label)


def _hooks_into(repo: Any, missing: list[str], lines: list[str]) -> Iterator[_Edit]:
    hooks = repo["hooks"]
    column = _dash_column(hooks, len(hooks) - 1, lines)
    after = _end_of(hooks, lines)
    text = "".join(f"{' ' * column}- id: {hook}\n" for hook in missing)
    yield _Edit(after, text, f"{', '.join(missing)} to your mlgate entry")


def _dash_column(sequence: Any, index: int, lines: list[str]) -> int:
    """The column of the `-` of item `index`: `- id`, `-   id` and `-  id` all occur."""
    line, column = (int(n) for n in sequence.lc.item(index))
    before = lines[line][:column].rstrip()
    return len(before) - 1 if before.endswith("-") else column - 2


def _end_of(sequence: Any, lines: list[str]) -> int:
    """The line after the last item of a block sequence (trailing blank/comment lines excluded)."""
    last_line, column = (int(n) for n in sequence.lc.item(len(sequence) - 1))
    end = last_line + 1
    for number in range(last_line + 1, len(lines)):
        text = lines[number]
        if text.strip() and not text.strip().startswith("#"):
            if len(text) - len(text.lstrip()) < column:
                break
            end = number + 1
    return end


def _reindent(text: str, shift: int) -> str:
    if shift >= 0:
        return "".join(
            " " * shift + line if line.strip() else line for line in text.splitlines(True)
        )
    return "".join(
        line[-shift:] if line.startswith(" " * -shift) else line for line in text.splitlines(True)
    )


def _check_repos(repos: Any, where: str) -> None:
    """A ConfigError unless `repos` is a block list of repository tables."""
    if not repos or not hasattr(repos, "lc") or repos.fa.flow_style():
        raise ConfigError(
            f"{where} has no block-style `repos:` list to add to; add mlgate's hooks by hand "
            "(see `mlgate init` in docs/github.md)"
        )
    if not all(_is_repo(repo) for repo in repos):
        raise ConfigError(
            f"{where}: every entry of `repos:` must be a table with `repo:` and a `hooks:` list "
            "of tables; `pre-commit validate-config` shows which is not"
        )


def _is_repo(entry: Any) -> bool:
    hooks = entry.get("hooks", []) if isinstance(entry, Mapping) else None
    return isinstance(hooks, list) and all(isinstance(hook, Mapping) for hook in hooks)


def _norm(url: str) -> str:
    return str(url).strip().rstrip("/").removesuffix(".git").lower()


def _load(text: str, where: str) -> Any:
    try:
        return YAML(typ="rt").load(text) or {}
    except YAMLError as err:
        raise ConfigError(
            f"{where} is not valid YAML ({_reason(err)}); fix it, then rerun"
        ) from err


def _reason(err: YAMLError) -> str:
    """The parser's complaint on one line, with the line it is about when known."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or " ".join(str(err).split())
    return f"line {mark.line + 1}: {problem}" if mark is not None else str(problem)
