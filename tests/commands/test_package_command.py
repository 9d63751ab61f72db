"""`mlgate package build|scan|verify` through `mlgate.cli.main`, on real files."""

from __future__ import annotations

import json
import os
import pickle
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from mlgate.cli import build_parser, main

PYPROJECT = """\
[project]
name = "tiny"
version = "0.3.0"

[tool.mlgate.package]
models = ["model.pkl"]
code = ["serve.py"]
entrypoint = "serve:load"
"""


class Evil:
    """Pickles as a call to os.system (which is `posix.system` on Linux)."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo owned",))


def project(root: Path, model: object) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "serve.py").write_text("def load():\n    return len\n")
    (root / "model.pkl").write_bytes(pickle.dumps(model, protocol=4))
    return root


def test_build_prints_path_and_digest_and_verify_accepts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "proj", {"weights": [1.0, 2.0]})
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"auc": 0.91}')
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    argv = ["package", "build", "--config", str(root / "pyproject.toml"), "--out", str(tmp_path)]
    code = main([*argv, "--meta", "run=7", "--metrics", str(metrics), "--github-output"])
    path, digest = capsys.readouterr().out.split()
    assert code == 0
    assert path == str(tmp_path / "tiny-0.3.0.mlpkg")
    assert digest.startswith("sha256:")
    assert len(digest) == 71
    assert output.read_text() == f"path={path}\ndigest={digest}\nrecord={path}.provenance.json\n"
    assert main(["package", "verify", path]) == 0
    assert capsys.readouterr().out == f"{path}: ok tiny 0.3.0 {digest} (2 files)\n"


def test_build_refuses_a_malicious_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "proj", Evil())
    monkeypatch.chdir(root)
    assert main(["package", "build"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mlgate: error: refusing to build: model.pkl: byte ")
    assert "imports posix.system, which can run code: never allowed" in err
    assert not (root / "dist").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--meta", "novalue"], "--meta 'novalue': write KEY=VALUE"),
        (["--metrics", "missing.json"], "--metrics missing.json: cannot read a JSON object"),
        (["--github-output"], "--github-output needs $GITHUB_OUTPUT"),
    ],
)
def test_build_usage_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(project(tmp_path / "proj", [1]))
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    assert main(["package", "build", *extra]) == 2
    assert message in capsys.readouterr().err


def test_metrics_must_be_an_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project(tmp_path / "proj", [1]))
    Path("metrics.json").write_text("[1, 2]")
    assert main(["package", "build", "--metrics", "metrics.json"]) == 2
    assert "must hold a JSON object" in capsys.readouterr().err


def test_scan_reports_findings_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    Path("models/evil.pkl").write_bytes(pickle.dumps(Evil(), protocol=2))
    Path("models/fine.pkl").write_bytes(pickle.dumps({"a": (1, 2)}, protocol=4))
    Path("models/notes.txt").write_text("scanned too (by content): text, no finding")
    assert main(["package", "scan", "models"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "models/evil.pkl: byte 2: imports posix.system, which can run code: never allowed",
        "scanned 3 file(s): 1 finding(s) in 1 file(s)",
    ]


def test_scan_json_and_clean_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("fine.pkl").write_bytes(pickle.dumps({"when": frozenset({1})}, protocol=4))
    assert main(["package", "scan", "fine.pkl", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "verdict": "safe",
        "files": [
            {"path": "fine.pkl", "format": "pickle", "globals": [], "findings": []},
        ],
    }


def test_scan_missing_path_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["package", "scan", "nope.pkl"]) == 2
    assert capsys.readouterr().err == "mlgate: error: nope.pkl: no such file or folder to scan\n"


def test_verify_refuses_a_missing_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["package", "verify", str(tmp_path / "x.mlpkg")]) == 2
    assert "no such package file" in capsys.readouterr().err


ROOT = Path(__file__).resolve().parents[2]


def test_documented_package_commands_parse() -> None:
    section = (ROOT / "docs" / "packages.md").read_text(encoding="utf-8")
    commands = re.findall(r"^\$ (mlgate .*)$", section, flags=re.MULTILINE)
    assert len(commands) >= 3
    for command in commands:
        args = build_parser().parse_args(shlex.split(command)[1:])
        assert args.command == "package"


def test_pre_commit_hook_scans_model_files(tmp_path: Path) -> None:
    """A real pre-commit run of the `mlgate-scan-models` hook definition on a git repository."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [hook for hook in hooks if hook["id"] == "mlgate-scan-models"]
    local = {**hook, "language": "system", "entry": f"{sys.executable} -m mlgate package scan"}
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    (tmp_path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(Evil(), protocol=4))
    (tmp_path / "weights.npy").write_bytes(b"\x93NUMPY\x01\x00\x16\x00{'descr': '<f8'}     \n")
    (tmp_path / "notes.txt").write_bytes(pickle.dumps(Evil()))  # a pickle, whatever its name
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / ".cache")}
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    done = subprocess.run(
        ["pre-commit", "run", "--all-files"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "model.pkl: byte 28: imports posix.system, which can run code" in done.stdout
    assert "notes.txt: byte 28: imports posix.system, which can run code" in done.stdout
    # model.pkl, weights.npy, notes.txt and .pre-commit-config.yaml: every file, by content
    assert "scanned 4 file(s): 2 finding(s) in 2 file(s)" in done.stdout


def test_scan_of_a_package_scans_the_models_inside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "proj", np.arange(3))
    with (root / "pyproject.toml").open("a") as config:
        config.write('\n[tool.mlgate.scan]\npacks = ["numpy"]\n')
    argv = ["package", "build", "--config", str(root / "pyproject.toml"), "--out", str(tmp_path)]
    assert main(argv) == 0
    package = capsys.readouterr().out.split()[0]
    assert main(["package", "scan", package, "--config", str(root / "pyproject.toml")]) == 0
    # every file of the package is scanned, by content: the model, the code, the manifest
    assert capsys.readouterr().out == "scanned 3 file(s): no findings\n"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pyproject.toml").write_text("[tool.mlgate]\n")
    monkeypatch.chdir(elsewhere)
    assert main(["package", "scan", package, "--format", "json"]) == 1
    [report] = [item for item in json.loads(capsys.readouterr().out)["files"] if item["findings"]]
    assert report["path"] == f"{package}!model.pkl"
    # numpy 2 pickles its arrays through numpy._core, numpy 1 through numpy.core
    assert report["findings"][0]["name"].endswith("core.multiarray._reconstruct")
    assert list(tmp_path.glob("**/mlgate-scan-*")) == []


def test_verify_refuses_a_package_that_is_not_the_one_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path / "proj", {"weights": [1.0]})
    argv = ["package", "build", "--config", str(root / "pyproject.toml"), "--out", str(tmp_path)]
    assert main(argv) == 0
    path, digest = capsys.readouterr().out.split()
    assert main(["package", "verify", path, "--digest", digest]) == 0
    capsys.readouterr()
    other = "sha256:" + "0" * 64
    assert main(["package", "verify", path, "--digest", other]) == 1
    assert capsys.readouterr().err == (
        f"mlgate: error: {path}: digest {digest} is not the expected {other}; refusing a "
        "package that is not the one built\n"
    )
