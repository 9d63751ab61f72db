"""The command target's `current` command: what serves, asked of the platform itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate.cli import main
from mlgate.errors import ConfigError, GateError
from mlgate.pipelines.command_target import CommandTarget, Places
from mlgate.pipelines.environments import CommandSettings, release_config
from mlgate.pipelines.package import BuildOptions, Package, build_package, read_package
from mlgate.pipelines.runtime import LocalProcesses

DIGEST = "sha256:" + "0123456789abcdef" * 4


def target(tmp_path: Path, *current: str) -> CommandTarget:
    settings = CommandSettings(deploy=("true",), rollback=("true",), current=current, timeout=5)
    return CommandTarget(settings, Places("prod", tmp_path, ""), LocalProcesses())


def printing(text: str, code: int = 0) -> tuple[str, ...]:
    """A `current` command that prints `text` and exits with `code`."""
    return (sys.executable, "-c", f"import sys; print({text!r}); sys.exit({code})")


def test_current_reports_the_digest_the_platform_serves(tmp_path: Path) -> None:
    assert target(tmp_path, *printing(f"checking prod\n{DIGEST}\n")).serving() == DIGEST
    assert target(tmp_path, *printing("")).serving() == ""
    assert target(tmp_path).serving() == ""  # no current command: the ledger tells


def test_current_fills_in_the_environment(tmp_path: Path) -> None:
    (tmp_path / "prod.serving").write_text(DIGEST + "\n", encoding="utf-8")
    assert target(tmp_path, "cat", "{env}.serving").serving() == DIGEST


@pytest.mark.parametrize(
    ("current", "message"),
    [
        (printing(DIGEST, 3), "the current command exited 3; it must exit 0"),
        (printing("v1.2"), "the current command printed 'v1.2'; it must exit 0"),
        (printing("sha256:" + "A" * 64), "printed 'sha256:AAAA"),
        (printing("sha256:abc"), "printed 'sha256:abc'"),
    ],
)
def test_a_current_command_that_does_not_answer_is_refused(
    tmp_path: Path, current: tuple[str, ...], message: str
) -> None:
    with pytest.raises(GateError) as err:
        target(tmp_path, *current).serving()
    assert message in str(err.value)


def test_current_is_read_from_the_configuration(tmp_path: Path) -> None:
    project = tmp_path / "pyproject.toml"
    table = '{ kind = "command", deploy = ["d"], rollback = ["r"], current = ["c", "{env}"] }'
    project.write_text(f"[tool.mlgate.environments.prod]\ntarget = {table}\n", encoding="utf-8")
    settings = release_config(project, {}).environment("prod").target
    assert isinstance(settings, CommandSettings)
    assert settings.current == ("c", "{env}")
    project.write_text(
        '[tool.mlgate.environments.prod]\ntarget = { kind = "command", deploy = ["d"], '
        'rollback = ["r"], current = "c" }\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="current"):
        release_config(project, {})


DEPLOYED = """\
import shutil, stat, sys
from pathlib import Path
given = Path(sys.argv[1])
Path(sys.argv[2]).write_text(oct(stat.S_IMODE(given.parent.stat().st_mode)))
shutil.copyfile(given, sys.argv[3])
"""


def _command_project(root: Path, label: str, extra: str = "") -> Package:
    """A package answering `label`, its project deploying through the command target."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.json").write_text(f'"{label}"')
    (root / "serve.py").write_text("def load():\n    return lambda rows: rows\n")
    (root / "pyproject.toml").write_text(
        f'[tool.mlgate.package]\nname = "tiny"\nversion = "1"\nmodels = ["model.json"]\n'
        f'code = ["serve.py"]\nentrypoint = "serve:load"\npythonpath = ["."]\n{extra}'
    )
    options = BuildOptions(out_dir=root / "dist", builder="ci", environ={})
    return build_package(root, options)


def test_the_deploy_command_gets_the_approved_bytes_not_a_swapped_file(tmp_path: Path) -> None:
    (tmp_path / "deployed.py").write_text(DEPLOYED)
    out = [str(tmp_path / "mode"), str(tmp_path / "deployed.mlpkg")]
    deploy = [sys.executable, str(tmp_path / "deployed.py"), "{package}", *out]
    target_table = f'{{ kind = "command", deploy = {deploy!r}, rollback = ["true"] }}'
    table = f"[tool.mlgate.environments.prod]\ntarget = {target_table}\n".replace("'", '"')
    approved = _command_project(tmp_path / "good", "good", table)
    evil = _command_project(tmp_path / "evil", "evil")
    config = str(tmp_path / "good" / "pyproject.toml")
    assert (
        main(["approve", str(approved.path), "--env", "prod", "--by", "alice", "--config", config])
        == 0
    )
    argv = [sys.executable, "-m", "mlgate", "deploy", str(approved.path), "--env", "prod"]
    process = subprocess.Popen(
        [*argv, "--config", config],
        env={**os.environ, "MLGATE_PAUSE_AT": "started"},
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stderr is not None
    assert process.stderr.readline().decode().startswith("mlgate: paused at started (pid ")
    shutil.copyfile(evil.path, approved.path)  # swapped after the gates checked it
    _, err = process.communicate(b"\n", timeout=120)
    assert process.returncode == 1
    assert (
        f"{approved.path} changed after it was checked: it now holds {evil.digest}, not the "
        f"approved {approved.digest}; nothing was deployed; deploy it again"
    ) in err.decode()
    assert not (tmp_path / "deployed.mlpkg").exists()


def test_the_deploy_command_gets_a_private_verified_copy(tmp_path: Path) -> None:
    (tmp_path / "deployed.py").write_text(DEPLOYED)
    package = _command_project(tmp_path / "good", "good")
    mode, copy = tmp_path / "mode", tmp_path / "deployed.mlpkg"
    deploy = (sys.executable, str(tmp_path / "deployed.py"), "{package}", str(mode), str(copy))
    settings = CommandSettings(deploy=deploy, rollback=("true",), timeout=30)
    staged = CommandTarget(settings, Places("prod", tmp_path, ""), LocalProcesses()).stage(
        package, ""
    )
    assert staged.problem == ""
    assert mode.read_text() == "0o700"
    assert read_package(copy).digest == package.digest


def test_a_package_gone_before_the_deploy_is_one_line(tmp_path: Path) -> None:
    package = Package(tmp_path / "gone.mlpkg", None, DIGEST)  # type: ignore[arg-type]
    with pytest.raises(GateError) as err:
        target(tmp_path).stage(package, "")
    assert str(err.value) == (
        f"cannot copy {tmp_path / 'gone.mlpkg'} for the deploy command: No such file or directory"
    )
