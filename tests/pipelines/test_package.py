"""Building, reading, verifying and extracting model packages, on real projects and archives."""

from __future__ import annotations

import datetime
import functools
import gzip
import io
import json
import os
import random
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import joblib
import pytest
from sklearn.linear_model import LogisticRegression

from mlgate.errors import ConfigError, GateError, PackageError, UsageError
from mlgate.pipelines.manifest import MANIFEST_NAME, canonical_json, digest, parse_manifest
from mlgate.pipelines.package import (
    BuildOptions,
    Package,
    build_package,
    extract_package,
    read_package,
)
from mlgate.pipelines.provenance import BuildRecord, read_record, record_path

PYPROJECT = """\
[project]
name = "iris"
version = "1.0.0"

[tool.mlgate.package]
models = ["models/*.joblib"]
code = ["src/iris_model"]
entrypoint = "iris_model.serve:load"
metadata = { owner = "ml-team" }

[[tool.mlgate.package.smoke]]
name = "setosa"
input = [[5.1, 3.5, 1.4, 0.2]]
expect = [0]

[tool.mlgate.scan]
packs = ["sklearn"]
"""


@functools.cache
def model_bytes() -> bytes:
    """A fitted scikit-learn model saved with joblib (fitted once per test process)."""
    model = LogisticRegression().fit([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], [0, 2])
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def make_project(root: Path, pyproject: str = PYPROJECT) -> Path:
    """A small real project: a fitted scikit-learn model saved with joblib, and its code."""
    (root / "models").mkdir(parents=True)
    (root / "src" / "iris_model").mkdir(parents=True)
    (root / "models" / "model.joblib").write_bytes(model_bytes())
    (root / "src" / "iris_model" / "__init__.py").write_text("")
    (root / "src" / "iris_model" / "serve.py").write_text("def load():\n    return None\n")
    (root / "pyproject.toml").write_text(pyproject)
    return root


ENV = {"SOURCE_DATE_EPOCH": "1700000000", "USER": "alice"}


def build(root: Path, **changes: Any) -> Package:
    options = BuildOptions(environ=ENV)._replace(**changes)
    return build_package(root, options)


