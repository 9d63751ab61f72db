"""Checking the bytes of one file: a Python module or a Jupyter notebook.

The result carries, beside the findings, each finding's anchor (span, enclosing symbol and
source digest; see `mlgate.linters.anchors`), so `--changed-since` and the baseline work from
cached results without parsing again. A notebook's findings are moved to the lines of the
`.ipynb` file that store their code, with the cell and line in the cell beside them.
"""

from __future__ import annotations

from typing import NamedTuple

from mlgate.linters.anchors import Anchor, anchor_all
from mlgate.linters.base import Cell, FileContext, Options, Violation
from mlgate.linters.engine import (
    SYNTAX_ERROR,
    Checker,
    apply_noqa,
    decode_source,
    drop_file_noqa,
    internal_error,
    parse_source,
    run_guarded,
    split_lines,
)
from mlgate.linters.notebooks import SUFFIX, InvalidNotebookError, Notebook, read_notebook


class FileResult(NamedTuple):
    """A file's findings, sorted, and one anchor per finding."""

    violations: tuple[Violation, ...]
    anchors: tuple[Anchor, ...]


def read_bytes(path: str) -> bytes | FileResult:
    """The bytes of `path`, or a result with the MLG000 finding saying why it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as err:
        return _unusable(
            Violation(path, 1, 0, SYNTAX_ERROR, f"cannot read the file: {err.strerror}")
        )


def check_data(path: str, data: bytes, options: Options, checker: Checker) -> FileResult:
    """Check the content `data` of `path` (a notebook when it ends in `.ipynb`).

    Whatever goes wrong while decoding, parsing or checking it becomes one MLG000 finding for
    this file with the reason, so the other files' findings are still reported.
    """
    try:
        return _check_data(path, data, options, checker)
    except Exception as err:  # noqa: BLE001 - reported as the file's finding, never hidden
        return _unusable(internal_error(path, err))


def _check_data(path: str, data: bytes, options: Options, checker: Checker) -> FileResult:
    if path.endswith(SUFFIX):
        return _check_notebook(path, data, options, checker)
    source = decode_source(data, path)
    if isinstance(source, Violation):
        return _unusable(source)
    return check_text(path, source, options, checker)


def check_text(path: str, source: str, options: Options, checker: Checker) -> FileResult:
    """Parse and check Python `source`, honouring `# noqa`; a syntax error is one MLG000.

    A file-level `# mlgate: noqa` or `# flake8: noqa` line exempts the file from every finding,
    MLG000 included, as flake8 skips such a file without parsing it.
    """
    tree = parse_source(source, path)
    if isinstance(tree, Violation):  # a file-level directive exempts it from MLG000 too
        kept = drop_file_noqa([tree], source)
        return FileResult(tuple(kept), anchor_all(None, split_lines(source), kept))
    lines = split_lines(source)
    found = apply_noqa(run_guarded(FileContext(path, lines, tree, options), checker), lines)
    return FileResult(tuple(found), anchor_all(tree, lines, found))


def _unusable(violation: Violation) -> FileResult:
    return FileResult((violation,), (Anchor(violation.line, violation.line, "<module>", ""),))


def _check_notebook(path: str, data: bytes, options: Options, checker: Checker) -> FileResult:
    try:
        notebook = read_notebook(data.decode("utf-8"))
    except (UnicodeDecodeError, InvalidNotebookError) as err:
        return _unusable(Violation(path, 1, 0, SYNTAX_ERROR, f"cannot read the notebook: {err}"))
    result = check_text(path, notebook.source, options, checker)
    return _to_file_lines(result, notebook)


def _to_file_lines(result: FileResult, notebook: Notebook) -> FileResult:
    """The result with lines of the joined source moved to the `.ipynb` file's lines."""
    pairs = sorted(
        (_in_file(v, notebook), _span_in_file(a, notebook))
        for v, a in zip(result.violations, result.anchors, strict=True)
    )
    return FileResult(tuple(v for v, _ in pairs), tuple(a for _, a in pairs))


def _in_file(violation: Violation, notebook: Notebook) -> Violation:
    where = notebook.locate(violation.line)
    return violation._replace(line=where.raw_line, cell=Cell(where.cell, where.line))


def _span_in_file(anchor: Anchor, notebook: Notebook) -> Anchor:
    start, end = notebook.locate(anchor.start), notebook.locate(anchor.end)
    return anchor._replace(start=start.raw_line, end=end.raw_line)


def is_syntax_only(result: FileResult) -> bool:
    """Whether the file could not be read or parsed (its one finding is MLG000)."""
    return bool(result.violations) and result.violations[0].code == SYNTAX_ERROR
