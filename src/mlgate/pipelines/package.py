"""Model packages: build a reproducible archive, read it back verified, extract it safely.

A package `<name>-<version>.mlpkg` is a gzip'd tar holding `mlgate-manifest.json` first and the
payload files (model files and code) at their project-relative paths, sorted. Archive mtimes come
from `SOURCE_DATE_EPOCH`, else 0; the manifest's `created` is `SOURCE_DATE_EPOCH`, else the time
of the git commit, else null. So identical inputs give identical bytes and the same digest,
whoever builds them, whenever, in whichever CI run: those facts go to the build record
`<package>.provenance.json` written beside it (see `mlgate.pipelines.provenance`).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, NamedTuple

from mlgate.config import load_raw
from mlgate.errors import GateError, PackageError
from mlgate.linters.atomic import write_atomic
from mlgate.pipelines import provenance
from mlgate.pipelines.archive import Member, ReadMember, Sink, read_archive, write_archive
from mlgate.pipelines.config import PackageConfig, load_package_config, load_scan_config
from mlgate.pipelines.files import collect_files
from mlgate.pipelines.manifest import (
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    ScanSummary,
    canonical_json,
    digest,
    digest_bytes,
    parse_manifest,
)
from mlgate.pipelines.scan import FileReport, build_policy, scan_file

SUFFIX = ".mlpkg"


class Package(NamedTuple):
    """A verified package: where it is, its manifest and its digest (`sha256:...`)."""

    path: Path
    manifest: Manifest
    digest: str


class BuildOptions(NamedTuple):
    """What `mlgate package build` adds to the configuration."""

    out_dir: Path | None = None
    metadata: Mapping[str, str] = MappingProxyType({})
    metrics: Mapping[str, Any] = MappingProxyType({})
    builder: str | None = None
    environ: Mapping[str, str] | None = None
    now: datetime.datetime | None = None


def package_path(out_dir: Path, name: str, version: str) -> Path:
    """Where a package of `name` and `version` is written."""
    return out_dir / f"{name}-{version}{SUFFIX}"


def build_package(project: Path, options: BuildOptions | None = None) -> Package:
    """Build the package of the project at `project` (a folder or its pyproject.toml).

    Scans the model files first and refuses (GateError, nothing written) when a pickle imports
    anything outside the allowlist.
    """
    options = options or BuildOptions()
    raw = load_raw(project) if project.is_file() else load_raw(start=project)
    config = load_package_config(raw)
    policy = build_policy(load_scan_config(raw))
    models, code = collect_files(config)
    reports = [scan_file(config.root / path, policy, path) for path in models]
    _refuse_unsafe(reports)
    environ = os.environ if options.environ is None else options.environ
    files = _entries(config.root, models, code)
    manifest = _manifest(config, options, environ, reports, files)
    manifest = replace(manifest, scan=_scan_summary(reports, policy.allowlist.packs))
    target = package_path(options.out_dir or config.root / config.out, config.name, config.version)
    write_archive(target, _members(config.root, manifest), _archive_mtime(environ))
    record = _record(config.root, options, environ, digest(manifest))
    write_atomic(provenance.record_path(target), provenance.record_json(record))
    return Package(target, replace(manifest, builder=record.builder), record.digest)


def _record(
    root: Path, options: BuildOptions, environ: Mapping[str, str], digested: str
) -> provenance.BuildRecord:
    now = options.now or datetime.datetime.now(datetime.timezone.utc)
    git = provenance.git_info(root)
    return provenance.BuildRecord(
        digest=digested,
        builder=provenance.builder_name(options.builder, environ, root),
        built=provenance.iso_time(int(now.timestamp())),
        commit=None if git is None else git.commit,
        **provenance.ci_run(environ),
    )


def _refuse_unsafe(reports: Sequence[FileReport]) -> None:
    findings = [finding for report in reports for finding in report.findings]
    if findings:
        more = f" (and {len(findings) - 1} more; run `mlgate package scan`)" if findings[1:] else ""
        raise GateError(
            f"refusing to build: {findings[0].describe()}{more}; enable a pack or add the exact "
            "name to [tool.mlgate.scan] allow only if you trust it"
        )


def _entries(root: Path, models: Sequence[str], code: Sequence[str]) -> tuple[FileEntry, ...]:
    return tuple(_hash_file(root, path) for path in sorted({*models, *code}))


def _hash_file(root: Path, path: str) -> FileEntry:
    hasher = hashlib.sha256()
    size = 0
    with (root / path).open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            hasher.update(chunk)
            size += len(chunk)
    return FileEntry(path, size, hasher.hexdigest())


def _manifest(
    config: PackageConfig,
    options: BuildOptions,
    environ: Mapping[str, str],
    reports: Sequence[FileReport],
    files: tuple[FileEntry, ...],
) -> Manifest:
    return Manifest(
        name=config.name,
        version=config.version,
        entrypoint=config.entrypoint,
        files=files,
        models=tuple(sorted(report.path for report in reports)),
        pythonpath=config.pythonpath,
        server=config.server,
        smoke=config.smoke,
        formats=tuple(sorted({report.format for report in reports})),
        python=provenance.python_version(),
        frameworks=provenance.framework_versions(),
        metrics=dict(options.metrics),
        metadata={**config.metadata, **options.metadata},
        git=provenance.git_info(config.root),
        created=_created(environ, config.root),
    )


def _scan_summary(reports: Sequence[FileReport], packs: tuple[str, ...]) -> ScanSummary:
    names = sorted({name for report in reports for name in report.globals})
    return ScanSummary("safe", tuple(names), packs)


def _created(environ: Mapping[str, str], root: Path) -> str | None:
    epoch = provenance.source_date_epoch(environ)
    if epoch is None:
        epoch = provenance.git_commit_time(root)
    return None if epoch is None else provenance.iso_time(epoch)


def _archive_mtime(environ: Mapping[str, str]) -> int:
    return provenance.source_date_epoch(environ) or 0


def _members(root: Path, manifest: Manifest) -> list[Member]:
    payload = [
        Member(entry.path, root / entry.path, os.access(root / entry.path, os.X_OK))
        for entry in manifest.files
    ]
    return [Member(MANIFEST_NAME, canonical_json(manifest)), *payload]


def read_package(pkg: Path) -> Package:
    """Verify `pkg` (structure, manifest, every file's size and sha256) without extracting."""
    return _verified(pkg, lambda name, mode: None)


def extract_package(pkg: Path, dest: Path) -> Package:
    """Verify and extract `pkg` into the new folder `dest`; nothing is left behind on failure.

    Files are written into a temporary folder next to `dest`, checked against the manifest
    while they are written, and the folder is renamed to `dest` only when all of them match.
    """
    if dest.exists():
        raise PackageError(f"cannot extract {pkg.name}: {dest} already exists")
    temp = _temp_folder(dest)
    try:
        package = _verified(pkg, lambda name, mode: _create(temp, name, mode))
        temp.chmod(0o755)
        _rename(temp, dest)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)  # a partial extraction must not stay behind
        raise
    return package._replace(path=pkg)


