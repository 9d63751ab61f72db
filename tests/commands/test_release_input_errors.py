"""Bad input to the release commands ends with exit 2 (or 1 for a ledger that is not mlgate's)
and one line on stderr, never a traceback: the red team's overflowing and zero expiries,
malformed approval entries with an intact chain, and a relative --sign-with path."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from mlgate.cli import main
from mlgate.pipelines.package import BuildOptions, build_package

PYPROJECT = """
[tool.mlgate.package]
name = "tiny"
version = "1"
models = ["model.json"]
code = ["serve.py"]
entrypoint = "serve:load"
pythonpath = ["."]

[tool.mlgate.ledger]
allowed-signers = "allowed_signers"

[tool.mlgate.environments.prod]
approval = { approvers = ["alice", "bob"], expires = EXPIRES }
"""


def _project(root: Path, expires: str = '"24h"') -> tuple[Path, Path]:
    config = root / "pyproject.toml"
    config.write_text(PYPROJECT.replace("EXPIRES", expires))
    (root / "model.json").write_text("{}")
    (root / "serve.py").write_text("def load():\n    return lambda x: x\n")
    options = BuildOptions(out_dir=root / "dist", builder="carol", environ={})
    return config, build_package(root, options).path


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLGATE_LEDGER_KEY", "MLGATE_LEDGER_SSH_KEY", "MLGATE_LEDGER_DIR"):
        monkeypatch.delenv(name, raising=False)


def _approve(config: Path, package: Path, *more: str) -> int:
    argv = ["approve", str(package), "--env", "prod", "--by", "alice", "--config", str(config)]
    return main([*argv, *more])


@pytest.mark.parametrize(
    ("expires", "more", "message"),
    [
        (
            '"100000000d"',
            (),
            "[tool.mlgate.environments.prod].approval.expires = '100000000d': longer than 100 "
            "years; give a shorter duration",
        ),
        (
            "inf",
            (),
            "[tool.mlgate.environments.prod].approval.expires = inf: longer than 100 years; give "
            "a shorter duration",
        ),
        (
            '"0s"',
            (),
            "[tool.mlgate.environments.prod].approval.expires = 0: an approval must last longer "
            "than that",
        ),
        (
            '"24h"',
            ("--expires", "99999999d"),
            "--expires = '99999999d': longer than 100 years; give a shorter duration",
        ),
        ('"24h"', ("--expires", "0s"), "--expires 0s: an approval must last longer than that"),
    ],
)
def test_expiries_out_of_range_are_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    expires: str,
    more: tuple[str, ...],
    message: str,
) -> None:
    config, package = _project(tmp_path, expires)
    assert _approve(config, package, *more) == 2
    assert capsys.readouterr().err == f"mlgate: error: {message}\n"


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _append(ledger: Path, entry: dict[str, object]) -> None:
    """/tmp/rtmark/append.py: an entry with an intact hash chain, written by hand."""
    lines = ledger.read_bytes().splitlines() if ledger.exists() else []
    prev = json.loads(lines[-1])["hash"] if lines else "sha256:" + "0" * 64
    base = {"at": "2026-12-06T03:00:00.000Z", "by": "x", "data": {}, "digest": "", "kind": ""}
    base["env"] = ledger.stem  # entries name their ledger since the first real one did
    body = {**base, "kind": "approval", **entry, "seq": len(lines) + 1, "prev": prev}
    body["hash"] = "sha256:" + hashlib.sha256(_canonical(body)).hexdigest()
    ledger.parent.mkdir(parents=True, exist_ok=True)
    with ledger.open("ab") as stream:
        stream.write(_canonical(body) + b"\n")
    head = {"hash": body["hash"], "seq": body["seq"]}
    ledger.with_suffix(".head").write_bytes(_canonical(head))


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ({"expires": 5}, "5"),
        ({"expires": "garbage"}, "'garbage'"),
        ({}, "None"),
        ({"expires": "2026-12-06T03:00:00"}, "'2026-12-06T03:00:00'"),  # no zone
    ],
)
def test_a_malformed_approval_entry_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: dict[str, object], shown: str
) -> None:
    config, package = _project(tmp_path)
    ledger = tmp_path / ".mlgate" / "ledger" / "prod.jsonl"
    assert _approve(config, package) == 0
    recorded = json.loads(ledger.read_bytes().splitlines()[0])["digest"]
    _append(ledger, {"by": "bob", "digest": recorded, "data": data})
    argv = ["deploy", str(package), "--env", "prod", "--config", str(config)]
    assert main(argv) == 1
    assert capsys.readouterr().err == (
        f"mlgate: error: ledger entry 2, an approval by 'bob', has expires = {shown}, not a time "
        "stamp: `mlgate approve` did not write it; restore the ledger from backup\n"
    )


def test_a_relative_signing_key_path_signs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config, package = _project(tmp_path)
    command = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", "keys/alice1"]
    (tmp_path / "keys").mkdir()
    monkeypatch.chdir(tmp_path)
    subprocess.run(command, check=True)
    public = " ".join(Path("keys/alice1.pub").read_text().split()[:2])
    Path("allowed_signers").write_text(f"alice {public}\n")
    assert _approve(config, package, "--sign-with", "keys/alice1") == 0
    assert capsys.readouterr().err == ""
    entry = json.loads((tmp_path / ".mlgate/ledger/prod.jsonl").read_bytes().splitlines()[0])
    assert entry["data"]["signature"].startswith("-----BEGIN SSH SIGNATURE-----\n")
