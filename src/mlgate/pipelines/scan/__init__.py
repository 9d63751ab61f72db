"""The model scanner: every import a pickle would perform must be on the allowlist.

`scan_file` identifies a file by its content, never its name, and reads it as the loaders do
(see `formats`): raw pickles (several streams in a row), joblib files (with their array data,
compressed or not; also read as plain pickles), PyTorch zip checkpoints (every member), legacy
PyTorch files (plain and tar), numpy `.npy`/`.npz`. It never unpickles. Anything a loader could
read differently from the scanner is a finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from mlgate.errors import UsageError
from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan.allowlist import (
    CONFIG_SOURCE,
    PACKS,
    Allowlist,
    allowed_by,
    build_allowlist,
    matches,
    never_allowed,
    parse_rule,
    vet,
)
from mlgate.pipelines.scan.formats import Limits, Section, read_sections, read_stream


class Policy(NamedTuple):
    """What the scanner allows and how much it reads."""

    allowlist: Allowlist
    limits: Limits


class ScanFinding(NamedTuple):
    """One reason a model file is unsafe: where (file, byte offset), what and why."""

    path: str
    offset: int
    name: str | None
    message: str

    def describe(self) -> str:
        """`path: byte N: message`."""
        return f"{self.path}: byte {self.offset}: {self.message}"


class FileReport(NamedTuple):
    """The scan of one file: its format, the globals it imports and its findings."""

    path: str
    format: str
    globals: tuple[str, ...]
    findings: tuple[ScanFinding, ...]


def build_policy(config: ScanConfig, extra_packs: Sequence[str] = ()) -> Policy:
    """The policy from `[tool.mlgate.scan]` plus packs given on the command line."""
    allowlist = build_allowlist([*config.packs, *extra_packs], config.allow)
    return Policy(allowlist, Limits(config.max_bytes, config.max_opcodes))


def scan_file(path: Path, policy: Policy, label: str | None = None) -> FileReport:
    """Scan one file; `label` is the name used in findings (default: the path)."""
    label = label or str(path)
    return _report(label, *read_sections(path, policy.limits), policy)


def scan_stream_file(raw: IO[bytes], size: int, policy: Policy, label: str) -> FileReport:
    """Scan an open file or buffer of `size` bytes (the copy a loader will then read)."""
    return _report(label, *read_stream(raw, size, label, policy.limits), policy)


def _report(label: str, kind: str, sections: list[Section], policy: Policy) -> FileReport:
    """The file report: the sections' problems and every refused import."""
    names: set[str] = set()
    findings: list[ScanFinding] = []
    refusals: dict[tuple[str, str], str | None] = {}
    for section in sections:
        where = f"{label}:{section.member}" if section.member else label
        findings += _problems(where, section)
        for item in section.imports:
            names.add(f"{item.module}.{item.name}")
            key = (item.module, item.name)
            if key not in refusals:
                refusals[key] = refusal(policy.allowlist, *key)
            message = refusals[key]
            if message:
                findings.append(
                    ScanFinding(where, item.offset, f"{item.module}.{item.name}", message)
                )
    return FileReport(label, kind, tuple(sorted(names)), _capped(findings, policy.limits))


def _capped(findings: list[ScanFinding], limits: Limits) -> tuple[ScanFinding, ...]:
    """At most `max_findings` findings, unique, the last one saying how many were left out."""
    unique = list(dict.fromkeys(findings))
    if len(unique) <= limits.max_findings:
        return tuple(unique)
    left = len(unique) - (limits.max_findings - 1)
    last = unique[limits.max_findings - 1]
    note = ScanFinding(last.path, last.offset, None, f"{left} more findings not shown")
    return (*unique[: limits.max_findings - 1], note)


def _problems(where: str, section: Section) -> Iterator[ScanFinding]:
    for problem in section.problems:
        yield ScanFinding(where, problem.offset, None, problem.message)


def refusal(allowlist: Allowlist, module: str, name: str) -> str | None:
    """Why an import is refused, or None when the allowlist allows it.

    A name allowed only by a wildcard entry of the project is vetted like an exact entry.
    """
    source = allowed_by(allowlist, module, name)
    if source == CONFIG_SOURCE:
        why = vet(module, name)
        return f"imports {module}.{name}, allowed by a wildcard entry but {why}" if why else None
    if source:
        return None
    dotted = f"{module}.{name}"
    if never_allowed(module, name):
        return f"imports {dotted}, which can run code: never allowed"
    pack = suggest_pack(module, name)
    hint = f"enable the '{pack}' pack" if pack else "add it to [tool.mlgate.scan] allow if trusted"
    return f"imports {dotted}, which is not on the allowlist ({hint})"


def suggest_pack(module: str, name: str) -> str | None:
    """The pack that would allow `module.name`, if any."""
    for pack, (entries, _) in sorted(PACKS.items()):
        for entry in entries:
            if matches(parse_rule(entry, pack), module, name):
                return pack
    return None


def scan_paths(paths: Iterable[Path], policy: Policy) -> list[FileReport]:
    """Scan files and folders (every file, recursively), whatever their names."""
    return [scan_file(path, policy) for path in expand_paths(paths)]


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """The files to scan: given files, and every file under given folders (never by suffix)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(item for item in path.rglob("*") if item.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder to scan")
    return found
