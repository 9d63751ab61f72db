"""`[tool.mlgate.environments]` and `[tool.mlgate.ledger]` read into frozen values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlgate.config import RawConfig
from mlgate.errors import ConfigError
from mlgate.pipelines.environments import (
    ApprovalPolicy,
    CommandSettings,
    LocalSettings,
    VerifyPolicy,
    duration,
    load_release_config,
    release_config,
)


def _load(table: dict[str, Any], environ: dict[str, str] | None = None) -> Any:
    return load_release_config(RawConfig(table, Path("/proj/pyproject.toml")), environ or {})


def test_defaults() -> None:
    config = _load({"environments": {"staging": {}}})
    env = config.environment("staging")
    assert env.approval == ApprovalPolicy()
    assert env.verify == VerifyPolicy()
    assert env.target == LocalSettings(state_dir=Path("/proj/.mlgate/releases/staging"))
    assert config.ledger_dir == Path("/proj/.mlgate/ledger")


def test_every_key() -> None:
    table = {
        "ledger": {"path": "var/ledger"},
        "environments": {
            "prod": {
                "approval": {
                    "required": True,
                    "approvers": ["alice", "bob"],
                    "min-approvals": 2,
                    "allow-self-approval": True,
                    "expires": "2h",
                },
                "verify": {
                    "health": "/ping",
                    "smoke": False,
                    "requests": 5,
                    "max-p95-latency": "250ms",
                    "max-error-rate": 0.5,
                    "bake": 3,
                    "timeout": "1.5s",
                },
                "target": {
                    "kind": "local",
                    "port": 8123,
                    "state-dir": "srv",
                    "start-timeout": "1m",
                },
            }
        },
    }
    env = _load(table).environment("prod")
    assert env.approval == ApprovalPolicy(True, ("alice", "bob"), 2, True, 7200.0)
    assert env.verify == VerifyPolicy("/ping", False, 5, 0.25, 0.5, 3.0, 1.5)
    assert env.target == LocalSettings(Path("/proj/srv"), 8123, 60.0)
    assert _load(table).ledger_dir == Path("/proj/var/ledger")


def test_environment_variables_override_places() -> None:
    table = {"environments": {"prod": {"target": {"state-dir": "srv"}}}}
    config = _load(table, {"MLGATE_STATE_DIR": "/state", "MLGATE_LEDGER_DIR": "/led"})
    assert config.environment("prod").target == LocalSettings(Path("/state/prod"))
    assert config.ledger_dir == Path("/led")


def test_command_target() -> None:
    target = {
        "kind": "command",
        "deploy": ["kubectl", "apply", "{package}", "{digest}"],
        "rollback": ["./undo", "{previous}", "{env}"],
        "health": ["./health"],
        "endpoint": "http://127.0.0.1:9000",
        "timeout": "5m",
    }
    env = _load({"environments": {"prod": {"target": target}}}).environment("prod")
    assert env.target == CommandSettings(
        deploy=("kubectl", "apply", "{package}", "{digest}"),
        rollback=("./undo", "{previous}", "{env}"),
        health=("./health",),
        endpoint="http://127.0.0.1:9000",
        timeout=300.0,
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"prod": {"aproval": {}}}, "[tool.mlgate.environments.prod]: unknown key 'aproval'"),
        (
            {"prod": {"approval": {"min_approvals": 1}}},
            "[tool.mlgate.environments.prod].approval: unknown key 'min_approvals'",
        ),
        (
            {"prod": {"verify": {"bake": "soon"}}},
            "[tool.mlgate.environments.prod].verify.bake = 'soon': expected seconds",
        ),
        ({"prod": {"verify": {"smoke": 1}}}, "verify.smoke = 1: expected true or false"),
        ({"prod": {"verify": {"requests": -1}}}, "verify.requests = -1: expected a whole number"),
        ({"prod": {"verify": {"max-error-rate": 2}}}, "max-error-rate = 2: expected a fraction"),
        ({"prod": {"verify": {"health": 3}}}, "verify.health = 3: expected a string"),
        ({"prod": {"approval": {"approvers": "al"}}}, "approvers = 'al': expected a list"),
        ({"prod": {"target": "k8s"}}, "target.kind = 'k8s': expected 'local' or 'command'"),
        ({"prod": {"target": 3}}, "target must be 'local', 'command' or a table"),
        ({"prod": {"target": {"kind": "command", "deploy": ["x"]}}}, "needs a 'rollback' command"),
        (
            {"prod": {"target": {"kind": "command", "deploy": ["{pkg}"], "rollback": ["x"]}}},
            "cannot template '{pkg}'",
        ),
        ({"prod": 3}, "[tool.mlgate.environments.prod] must be a table"),
        ({"../x": {}}, "environment names use letters"),
    ],
)
def test_invalid_environment(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load({"environments": table})
    assert message in str(caught.value)


def test_invalid_tables() -> None:
    with pytest.raises(ConfigError, match=r"\[tool.mlgate.environments\] must be a table"):
        _load({"environments": ["prod"]})
    with pytest.raises(ConfigError, match=r"\[tool.mlgate.ledger\]: unknown key 'dir'"):
        _load({"ledger": {"dir": "x"}})


def test_unknown_environment_lists_known() -> None:
    config = _load({"environments": {"b": {}, "a": {}}})
    with pytest.raises(ConfigError, match=r"no environment 'prod' .* \(known: a, b\)"):
        config.environment("prod")
    with pytest.raises(ConfigError, match=r"\(known: none\)"):
        _load({}).environment("prod")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(3, 3.0), (0.5, 0.5), ("500ms", 0.5), ("30s", 30.0), ("15m", 900.0), ("2d", 172800.0)],
)
def test_duration(value: object, seconds: float) -> None:
    assert duration("x", value) == seconds


@pytest.mark.parametrize("value", [True, -1, "1 week", None])
def test_duration_refused(value: object) -> None:
    with pytest.raises(ConfigError, match="expected seconds or a duration"):
        duration("x", value)


def test_release_config_reads_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.mlgate.environments.dev]\n")
    config = release_config(tmp_path / "pyproject.toml", {})
    assert list(config.environments) == ["dev"]
    assert config.root == tmp_path
