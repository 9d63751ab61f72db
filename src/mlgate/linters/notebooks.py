"""Jupyter notebooks as Python source: code cells joined, with a map back to cell and line.

IPython syntax is neutralised, never reported: a line magic (`%time`), a shell escape (`!pip`,
`files = !ls`), a help query (`len?`) and a whole cell magic (`%%bash`) become `pass` at the
same indentation, so every line keeps its number. The bodies of the cell magics that run Python
(`%%time`, `%%timeit`, `%%capture`, `%%prun`) are linted. Cells are numbered from 1 among all
cells, as the notebook shows them. Each line also knows where it is stored in the `.ipynb` file,
so SARIF regions point at the right line of the file.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

SUFFIX = ".ipynb"
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
_MAGIC = re.compile(r"\s*(?:[%!?]|[\w.,\s]+=\s*[%!])|\s*[\w.\[\]()]+\?{1,2}\s*$")


class InvalidNotebookError(ValueError):
    """The file is not a notebook mlgate can read; the message says why."""


class CellLine(NamedTuple):
    """Where a line of the joined source comes from: cell (from 1), line in the cell, file line."""

    cell: int
    line: int
    raw_line: int


class Notebook(NamedTuple):
    """The joined Python source of a notebook's code cells and the map of its lines."""

    source: str
    lines: tuple[CellLine, ...]

    def locate(self, line: int) -> CellLine:
        """The cell and line of line `line` (from 1) of the joined source."""
        if 0 < line <= len(self.lines):
            return self.lines[line - 1]
        last = self.lines[-1] if self.lines else CellLine(1, 0, 1)
        return CellLine(last.cell, last.line + 1, last.raw_line)


class _Located(str):
    """A JSON string value that remembers the offset where it starts in the document."""

    offset = 0


def read_notebook(text: str) -> Notebook:
    """The Python code of the notebook `text` (nbformat 4 JSON)."""
    data = _load(text)
    if _language(data) not in ("python", ""):
        return Notebook("", ())
    newlines = [index for index, char in enumerate(text) if char == "\n"]
    source: list[str] = []
    lines: list[CellLine] = []
    for number, cell in enumerate(data["cells"], start=1):
        if cell.get("cell_type") == "code":
            for index, (code, offset) in enumerate(_cell_lines(cell.get("source", [])), start=1):
                source.append(code)
                lines.append(CellLine(number, index, bisect_right(newlines, offset) + 1))
    return Notebook("".join(source), tuple(lines))


def _load(text: str) -> dict[str, Any]:
    # The pure-Python scanner calls `parse_string` for every string value, so the strings can
    # carry their offsets; typeshed does not declare these documented-in-source hooks.
    decoder = json.JSONDecoder()
    decoder.parse_string = _parse_string  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        data = decoder.decode(text)
    except ValueError as err:
        raise InvalidNotebookError(f"not a notebook: invalid JSON ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise InvalidNotebookError("not an nbformat 4 notebook: no `cells` list")
    if not all(isinstance(cell, dict) for cell in data["cells"]):
        raise InvalidNotebookError("not an nbformat 4 notebook: a cell is not an object")
    return data


def _parse_string(text: str, end: int, strict: bool) -> tuple[_Located, int]:
    value, after = json.decoder.scanstring(text, end, strict)  # type: ignore[attr-defined]
    located = _Located(value)
    located.offset = end
    return located, after


def _language(data: dict[str, Any]) -> str:
    metadata = data.get("metadata")
    info = metadata.get("language_info") if isinstance(metadata, dict) else None
    name = info.get("name", "") if isinstance(info, dict) else ""
    return name.lower() if isinstance(name, str) else ""


def _cell_lines(source: object) -> Iterator[tuple[str, int]]:
    """Each line of a cell's source (a string or a list of strings) with its file offset."""
    parts = [source] if isinstance(source, str) else source
    if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
        raise InvalidNotebookError("not an nbformat 4 notebook: a cell source is not text")
    lines = [(line, getattr(p, "offset", 0)) for p in parts for line in p.splitlines(True)]
    if lines and not lines[-1][0].endswith("\n"):
        lines[-1] = (lines[-1][0] + "\n", lines[-1][1])
    yield from zip(_neutralised([line for line, _ in lines]), (o for _, o in lines), strict=True)


def _neutralised(lines: Sequence[str]) -> list[str]:
    """The lines with IPython-only syntax replaced by `pass`, line for line."""
    if not lines or not lines[0].startswith("%%"):
        return list(_line_magics(lines))
    if (lines[0][2:].split() or [""])[0] in _PYTHON_CELL_MAGICS:
        return ["pass\n", *_line_magics(lines[1:])]
    return ["pass\n"] * len(lines)


def _line_magics(lines: Sequence[str]) -> Iterator[str]:
    """Magic, shell and help lines (with their `\\` continuations) as indented `pass`."""
    indent: str | None = None
    for line in lines:
        if indent is None and _MAGIC.match(line):
            indent = line[: len(line) - len(line.lstrip())]
        if indent is None:
            yield line
            continue
        yield f"{indent}pass\n"
        if not line.rstrip("\r\n").endswith("\\"):
            indent = None
