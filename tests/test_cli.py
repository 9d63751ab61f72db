"""The `mlgate` entry point: the command registry, lazy imports, one-line usage errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlgate.cli import main
from mlgate.commands import COMMANDS, load


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_registered_command_has_its_module(name: str) -> None:
    module = load(name)
    assert callable(module.add_arguments)
    assert callable(module.run)


def test_the_registry_is_sorted() -> None:
    assert list(COMMANDS) == sorted(COMMANDS)


def imported_after(call: str, prefix: str, *argv: str) -> str:
    """`call` run in a fresh interpreter; its result and the modules under `prefix` it imported."""
    script = (
        "import sys\n"
        "from mlgate.cli import main\n"
        f"result = {call}\n"
        f"print(result, sorted(m for m in sys.modules if m.startswith({prefix!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()[-1]


def test_a_lint_run_does_not_import_the_release_pipeline(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    global A\n", encoding="utf-8")
    lint = "main(['lint', '--no-cache', sys.argv[1]])"
    assert imported_after(lint, "mlgate.pipelines", str(tmp_path / "a.py")) == "1 []"


def test_an_unknown_command_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deplyo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("mlgate: error: argument COMMAND: invalid choice: 'deplyo'")


def test_help_of_the_whole_cli_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert all(f"    {name}" in out for name in COMMANDS)


def test_a_command_help_shows_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["lint", "--help"])
    assert "--select" in capsys.readouterr().out


def test_version_and_usage_errors_import_no_command() -> None:
    calls = "[main([]), main(['nope'])]"
    assert imported_after(calls, "mlgate.commands.") == "[2, 2] []"
