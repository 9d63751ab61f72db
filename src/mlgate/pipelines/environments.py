"""`[tool.mlgate.environments.ENV]` and `[tool.mlgate.ledger]`, read once into frozen values.

    [tool.mlgate.ledger]
    path = ".mlgate/ledger"             # env MLGATE_LEDGER_DIR overrides
    signed = false                      # true: writing needs the key in MLGATE_LEDGER_KEY
    allowed-signers = ".mlgate/allowed_signers"   # approvers' public SSH keys (ssh-keygen -Y)
    ssh-signed = false                  # true: entries signed with MLGATE_LEDGER_SSH_KEY
    writers = ["ci"]                    # principals whose keys sign the ledger (not approvers)

    [tool.mlgate.environments.production]
    target = "local"                    # or a table: {kind = "command", deploy = [...], ...}

    [tool.mlgate.environments.production.approval]
    required = true
    approvers = ["alice", "bob"]        # empty: anyone may approve
    min-approvals = 1
    allow-self-approval = false         # may the package's builder approve it?
    expires = "24h"                     # default and longest lifetime of an approval
    signed = false                      # true: only approvals signed with an allowed SSH key
    signed-builds = false               # true: the builder must sign the build (builder.sig)

    [tool.mlgate.environments.production.verify]
    health = "/health"
    smoke = true                        # run the manifest's smoke cases
    requests = 20                       # requests measured for latency and error rate
    max-p95-latency = "1s"
    max-error-rate = 0.0
    bake = "10s"                        # checks repeated after traffic is switched
    timeout = "5s"                      # one request
    concurrency = 1                     # requests in flight at once

Durations are seconds (a number) or text such as "500ms", "30s", "15m", "24h", "7d".
Local target settings: `state-dir` (default `.mlgate/releases/<env>`; env MLGATE_STATE_DIR holds
one folder per environment), `port` (the stable endpoint; 0 picks a free one on first deploy),
`start-timeout`, `sandbox` ("auto", "required", "off"), `env` (environment variables passed to
model servers), `keep` (releases kept in the store). Command target settings: `deploy`,
`health`, `rollback` (argument lists with `{package}`, `{digest}`, `{env}`, `{previous}`
templated), `current` (prints the digest that serves, so a fresh CI runner can ask),
`endpoint` (URL for HTTP checks), `timeout`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from mlgate.config import RawConfig, load_raw
from mlgate.errors import ConfigError
from mlgate.pipelines import sandbox
from mlgate.pipelines.ledger import Ledger, SshKeys, ledger_for

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
#: The longest duration anything takes: far beyond any real one, far below datetime's limits.
_MAX_DURATION = 36500 * 86400.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TEMPLATE_KEYS = ("package", "digest", "env", "previous")


@dataclass(frozen=True)
class ApprovalPolicy:
    """Who must approve a package before it reaches the environment."""

    required: bool = True
    approvers: tuple[str, ...] = ()
    min_approvals: int = 1
    allow_self_approval: bool = False
    expires: float = 86400.0
    signed: bool = False
    signed_builds: bool = False


@dataclass(frozen=True)
class VerifyPolicy:
    """The checks a release must pass, before and after traffic is switched to it."""

    health: str = "/health"
    smoke: bool = True
    requests: int = 20
    max_p95_latency: float = 1.0
    max_error_rate: float = 0.0
    bake: float = 10.0
    timeout: float = 5.0
    concurrency: int = 1


@dataclass(frozen=True)
class LocalSettings:
    """The embedded target: a release store and model servers on 127.0.0.1."""

    kind: ClassVar[str] = "local"
    state_dir: Path
    port: int = 0
    start_timeout: float = 30.0
    sandbox: str = "auto"
    env: tuple[str, ...] = ()
    keep: int = 5


@dataclass(frozen=True)
class CommandSettings:
    """A target driven by the team's own deploy, health and rollback commands."""

    kind: ClassVar[str] = "command"
    deploy: tuple[str, ...]
    rollback: tuple[str, ...]
    health: tuple[str, ...] = ()
    current: tuple[str, ...] = ()
    endpoint: str = ""
    timeout: float = 600.0


@dataclass(frozen=True)
class Environment:
    """One deployment environment."""

    name: str
    approval: ApprovalPolicy
    verify: VerifyPolicy
    target: LocalSettings | CommandSettings


