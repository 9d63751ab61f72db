"""One copy, verified once: the local target installs only the approved digest, read in one pass
with every size checked before a byte is written; the package file swapped during a real deploy."""

from __future__ import annotations

import gzip
import http.client
import io
import json
import os
import select
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from mlgate.cli import main
from mlgate.errors import PackageError
from mlgate.pipelines.archive import HEADER_ROOM, KEEP_LIMIT, PACKAGE_MODE
from mlgate.pipelines.local_target import unpack
from mlgate.pipelines.manifest import MANIFEST_NAME
from mlgate.pipelines.package import BuildOptions, Package, build_package

PYPROJECT = """\
[project]
name = "labels"
version = "VERSION"

[tool.mlgate.package]
models = ["models/*.json"]
code = ["src/labels"]
entrypoint = "labels.serve:load"

[[tool.mlgate.package.smoke]]
name = "one"
input = [1]
expect = "LABEL"

[tool.mlgate.environments.staging]
target = { kind = "local", sandbox = "off" }

[tool.mlgate.environments.staging.approval]
approvers = ["alice"]

[tool.mlgate.environments.staging.verify]
requests = 2
bake = "0.2s"
"""


def _build(root: Path, label: str, out: Path) -> Package:
    """A package answering `label` to every request."""
    (root / "models").mkdir(parents=True)
    (root / "models" / "weights.json").write_text("[1, 2]")
    (root / "src" / "labels").mkdir(parents=True)
    (root / "src" / "labels" / "__init__.py").write_text("")
    serve = f"def load():\n    return lambda rows: {label!r}\n"
    (root / "src" / "labels" / "serve.py").write_text(serve)
    text = PYPROJECT.replace("VERSION", label).replace("LABEL", label)
    (root / "pyproject.toml").write_text(text)
    options = BuildOptions(out_dir=out, environ={"SOURCE_DATE_EPOCH": "1"}, builder="ci")
    return build_package(root, options)


def _rewrite(source: Path, target: Path, edit: Callable[[tarfile.TarInfo, bytes], bytes]) -> None:
    """A copy of the archive `source` with each member's bytes passed through `edit`."""
    members = []
    with tarfile.open(source, "r:gz") as tar:
        for info in tar:
            stream = tar.extractfile(info)
            assert stream is not None
            members.append((info, edit(info, stream.read())))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as out:
        for info, data in members:
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    target.write_bytes(gzip.compress(buffer.getvalue()))


@pytest.fixture
def package(tmp_path: Path) -> Package:
    return _build(tmp_path / "src-a", "a", tmp_path / "dist")


def test_packages_are_written_readable_by_all(package: Package) -> None:
    assert package.path.stat().st_mode & 0o777 == PACKAGE_MODE == 0o644


def test_unpack_installs_the_approved_digest(tmp_path: Path, package: Package) -> None:
    release = tmp_path / "store" / "release"
    release.parent.mkdir()
    manifest = unpack(package.path, release, package.digest)
    # The stored manifest names no builder (schema 2); the build record beside the package does.
    assert manifest == replace(package.manifest, builder=None)
    assert sorted(p.relative_to(release).as_posix() for p in release.rglob("*")) == [
        "models",
        "models/weights.json",
        "src",
        "src/labels",
        "src/labels/__init__.py",
        "src/labels/serve.py",
    ]


def _refused(package: Path, digest: str, tmp_path: Path) -> str:
    """unpack's error for `package`; nothing may be left in the store."""
    store = tmp_path / "store"
    store.mkdir(exist_ok=True)
    with pytest.raises(PackageError) as caught:
        unpack(package, store / "release", digest)
    assert list(store.iterdir()) == []
    return str(caught.value)


def test_another_package_is_refused_before_anything_is_written(
    tmp_path: Path, package: Package
) -> None:
    other = _build(tmp_path / "src-b", "b", tmp_path / "dist")
    assert _refused(other.path, package.digest, tmp_path) == (
        f"the package file changed after it was checked: it now holds {other.digest}, not the "
        f"approved {package.digest}; nothing of it was installed; deploy it again"
    )


