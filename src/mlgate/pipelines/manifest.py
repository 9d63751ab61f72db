"""The manifest of a model package: what is inside, where it came from, and its digest.

The manifest is stored in the archive as canonical JSON (sorted keys, no spaces, UTF-8), so the
package digest is simply `sha256:` plus the sha256 of that member's bytes. Anyone can check it
with `tar -xzOf PKG mlgate-manifest.json | sha256sum`.

Since schema 2 the manifest holds only the package's content and what its commit determines, so
two builds of one commit (a laptop and CI, two runs, two builders) have one digest and a digest
can be approved before the run. Who built it, when and in which CI run is the provenance record
beside the package (`mlgate.pipelines.provenance.BuildRecord`): `Manifest.builder` is filled from
it when a package is read and is never digested. Schema 1 packages (builder in the manifest) are
still read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlgate.errors import PackageError

SCHEMA = 2
#: Schemas this version reads; 1 digested the builder too.
SUPPORTED_SCHEMAS = (1, 2)
#: Fields a schema-2 manifest leaves out of its JSON (and so out of the digest).
UNDIGESTED = ("builder",)
MANIFEST_NAME = "mlgate-manifest.json"


@dataclass(frozen=True)
class FileEntry:
    """One payload file: project-relative POSIX path, size in bytes and sha256 hex digest."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class GitInfo:
    """The commit the package was built from, and whether the work tree had local changes."""

    commit: str
    dirty: bool


@dataclass(frozen=True)
class ScanSummary:
    """The pickle scanner's verdict over the model files and every global they import."""

    verdict: str
    globals: tuple[str, ...] = ()
    packs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """Everything a package holds and where it came from; its canonical JSON is digested."""

    name: str
    version: str
    entrypoint: str
    files: tuple[FileEntry, ...]
    schema: int = SCHEMA
    models: tuple[str, ...] = ()
    pythonpath: tuple[str, ...] = (".",)
    server: tuple[str, ...] | None = None
    smoke: tuple[Mapping[str, Any], ...] = ()
    formats: tuple[str, ...] = ()
    scan: ScanSummary = ScanSummary("safe")
    python: str = ""
    frameworks: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    git: GitInfo | None = None
    builder: str | None = None  # from the provenance record; digested only by schema 1
    created: str | None = None


def canonical_json(manifest: Manifest) -> bytes:
    """The manifest as canonical JSON bytes: sorted keys, `,`/`:` separators, UTF-8."""
    table = dataclasses.asdict(manifest)
    if manifest.schema >= 2:
        for name in UNDIGESTED:
            del table[name]
    try:
        text = json.dumps(
            table,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError) as err:
        raise PackageError(f"manifest cannot be written as JSON: {err}") from err
    return text.encode("utf-8")


def digest(manifest: Manifest) -> str:
    """The package digest: `sha256:` + the sha256 hex digest of the canonical manifest JSON."""
    return digest_bytes(canonical_json(manifest))


def digest_bytes(data: bytes) -> str:
    """The digest of manifest bytes already in canonical form."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parse_manifest(data: bytes) -> Manifest:
    """Read canonical manifest bytes back; anything else is a `PackageError`."""
    try:
        table = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PackageError(f"{MANIFEST_NAME} is not valid JSON: {err}") from err
    manifest = manifest_from_json(table)
    if canonical_json(manifest) != data:
        raise PackageError(f"{MANIFEST_NAME} is not in canonical form: it was edited by hand")
    return manifest


def manifest_from_json(table: object) -> Manifest:
    """Validate a decoded JSON object into a `Manifest`."""
    table = _mapping(table, MANIFEST_NAME)
    known = {item.name for item in dataclasses.fields(Manifest)}
    schema = table.get("schema")
    if schema in SUPPORTED_SCHEMAS and schema >= 2:
        known.difference_update(UNDIGESTED)
    unknown = sorted(set(table) - known)
    if unknown:
        raise PackageError(f"{MANIFEST_NAME}: unknown field '{unknown[0]}'")
    schema = _typed(table, "schema", int) if "schema" in table else None
    if schema not in SUPPORTED_SCHEMAS:
        raise PackageError(f"{MANIFEST_NAME}: schema {schema} is not supported (expected {SCHEMA})")
    try:
        return Manifest(**_identity_fields(table), **_provenance_fields(table))
    except KeyError as err:
        raise PackageError(f"{MANIFEST_NAME}: missing field {err}") from err


def _identity_fields(table: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "schema": table["schema"],
        "name": _typed(table, "name", str),
        "version": _typed(table, "version", str),
        "entrypoint": _typed(table, "entrypoint", str),
        "files": tuple(_file_entry(item) for item in _typed(table, "files", list)),
        "models": _strings(table, "models"),
        "pythonpath": _strings(table, "pythonpath"),
        "server": None if table.get("server") is None else _strings(table, "server"),
        "smoke": tuple(_mapping(case, "smoke case") for case in _typed(table, "smoke", list)),
        "formats": _strings(table, "formats"),
    }


def _provenance_fields(table: Mapping[str, Any]) -> dict[str, Any]:
    scan = _mapping(table["scan"], "scan")
    git = table.get("git")
    return {
        "scan": ScanSummary(
            _typed(scan, "verdict", str), _strings(scan, "globals"), _strings(scan, "packs")
        ),
        "python": _typed(table, "python", str),
        "frameworks": _mapping(table["frameworks"], "frameworks"),
        "metrics": _mapping(table["metrics"], "metrics"),
        "metadata": _mapping(table["metadata"], "metadata"),
        "git": None if git is None else GitInfo(_typed(git, "commit", str), git["dirty"] is True),
        "builder": _optional_str(table, "builder") if "builder" in table else None,
        "created": _optional_str(table, "created"),
    }


def _file_entry(item: object) -> FileEntry:
    entry = _mapping(item, "files entry")
    digest = _typed(entry, "sha256", str)
    if len(digest) != 64 or digest.strip("0123456789abcdef"):
        raise PackageError(f"{MANIFEST_NAME}: sha256 {digest!r} is not a sha256 hex digest")
    return FileEntry(_typed(entry, "path", str), _typed(entry, "size", int), digest)


def _optional_str(table: Mapping[str, Any], key: str) -> str | None:
    value = table[key]
    if value is not None and not isinstance(value, str):
        raise PackageError(f"{MANIFEST_NAME}: '{key}' must be a string or null")
    return value


def _mapping(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PackageError(f"{MANIFEST_NAME}: {what} must be a JSON object")
    return value


def _typed(table: Mapping[str, Any], key: str, kind: type[Any]) -> Any:
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
        raise PackageError(f"{MANIFEST_NAME}: '{key}' must be a {kind.__name__}")
    return value


def _strings(table: Mapping[str, Any], key: str) -> tuple[str, ...]:
    values = _typed(table, key, list)
    if not all(isinstance(value, str) for value in values):
        raise PackageError(f"{MANIFEST_NAME}: '{key}' must be a list of strings")
    return tuple(values)