@dataclass(frozen=True)
class ReleaseConfig:
    """Everything the release stages need from `[tool.mlgate]`."""

    root: Path
    ledger_dir: Path
    environments: Mapping[str, Environment]
    ledger_key: bytes | None = None
    ledger_signed: bool = False
    allowed_signers: Path | None = None
    ledger_ssh_key: Path | None = None
    ledger_ssh_signed: bool = False
    ledger_writers: tuple[str, ...] = ()

    def ledger(self, name: str) -> Ledger:
        """The ledger of environment `name`, with the keys that sign it."""
        plain = ledger_for(self.ledger_dir, name, self.ledger_key, self.ledger_signed)
        if self.allowed_signers is None:
            return plain
        key = self.ledger_ssh_key if self.ledger_ssh_signed else None
        ssh = SshKeys(self.allowed_signers, key, self.ledger_ssh_signed, self.ledger_writers)
        return plain._replace(ssh=ssh)

    def private_paths(self) -> tuple[Path, ...]:
        """What a model server must never see: the ledger folder, the allowed_signers file and
        the ledger's SSH key (the ones configured)."""
        paths = (self.ledger_dir, self.allowed_signers, self.ledger_ssh_key)
        return tuple(path.resolve() for path in paths if path is not None)

    def environment(self, name: str) -> Environment:
        """The environment called `name`, or a ConfigError listing the known ones."""
        if name not in self.environments:
            known = ", ".join(sorted(self.environments)) or "none"
            raise ConfigError(
                f"no environment {name!r} in [tool.mlgate.environments] (known: {known}); "
                f"add a [tool.mlgate.environments.{name}] table"
            )
        return self.environments[name]


def duration(where: str, value: Any) -> float:
    """Seconds from a number or a text like "500ms", "30s", "24h", at most `_MAX_DURATION`."""
    seconds = _seconds(value)
    if seconds is None:
        raise ConfigError(f"{where} = {value!r}: expected seconds or a duration like '30s', '24h'")
    if seconds > _MAX_DURATION:
        raise ConfigError(f"{where} = {value!r}: longer than 100 years; give a shorter duration")
    return seconds


def _seconds(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


def _bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} = {value!r}: expected true or false")
    return value


def _count(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where} = {value!r}: expected a whole number >= 0")
    return value


def _fraction(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{where} = {value!r}: expected a fraction between 0 and 1")
    return float(value)


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where} = {value!r}: expected a string")
    return value


def _names(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where} = {value!r}: expected a list of strings")
    return tuple(value)


def _argv(where: str, value: Any) -> tuple[str, ...]:
    argv = _names(where, value)
    for word in argv:
        try:
            word.format(**dict.fromkeys(TEMPLATE_KEYS, ""))
        except (KeyError, IndexError, ValueError) as err:
            known = ", ".join(f"{{{key}}}" for key in TEMPLATE_KEYS)
            raise ConfigError(f"{where}: cannot template {word!r} ({err}); use {known}") from err
    return argv