def test_a_member_larger_than_its_manifest_entry_is_refused_unread(
    tmp_path: Path, package: Package
) -> None:
    bomb = tmp_path / "bomb.mlpkg"
    huge = 256 * 1024 * 1024  # zeros: a few hundred kB compressed

    def inflate(info: tarfile.TarInfo, data: bytes) -> bytes:
        return bytes(huge) if info.name == "models/weights.json" else data

    _rewrite(package.path, bomb, inflate)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    assert _refused(bomb, package.digest, tmp_path) == (
        f"models/weights.json declares {huge} bytes, the manifest 6; refused before extracting it"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda info, data: data.replace(b"[1, 2]", b"[9, 9]"),
            "models/weights.json is missing or does not match its sha256 in the manifest; "
            "refusing it",
        ),
    ],
)
def test_a_modified_member_leaves_nothing_behind(
    tmp_path: Path,
    package: Package,
    edit: Callable[[tarfile.TarInfo, bytes], bytes],
    message: str,
) -> None:
    changed = tmp_path / "changed.mlpkg"
    _rewrite(package.path, changed, edit)
    assert _refused(changed, package.digest, tmp_path) == message


def _with_extra(source: Path, target: Path, name: str, first: bool = False) -> None:
    with tarfile.open(source, "r:gz") as tar:
        members = [(info, tar.extractfile(info)) for info in tar]
        pairs = [(info, stream.read() if stream else b"") for info, stream in members]
    extra = tarfile.TarInfo(name)
    extra.size = 1
    pairs = [(extra, b"x"), *pairs] if first else [*pairs, (extra, b"x")]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as out:
        for info, data in pairs:
            out.addfile(info, io.BytesIO(data))
    target.write_bytes(gzip.compress(buffer.getvalue()))


def test_a_member_not_in_the_manifest_is_refused(tmp_path: Path, package: Package) -> None:
    extra = tmp_path / "extra.mlpkg"
    _with_extra(package.path, extra, "src/labels/backdoor.py")
    assert _refused(extra, package.digest, tmp_path) == (
        "src/labels/backdoor.py is in the archive but not in the manifest; refusing it"
    )


def test_the_manifest_must_come_first(tmp_path: Path, package: Package) -> None:
    late = tmp_path / "late.mlpkg"
    _with_extra(package.path, late, "README", first=True)
    assert _refused(late, package.digest, tmp_path) == (
        f"the archive must start with {MANIFEST_NAME} (at most {16 * 1024 * 1024} bytes)"
    )


def test_an_unreadable_file_is_a_package_error(tmp_path: Path, package: Package) -> None:
    junk = tmp_path / "junk.mlpkg"
    junk.write_bytes(b"not gzip")
    assert _refused(junk, package.digest, tmp_path).startswith(
        f"{junk}: not a readable package archive ("
    )


class Project(NamedTuple):
    config: Path
    approved: Package
    other: Package
    serving: Package


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    """`staging` serving package "one"; "two" approved; "evil" built but never approved."""
    dist = tmp_path / "dist"
    one = _build(tmp_path / "one", "one", dist)
    two = _build(tmp_path / "two", "two", dist)
    evil = _build(tmp_path / "evil", "evil", tmp_path / "elsewhere")
    config = tmp_path / "one" / "pyproject.toml"
    for package in (one, two):
        argv = ["approve", str(package.path), "--env", "staging", "--by", "alice"]
        assert main([*argv, "--config", str(config)]) == 0
    assert main(["deploy", str(one.path), "--env", "staging", "--config", str(config)]) == 0
    try:
        yield Project(config, two, evil, one)
    finally:
        main(["stop", "--env", "staging", "--config", str(config)])


