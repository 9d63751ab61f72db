"""The command target's `current` command: what serves, asked of the platform itself."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlgate.errors import ConfigError, GateError
from mlgate.pipelines.command_target import CommandTarget, Places
from mlgate.pipelines.environments import CommandSettings, release_config
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