def test_build_writes_manifest_and_payload(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    package = build(root)
    assert package.path == root / "dist" / "iris-1.0.0.mlpkg"
    manifest = package.manifest
    assert [entry.path for entry in manifest.files] == [
        "models/model.joblib",
        "src/iris_model/__init__.py",
        "src/iris_model/serve.py",
    ]
    assert manifest.models == ("models/model.joblib",)
    assert manifest.formats == ("joblib",)
    assert manifest.scan.verdict == "safe"
    assert "sklearn.linear_model._logistic.LogisticRegression" in manifest.scan.globals
    assert manifest.scan.packs == ("numpy", "sklearn")
    assert manifest.pythonpath == ("src",)
    assert manifest.smoke == ({"name": "setosa", "input": [[5.1, 3.5, 1.4, 0.2]], "expect": [0]},)

    assert package.digest == digest(manifest)
    assert read_package(package.path) == package


def test_build_records_provenance(tmp_path: Path) -> None:
    package = build(make_project(tmp_path / "proj"), metadata={"run": "42"}, metrics={"f1": 0.9})
    manifest = package.manifest
    assert manifest.metadata == {"owner": "ml-team", "run": "42"}
    assert manifest.metrics == {"f1": 0.9}
    assert manifest.builder == "alice"
    assert manifest.created == "2023-11-14T22:13:20Z"
    assert manifest.git is None
    assert "scikit-learn" in manifest.frameworks


def test_archive_layout_is_normalised(tmp_path: Path) -> None:
    package = build(make_project(tmp_path / "proj"))
    with tarfile.open(package.path, "r:gz") as tar:
        members = tar.getmembers()
        manifest_bytes = tar.extractfile(MANIFEST_NAME).read()  # type: ignore[union-attr]
    assert [member.name for member in members] == [
        MANIFEST_NAME,
        "models/model.joblib",
        "src/iris_model/__init__.py",
        "src/iris_model/serve.py",
    ]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {
        (1700000000, 0, 0, "", "", 0o644)
    }
    assert manifest_bytes == canonical_json(package.manifest)
    raw = package.path.read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # gzip header mtime
    assert raw[3] & 0x08 == 0  # no file name in the gzip header


def test_identical_inputs_give_identical_bytes(tmp_path: Path) -> None:
    first_root = make_project(tmp_path / "one")
    first = build(first_root, out_dir=tmp_path / "out1")
    second_root = tmp_path / "two"
    second_root.mkdir()
    for source in sorted(first_root.rglob("*")):
        target = second_root / source.relative_to(first_root)
        if source.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.write_bytes(source.read_bytes())
            os.utime(target, (1_000_000, 1_000_000))
    os.umask(0o077)
    second = build(second_root, out_dir=tmp_path / "out2")
    os.umask(0o022)
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.digest == second.digest


def test_source_date_epoch_unset_gives_fixed_mtime(tmp_path: Path) -> None:
    package = build(make_project(tmp_path / "proj"), environ={"USER": "bob"})
    with tarfile.open(package.path, "r:gz") as tar:
        assert {member.mtime for member in tar.getmembers()} == {0}
    assert package.manifest.created is None


def commit_all(root: Path) -> str:
    """Commit the project at a fixed time in a new git repository; return the commit."""
    (root / ".gitignore").write_text("dist/\n")
    git = ["git", "-c", "user.name=Carol", "-c", "user.email=c@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    stamp = {"GIT_COMMITTER_DATE": "1600000000 +0000", "GIT_AUTHOR_DATE": "1600000000 +0000"}
    subprocess.run(
        [*git, "commit", "-q", "-m", "model"], cwd=root, check=True, env={**os.environ, **stamp}
    )
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_git_commit_dirty_flag_and_commit_time(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    head = commit_all(root)
    clean = build(root, environ={"MLGATE_BUILDER": "ci"})
    assert clean.manifest.git is not None
    assert (clean.manifest.git.commit, clean.manifest.git.dirty) == (head, False)
    assert clean.manifest.created == "2020-09-13T12:26:40Z"
    assert clean.manifest.builder == "ci"
    (root / "src" / "iris_model" / "serve.py").write_text("def load():\n    return 1\n")
    dirty = build(root, environ={})
    assert dirty.manifest.git is not None
    assert dirty.manifest.git.dirty is True
    assert dirty.digest != clean.digest


def test_two_builds_of_one_commit_by_different_runs_people_and_times_share_a_digest(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path / "proj")
    head = commit_all(root)
    laptop = build(
        root,
        out_dir=tmp_path / "laptop",
        environ={"USER": "alice"},
        now=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
    )
    github = {
        "GITHUB_TRIGGERING_ACTOR": "bob",
        "GITHUB_ACTOR": "carol",
        "GITHUB_RUN_ID": "991",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/iris",
    }
    ci = build(
        root,
        out_dir=tmp_path / "ci",
        environ=github,
        now=datetime.datetime(2026, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
    )
    assert ci.digest == laptop.digest
    assert ci.path.read_bytes() == laptop.path.read_bytes()
    assert (laptop.manifest.builder, ci.manifest.builder) == ("alice", "bob")
    assert read_record(laptop.path, laptop.digest) == BuildRecord(
        laptop.digest, "alice", "2026-01-02T03:04:05Z", head
    )
    assert read_record(ci.path, ci.digest) == BuildRecord(
        ci.digest,
        "bob",
        "2026-05-06T07:08:09Z",
        head,
        "991",
        "2",
        "https://github.com/acme/iris/actions/runs/991",
    )
    assert read_package(ci.path).manifest.builder == "bob"


def test_the_builder_is_read_only_from_a_record_of_the_same_digest(tmp_path: Path) -> None:
    package = build(make_project(tmp_path / "proj"))
    record = record_path(package.path)
    table = json.loads(record.read_text())
    record.write_text(json.dumps({**table, "digest": "sha256:" + "0" * 64}))
    assert read_package(package.path).manifest.builder is None
    record.unlink()
    assert read_package(package.path).manifest.builder is None
    record.write_text(json.dumps({**table, "builder": 7}))
    with pytest.raises(PackageError, match=r"not a build record \(values must be strings\)"):
        read_package(package.path)
    record.write_text(json.dumps({**table, "surprise": 1}))
    with pytest.raises(PackageError, match=r"not a build record \(.*surprise"):
        read_package(package.path)


Member = tuple[tarfile.TarInfo, bytes]


def test_a_schema_1_package_keeps_its_digested_builder(tmp_path: Path) -> None:
    package = build(make_project(tmp_path / "proj"))
    old = replace(package.manifest, schema=1, builder="carol")

    def downgrade(
        members: list[tuple[tarfile.TarInfo, bytes]],
    ) -> list[tuple[tarfile.TarInfo, bytes]]:
        return [regular(MANIFEST_NAME, canonical_json(old)), *members[1:]]

    read = read_package(rewrite(package.path, tmp_path / "old.mlpkg", downgrade))
    assert json.loads(canonical_json(old))["builder"] == "carol"
    assert (read.manifest, read.digest) == (old, digest(old))
    assert read.digest != package.digest


def test_unsafe_model_is_refused_and_nothing_written(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", PYPROJECT.replace('packs = ["sklearn"]', "packs = []"))
    with pytest.raises(GateError, match=r"models/model.joblib: byte \d+: imports sklearn\."):
        build(root)
    assert not (root / "dist").exists()


def test_model_glob_matching_nothing_is_a_config_error(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", PYPROJECT.replace("models/*.joblib", "models/*.pt"))
    with pytest.raises(ConfigError, match=r"'models/\*\.pt' matches no file"):
        build(root)


def test_read_package_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="no such package file"):
        read_package(tmp_path / "nope.mlpkg")


def test_extract_package_writes_files_and_keeps_modes(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    script = root / "src" / "iris_model" / "serve.py"
    script.chmod(0o755)
    package = build(root)
    dest = tmp_path / "releases" / "one"
    extracted = extract_package(package.path, dest)
    assert extracted == package
    assert (dest / "models" / "model.joblib").read_bytes() == (
        root / "models" / "model.joblib"
    ).read_bytes()
    assert (dest / "src" / "iris_model" / "serve.py").stat().st_mode & 0o777 == 0o755
    assert (dest / MANIFEST_NAME).read_bytes() == canonical_json(package.manifest)
    with pytest.raises(PackageError, match="already exists"):
        extract_package(package.path, dest)


# --- tampered and malicious archives, written with tarfile directly -------------------------


def rewrite(package: Path, target: Path, edit: object) -> Path:
    """Copy `package` member by member into `target`, letting `edit` change the list."""
    with tarfile.open(package, "r:gz") as tar:
        members = [(info, tar.extractfile(info).read()) for info in tar]  # type: ignore[union-attr]
    members = edit(members)  # type: ignore[operator]
    with tarfile.open(target, "w:gz") as out:
        for info, data in members:
            out.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return target


def special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, b""


def regular(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _changed_model(members: list[tuple[tarfile.TarInfo, bytes]]) -> list[object]:
    out: list[object] = []
    for info, data in members:
        changed = data + b"\0" if info.name == "models/model.joblib" else data
        info.size = len(changed)
        out.append((info, changed))
    return out


EDITS = [
    (lambda m: [*m, regular("extra.py", b"print(1)")], "extra.py is in the archive but not"),
    (lambda m: [x for x in m if x[0].name != "src/iris_model/serve.py"], "serve.py is listed"),
    (_changed_model, "models/model.joblib does not match its sha256"),
    (lambda m: [*m, regular("/etc/passwd", b"x")], "'/etc/passwd': is an absolute path"),
    (lambda m: [*m, regular("../evil.py", b"x")], "'../evil.py': climbs out"),
    (lambda m: [*m, regular("a/./b", b"x")], "not a normalised relative path"),
    (lambda m: [*m, special("link", tarfile.SYMTYPE, "/etc/passwd")], "is a link to '/etc/passwd'"),
    (lambda m: [*m, special("hard", tarfile.LNKTYPE, "models/model.joblib")], "is a link"),
    (lambda m: [*m, special("dev", tarfile.CHRTYPE)], "is a device"),
    (lambda m: [*m, special("fifo", tarfile.FIFOTYPE)], "is a device, FIFO"),
    (lambda m: [*m, special("dir", tarfile.DIRTYPE)], "is a folder entry"),
    (lambda m: [*m, m[1]], "'models/model.joblib': appears twice"),
    (lambda m: m[1:], f"has no {MANIFEST_NAME}"),
]


@pytest.mark.parametrize(("edit", "message"), EDITS)
def test_tampered_package_is_refused_and_nothing_extracted(
    tmp_path: Path, edit: object, message: str
) -> None:
    package = build(make_project(tmp_path / "proj"))
    bad = rewrite(package.path, tmp_path / "bad.mlpkg", edit)
    with pytest.raises(PackageError, match=message.replace("(", r"\(").replace(".", r"\.")):
        read_package(bad)
    dest = tmp_path / "releases" / "bad"
    with pytest.raises(PackageError):
        extract_package(bad, dest)
    assert not dest.exists()
    assert list((tmp_path / "releases").iterdir()) == []


def test_edited_manifest_is_refused(tmp_path: Path) -> None:
    package = build(make_project(tmp_path / "proj"))

    def edit(members: list[tuple[tarfile.TarInfo, bytes]]) -> list[tuple[tarfile.TarInfo, bytes]]:
        info, data = members[0]
        table = json.loads(data)
        pretty = json.dumps(table, indent=2, sort_keys=True).encode()
        return [regular(info.name, pretty), *members[1:]]

    with pytest.raises(PackageError, match="not in canonical form"):
        read_package(rewrite(package.path, tmp_path / "bad.mlpkg", edit))


def test_not_an_archive_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mlpkg"
    junk.write_bytes(gzip.compress(b"not a tar"))
    with pytest.raises(PackageError, match="not a readable package archive"):
        read_package(junk)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"{", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"surprise":1}', "unknown field 'surprise'"),
        (b'{"schema":3}', "schema 3 is not supported"),
        (b'{"name":"x"}', "schema None is not supported"),
        (b'{"schema":2,"builder":"mallory"}', "unknown field 'builder'"),
        (b'{"schema":1}', "missing field 'name'"),
        (b'{"schema":2}', "missing field 'name'"),
        (b'{"schema":1,"name":3}', "'name' must be a str"),
    ],
)
def test_parse_manifest_rejects_bad_documents(document: bytes, message: str) -> None:
    with pytest.raises(PackageError, match=message):
        parse_manifest(document)


def test_incompressible_weights_are_stored_and_text_is_deflated(tmp_path: Path) -> None:
    pyproject = PYPROJECT.replace('"models/*.joblib"', '"models/*.joblib", "models/*.safetensors"')
    root = make_project(tmp_path / "proj", pyproject)
    noise = random.Random(7).randbytes(2 * 1024 * 1024)
    (root / "models" / "weights.safetensors").write_bytes(noise)
    stored = build(root)
    payload = sum(entry.size for entry in stored.manifest.files)
    assert stored.path.stat().st_size > payload
    assert stored.manifest.formats == ("joblib", "safetensors")
    assert read_package(stored.path) == stored
    (root / "models" / "weights.safetensors").write_bytes(b"0.5," * 512 * 1024)
    deflated = build(root)
    assert deflated.path.stat().st_size < payload / 10


def test_unwritable_output_is_a_package_error_and_leaves_nothing(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    (tmp_path / "out" / "iris-1.0.0.mlpkg").mkdir(parents=True)
    with pytest.raises(PackageError, match=r"cannot write .*iris-1\.0\.0\.mlpkg"):
        build(root, out_dir=tmp_path / "out")
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["iris-1.0.0.mlpkg"]
    package = build(root)
    (tmp_path / "blocker").write_text("a file where a folder should be")
    with pytest.raises(PackageError, match="cannot extract into"):
        extract_package(package.path, tmp_path / "blocker" / "release")


def test_metrics_that_are_not_json_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="manifest cannot be written as JSON"):
        build(make_project(tmp_path / "proj"), metrics={"loss": float("nan")})
    assert not (tmp_path / "proj" / "dist").exists()


def test_bad_source_date_epoch_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH='yesterday' must be a whole number"):
        build(make_project(tmp_path / "proj"), environ={"SOURCE_DATE_EPOCH": "yesterday"})


def test_no_git_no_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    package = build(make_project(tmp_path / "proj"), environ={})
    assert (package.manifest.git, package.manifest.builder) == (None, None)


@pytest.mark.parametrize("pattern", ["../outside/*.py", "/etc/*.conf", ""])
def test_code_patterns_must_stay_inside_the_project(tmp_path: Path, pattern: str) -> None:
    root = make_project(tmp_path / "proj", PYPROJECT.replace('"src/iris_model"', f'"{pattern}"'))
    with pytest.raises(ConfigError, match="must stay inside the project"):
        build(root)


def test_links_leading_outside_the_project_are_refused(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    (tmp_path / "secret.py").write_text("KEY = 1\n")
    (root / "src" / "iris_model" / "secret.py").symlink_to(tmp_path / "secret.py")
    with pytest.raises(ConfigError, match=r"secret\.py links outside the project"):
        build(root)


def test_oversized_manifest_is_refused(tmp_path: Path) -> None:
    package = build(make_project(tmp_path / "proj"))

    def edit(members: list[tuple[tarfile.TarInfo, bytes]]) -> list[tuple[tarfile.TarInfo, bytes]]:
        return [regular(MANIFEST_NAME, b" " * (17 * 1024 * 1024)), *members[1:]]

    with pytest.raises(PackageError, match="is implausibly large"):
        read_package(rewrite(package.path, tmp_path / "bad.mlpkg", edit))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": 1, "builder": 7}, "'builder' must be a string or null"),
        ({"created": ["today"]}, "'created' must be a string or null"),
        ({"files": [{"path": "a", "size": 1, "sha256": "00"}]}, "'00' is not a sha256 hex"),
        ({"files": [{"path": "a", "size": "1", "sha256": "0" * 64}]}, "'size' must be a int"),
    ],
)
def test_manifest_field_types_are_checked(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    package = build(make_project(tmp_path / "proj"))
    table = json.loads(canonical_json(package.manifest))
    table.update(change)
    with pytest.raises(PackageError) as err:
        parse_manifest(json.dumps(table, sort_keys=True, separators=(",", ":")).encode())
    assert message in str(err.value)