def _paused_deploy(project: Project, step: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "mlgate", "deploy", str(project.approved.path)]
    process = subprocess.Popen(
        [*argv, "--env", "staging", "--config", str(project.config)],
        env={**os.environ, "MLGATE_PAUSE_AT": step},
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stderr is not None
    ready, _, _ = select.select([process.stderr], [], [], 120)
    assert ready, f"deploy never reached {step}"
    assert process.stderr.readline().decode().startswith(f"mlgate: paused at {step} (pid ")
    return process


def _answer(project: Project) -> tuple[str, Any]:
    store = project.config.parent / ".mlgate" / "releases" / "staging"
    port = int(json.loads((store / "router.json").read_text())["port"])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/predict", json.dumps({"input": [1]}))
        response = connection.getresponse()
        return response.headers["X-Mlgate-Digest"], json.loads(response.read())["output"]
    finally:
        connection.close()


def test_package_swapped_after_the_gates_is_refused(project: Project) -> None:
    process = _paused_deploy(project, "started")
    shutil.copyfile(project.other.path, project.approved.path)
    _, err = process.communicate(b"\n", timeout=120)
    assert process.returncode == 1
    refused = (
        f"check candidate start failed: the package file changed after it was checked: it now "
        f"holds {project.other.digest}, not the approved {project.approved.digest}; nothing of "
        f"it was installed; deploy it again; rolled back to {project.serving.digest[7:19]}"
    )
    assert refused in err.decode()
    assert _answer(project) == (project.serving.digest, "one")
    releases = project.config.parent / ".mlgate" / "releases" / "staging" / "releases"
    assert sorted(path.name for path in releases.iterdir()) == [project.serving.digest[7:]]


def test_package_swapped_after_extraction_serves_the_approved_code(project: Project) -> None:
    process = _paused_deploy(project, "staged")
    shutil.copyfile(project.other.path, project.approved.path)
    out, err = process.communicate(b"\n", timeout=120)
    assert (process.returncode, err.decode()) == (0, "")
    assert out.decode().startswith(f"deployed {project.approved.digest} to 'staging'")
    assert _answer(project) == (project.approved.digest, "two")


def _with_pax(source: Path, target: Path, name: str, comment_bytes: int) -> None:
    """A copy of the archive whose member `name` carries a pax header of `comment_bytes`."""
    with tarfile.open(source, "r:gz") as tar:
        pairs = []
        for info in tar:
            stream = tar.extractfile(info)
            assert stream is not None
            if info.name == name:
                info.pax_headers = {"comment": "x" * comment_bytes}
            pairs.append((info, stream.read()))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as out:
        for info, data in pairs:
            out.addfile(info, io.BytesIO(data))
    target.write_bytes(gzip.compress(buffer.getvalue()))


@pytest.mark.parametrize("name", [MANIFEST_NAME, "src/labels/serve.py"])
def test_a_huge_pax_header_is_refused_before_it_is_inflated(
    tmp_path: Path, package: Package, name: str
) -> None:
    bomb = tmp_path / "pax.mlpkg"
    _with_pax(package.path, bomb, name, 64 * 1024 * 1024)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    message = _refused(bomb, package.digest, tmp_path)
    if name == MANIFEST_NAME:  # before the manifest: room for the manifest and its headers
        limit = str(KEEP_LIMIT + HEADER_ROOM)
    else:  # after it: the sizes it lists, room for their headers, where the manifest ended
        limit = message.split("(")[1].split(" ")[0]
        assert int(limit) < 16 * HEADER_ROOM
    assert message == (
        f"the archive holds more than its manifest accounts for ({limit} bytes); refusing it"
    )


def test_small_pax_headers_are_fine(tmp_path: Path, package: Package) -> None:
    annotated = tmp_path / "annotated.mlpkg"
    _with_pax(package.path, annotated, "src/labels/serve.py", 1000)
    release = tmp_path / "store" / "release"
    release.parent.mkdir()
    assert unpack(annotated, release, package.digest) == replace(package.manifest, builder=None)