def _port(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ConfigError(f"{where} = {value!r}: expected a port from 1 to 65535 (0: pick one)")
    return value


def _positive(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where} = {value!r}: expected a whole number >= 1")
    return value


def _sandbox(where: str, value: Any) -> str:
    if value not in sandbox.MODES:
        raise ConfigError(f"{where} = {value!r}: expected 'auto', 'required' or 'off'")
    return str(value)


def _passthrough(where: str, value: Any) -> tuple[str, ...]:
    for name in _names(where, value):
        problem = sandbox.refused_key(name)
        if problem:
            raise ConfigError(f"{where}: {name!r} cannot be passed to a model server: {problem}")
    return tuple(value)


_Spec = Mapping[str, Callable[[str, Any], Any]]
_APPROVAL: _Spec = {
    "allow-self-approval": _bool,
    "approvers": _names,
    "expires": duration,
    "min-approvals": _count,
    "required": _bool,
    "signed": _bool,
    "signed-builds": _bool,
}
_VERIFY: _Spec = {
    "bake": duration,
    "concurrency": _positive,
    "health": _text,
    "max-error-rate": _fraction,
    "max-p95-latency": duration,
    "requests": _count,
    "smoke": _bool,
    "timeout": duration,
}
_LEDGER: _Spec = {
    "allowed-signers": _text,
    "path": _text,
    "signed": _bool,
    "ssh-signed": _bool,
    "writers": _names,
}
_MIN_KEY = 32
_LOCAL: _Spec = {
    "env": _passthrough,
    "keep": _positive,
    "kind": _text,
    "port": _port,
    "sandbox": _sandbox,
    "start-timeout": duration,
    "state-dir": _text,
}
_COMMAND: _Spec = {
    "current": _argv,
    "deploy": _argv,
    "endpoint": _text,
    "health": _argv,
    "kind": _text,
    "rollback": _argv,
    "timeout": duration,
}
_ENVIRONMENT = frozenset({"approval", "target", "verify"})


class _Places(NamedTuple):
    """Where a local target's release store may live."""

    root: Path
    default: Path
    override: Path | None


def _check_keys(table: Any, known: Collection[str], where: str) -> Mapping[str, Any]:
    """`table` itself, once it is a table whose keys are all in `known`."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    for key in sorted(table):
        if key not in known:
            names = ", ".join(sorted(known))
            raise ConfigError(f"{where}: unknown key {key!r} (known keys: {names})")
    return table


def _fields(table: Any, spec: _Spec, where: str) -> dict[str, Any]:
    """`table` checked against `spec`, with keys turned into field names."""
    table = _check_keys(table, spec, where)
    return {
        key.replace("-", "_"): spec[key](f"{where}.{key}", value) for key, value in table.items()
    }


def _local(table: Mapping[str, Any], where: str, places: _Places) -> LocalSettings:
    fields = _fields(table, _LOCAL, where)
    fields.pop("kind", None)
    given = fields.pop("state_dir", None)
    state_dir = places.override or (places.root / given if given else places.default)
    return LocalSettings(state_dir=state_dir, **fields)


def _command(table: Mapping[str, Any], where: str) -> CommandSettings:
    fields = _fields(table, _COMMAND, where)
    fields.pop("kind")
    for key in ("deploy", "rollback"):
        if not fields.get(key):
            raise ConfigError(f"{where}: a command target needs a {key!r} command list")
    return CommandSettings(**fields)


def _target(value: Any, where: str, places: _Places) -> LocalSettings | CommandSettings:
    table = {"kind": value} if isinstance(value, str) else value
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be 'local', 'command' or a table with a 'kind' key")
    kind = table.get("kind", "local")
    if kind == "local":
        return _local(table, where, places)
    if kind == "command":
        return _command(table, where)
    raise ConfigError(f"{where}.kind = {kind!r}: expected 'local' or 'command'")


def _approval(table: Any, where: str) -> ApprovalPolicy:
    """The approval policy, refused when no set of approvals could ever satisfy it."""
    policy = ApprovalPolicy(**_fields(table, _APPROVAL, where))
    if policy.expires <= 0:
        raise ConfigError(f"{where}.expires = 0: an approval must last longer than that")
    names = policy.approvers
    if policy.required and names and policy.min_approvals > len(set(names)):
        raise ConfigError(
            f"{where}: min-approvals = {policy.min_approvals} but only {len(set(names))} "
            f"approver(s) ({', '.join(sorted(set(names)))}) may approve: no deploy could ever "
            "pass; lower min-approvals or add approvers"
        )
    return policy


def _environment(name: str, table: Any, raw: RawConfig, state_root: Path | None) -> Environment:
    where = f"[tool.mlgate.environments.{name}]"
    if not _ENV_NAME.match(name):
        raise ConfigError(f"{where}: environment names use letters, digits, '.', '_' and '-'")
    table = _check_keys(table, _ENVIRONMENT, where)
    places = _Places(
        root=raw.root,
        default=raw.root / ".mlgate" / "releases" / name,
        override=state_root / name if state_root else None,
    )
    return Environment(
        name=name,
        approval=_approval(table.get("approval", {}), f"{where}.approval"),
        verify=VerifyPolicy(**_fields(table.get("verify", {}), _VERIFY, f"{where}.verify")),
        target=_target(table.get("target", "local"), f"{where}.target", places),
    )


def load_release_config(raw: RawConfig, environ: Mapping[str, str]) -> ReleaseConfig:
    """The release settings of `raw`, with MLGATE_LEDGER_DIR, MLGATE_LEDGER_KEY and
    MLGATE_STATE_DIR applied."""
    ledger = _fields(raw.table.get("ledger", {}), _LEDGER, "[tool.mlgate.ledger]")
    ledger_dir = Path(environ.get("MLGATE_LEDGER_DIR") or ledger.get("path", ".mlgate/ledger"))
    state_root = raw.root / environ["MLGATE_STATE_DIR"] if environ.get("MLGATE_STATE_DIR") else None
    tables = raw.table.get("environments", {})
    if not isinstance(tables, Mapping):
        raise ConfigError("[tool.mlgate.environments] must be a table of environment tables")
    envs = {name: _environment(name, table, raw, state_root) for name, table in tables.items()}
    signers = ledger.get("allowed_signers")
    _check_signers(envs, signers, ledger.get("ssh_signed", False))
    return ReleaseConfig(
        **_ssh_fields(envs, ledger, environ),
        root=raw.root,
        ledger_dir=raw.root / ledger_dir,
        environments=envs,
        ledger_key=ledger_key(environ),
        ledger_signed=ledger.get("signed", False),
        allowed_signers=raw.root / signers if signers else None,
    )


def _check_signers(envs: Mapping[str, Environment], signers: str | None, ssh: bool) -> None:
    """Signed approvals need the allowed_signers file that says whose keys count."""
    if ssh and not signers:
        raise ConfigError(
            "[tool.mlgate.ledger]: ssh-signed = true needs allowed-signers, the path of the "
            "allowed_signers file that lists the public SSH key of each ledger writer"
        )
    needing = sorted(name for name, env in envs.items() if env.approval.signed)
    if needing and not signers:
        raise ConfigError(
            f"[tool.mlgate.environments.{needing[0]}].approval: signed = true needs "
            "[tool.mlgate.ledger] allowed-signers, the path of the allowed_signers file that "
            "lists each approver's public SSH key"
        )


def _ssh_fields(
    envs: Mapping[str, Environment], ledger: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, Any]:
    """The SSH signing of the ledger: who writes it, with which key, and whether it must."""
    ssh = bool(ledger.get("ssh_signed", False))
    key = environ.get("MLGATE_LEDGER_SSH_KEY", "").strip()
    return {
        "ledger_writers": _writers(envs, ledger.get("writers", ()), ssh),
        "ledger_ssh_key": Path(key) if key else None,
        "ledger_ssh_signed": ssh,
    }


def _writers(
    envs: Mapping[str, Environment], writers: tuple[str, ...], ssh: bool
) -> tuple[str, ...]:
    """The principals that sign an SSH-signed ledger: named, and none of them an approver."""
    if ssh and not writers:
        raise ConfigError(
            "[tool.mlgate.ledger]: ssh-signed = true needs writers, the allowed_signers "
            'principals whose keys sign the ledger (e.g. writers = ["ci"]); approvers\' keys '
            "must not sign it"
        )
    for name, env in sorted(envs.items()):
        approvers = {name.casefold() for name in env.approval.approvers}
        both = sorted(name for name in writers if name.casefold() in approvers)
        if both:
            raise ConfigError(
                f"[tool.mlgate.ledger] writers: {both[0]!r} is also an approver of {name!r}; "
                "a ledger writer could then rewrite approvals: give the ledger its own key"
            )
    return writers


def ledger_key(environ: Mapping[str, str]) -> bytes | None:
    """The ledger key from MLGATE_LEDGER_KEY (empty, as an unset CI secret gives, is none)."""
    key = environ.get("MLGATE_LEDGER_KEY", "").strip()
    if key and len(key) < _MIN_KEY:
        raise ConfigError(
            f"MLGATE_LEDGER_KEY has {len(key)} characters: use at least {_MIN_KEY} random ones, "
            'e.g. from `python -c "import secrets; print(secrets.token_hex(32))"`'
        )
    return key.encode() if key else None


def release_config(config: Path | None, environ: Mapping[str, str]) -> ReleaseConfig:
    """Read `[tool.mlgate]` from `config` (or the nearest pyproject.toml) for the release stages."""
    return load_release_config(load_raw(config), environ)