def _temp_folder(dest: Path) -> Path:
    """A new empty folder next to `dest`."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    except OSError as err:
        raise PackageError(f"cannot extract into {dest}: {err.strerror or err}") from err


def _rename(temp: Path, dest: Path) -> None:
    try:
        os.rename(temp, dest)
    except OSError as err:
        raise PackageError(f"cannot move the extracted package to {dest}: {err.strerror}") from err


def _create(folder: Path, name: str, mode: int) -> IO[bytes]:
    path = folder / name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = path.open("xb")
    except OSError as err:
        raise PackageError(f"cannot extract '{name}': {err.strerror}") from err
    path.chmod(0o755 if mode & 0o100 else 0o644)
    return stream


def _verified(pkg: Path, sink: Sink) -> Package:
    if not pkg.is_file():
        raise PackageError(f"{pkg}: no such package file")
    members = read_archive(pkg, sink, lambda name: name == MANIFEST_NAME)
    manifest_bytes = _manifest_bytes(pkg, members)
    manifest = parse_manifest(manifest_bytes)
    problem = _mismatch(manifest, [m for m in members if m.name != MANIFEST_NAME])
    if problem:
        raise PackageError(f"{pkg.name} failed verification: {problem}; refusing it")
    return _with_builder(Package(pkg, manifest, digest_bytes(manifest_bytes)))


def _with_builder(package: Package) -> Package:
    """A schema-2 package's builder comes from its build record, when that names its digest."""
    if package.manifest.schema < 2:
        return package
    record = provenance.read_record(package.path, package.digest)
    builder = None if record is None else record.builder
    return package._replace(manifest=replace(package.manifest, builder=builder))


def _manifest_bytes(pkg: Path, members: Sequence[ReadMember]) -> bytes:
    for member in members:
        if member.name == MANIFEST_NAME:
            if member.data is None:
                raise PackageError(f"{pkg.name}: {MANIFEST_NAME} is implausibly large")
            return member.data
    raise PackageError(f"{pkg.name} has no {MANIFEST_NAME}: not an mlgate package")


def _mismatch(manifest: Manifest, members: Sequence[ReadMember]) -> str | None:
    """The first difference between the manifest's file list and the archive, or None."""
    found = {member.name: member for member in members}
    for entry in manifest.files:
        member = found.pop(entry.path, None)
        if member is None:
            return f"{entry.path} is listed in the manifest but missing from the archive"
        if (member.size, member.sha256) != (entry.size, entry.sha256):
            return f"{entry.path} does not match its sha256 in the manifest (modified)"
    if found:
        return f"{min(found)} is in the archive but not in the manifest (extra file)"
    return None
