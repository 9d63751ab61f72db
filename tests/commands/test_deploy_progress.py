"""`mlgate deploy -v` and `rollback -v` print a line per stage and check as it finishes; `-q`,
and stderr that is not a terminal, print none. Real deploys of a tiny package on 127.0.0.1."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgate.cli import main
from mlgate.pipelines.package import BuildOptions, Package, build_package

PYPROJECT = """
[tool.mlgate.package]
name = "tiny"
version = "1"
models = ["model.json"]
code = ["serve.py"]
entrypoint = "serve:load"
pythonpath = ["."]

[tool.mlgate.environments.dev.approval]
required = false

[tool.mlgate.environments.dev.verify]
requests = 3
bake = "0s"

[tool.mlgate.environments.dev.target]
sandbox = "off"
"""


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Package]:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "model.json").write_text(json.dumps({"factor": 2}))
    (tmp_path / "serve.py").write_text("def load():\n    return lambda x: x * 2\n")
    monkeypatch.chdir(tmp_path)
    yield build_package(tmp_path, BuildOptions(out_dir=tmp_path / "dist", builder="carol"))
    assert main(["stop", "--env", "dev"]) == 0


def _shape(err: str) -> list[str]:
    """The progress lines with measured numbers replaced by N."""
    return [re.sub(r"=[0-9.e-]+", "=N", line) for line in err.splitlines()]


def test_verbose_deploy_prints_each_stage_and_check(
    tiny: Package, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", str(tiny.path), "--env", "dev", "-v"]) == 0
    short = tiny.digest.removeprefix("sha256:")[:12]
    err = capsys.readouterr().err.replace(short, "DIGEST")
    checks = [  # the package has no smoke cases
        "mlgate: {phase} health passed: status=N, seconds=N (limit status=N)",
        "mlgate: {phase} error-rate passed: error_rate=N, errors=N, requests=N "
        "(limit max_error_rate=N)",
        "mlgate: {phase} latency passed: p95_seconds=N, requests=N (limit max_p95_seconds=N)",
    ]
    assert _shape(err) == [
        "mlgate: deploy #1 of DIGEST started",
        *[line.format(phase="candidate") for line in checks],
        "mlgate: about to switch traffic to DIGEST",
        "mlgate: traffic switched to DIGEST",
        *[line.format(phase="bake") for line in checks],
        "mlgate: #1 ended: succeeded",
    ]


def test_quiet_and_non_terminal_deploys_print_no_progress(
    tiny: Package, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", str(tiny.path), "--env", "dev", "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["rollback", "--env", "dev", "--if-interrupted"]) == 0
    assert capsys.readouterr().err == ""


def test_quiet_and_verbose_together_are_a_usage_error(
    tiny: Package, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", str(tiny.path), "--env", "dev", "-q", "-v"]) == 2
    assert capsys.readouterr().err == (
        "mlgate: error: argument -v/--verbose: not allowed with argument -q/--quiet "
        "(see `mlgate deploy --help`)\n"
    )
