"""`--fix` for Jupyter notebooks: the fixes of the joined code, written back into the cells.

The fixes run on the notebook's joined Python source (`mlgate.linters.notebooks`), where every
finding has its line. Each changed line is then replaced inside the `.ipynb` text itself, on the
file line that stores it, as the JSON string it is stored as: the rest of the file (outputs,
metadata, the writer's own formatting) stays byte for byte. A notebook is left alone when a fix
changes the number of lines or a changed line cannot be found exactly once where it is stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from mlgate.linters.autofix import Fixed, Fixer
from mlgate.linters.base import Violation
from mlgate.linters.notebooks import InvalidNotebookError, Notebook, read_notebook


def fix_notebook_text(text: str, found: Sequence[Violation], fixer: Fixer) -> Fixed | None:
    """The notebook `text` with the fixes for `found` applied, or None when none applies."""
    try:
        notebook = read_notebook(text)
    except InvalidNotebookError:
        return None  # reported by the lint itself
    where = {(cell.cell, cell.line): number for number, cell in enumerate(notebook.lines, 1)}
    joined = {v: v._replace(line=where[v.cell], cell=None) for v in found if v.cell in where}
    fixed = fixer.fix_source(notebook.source, list(joined.values()))
    after = _written_back(text, notebook, fixed.after) if fixed.resolved else None
    if after is None:
        return None
    resolved = tuple(v for v, moved in joined.items() if moved in fixed.resolved)
    return Fixed(text, after, resolved)


def _written_back(text: str, notebook: Notebook, source: str) -> str | None:
    """`text` with each changed line of the joined source replaced where it is stored."""
    before, after = notebook.source.splitlines(True), source.splitlines(True)
    if len(before) != len(after):
        return None
    file_lines = text.splitlines(True)
    for old, new, cell in zip(before, after, notebook.lines, strict=True):
        if old == new:
            continue
        replaced = _replace_once(file_lines[cell.raw_line - 1], old, new)
        if replaced is None:
            return None
        file_lines[cell.raw_line - 1] = replaced
    return "".join(file_lines)


def _replace_once(stored: str, old: str, new: str) -> str | None:
    """`stored` (one line of the JSON file) with the JSON form of `old` replaced by `new`'s."""
    old, new = old.rstrip("\n"), new.rstrip("\n")
    for ascii_only in (False, True):
        escaped = json.dumps(old, ensure_ascii=ascii_only)[1:-1]
        if escaped and stored.count(escaped) == 1:
            return stored.replace(escaped, json.dumps(new, ensure_ascii=ascii_only)[1:-1])
    return None
