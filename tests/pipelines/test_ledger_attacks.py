"""The red team's ledger attacks, replayed on real files with real ssh-keygen keys: a forged
`ssh:` signature on an HMAC-signed ledger, a head cut back to look like an interrupted append,
an approver's key signing (and resealing) the ledger, stripped signatures resealed, one
approver counted twice through two keys, and approvals moved onto another digest or copied from
another environment."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from mlgate.cli import main
from mlgate.errors import ConfigError, GateError
from mlgate.pipelines import signing
from mlgate.pipelines.approvals import approval_message
from mlgate.pipelines.environments import release_config
from mlgate.pipelines.ledger import Ledger, Record, append, read_entries, verify_chain
from mlgate.pipelines.package import BuildOptions, build_package, read_package

PACKAGE = """
[tool.mlgate.package]
name = "tiny"
version = "1"
models = ["model.json"]
code = ["serve.py"]
entrypoint = "serve:load"
pythonpath = ["."]
"""
HMAC_LEDGER = """
[tool.mlgate.ledger]
signed = true

[tool.mlgate.environments.prod]
approval = { approvers = ["alice", "bob"], min-approvals = 2 }
"""
SSH_LEDGER = """
[tool.mlgate.ledger]
allowed-signers = "allowed_signers"
ssh-signed = true
writers = ["ci"]

[tool.mlgate.environments.prod]
approval = { approvers = ["alice", "bob"], min-approvals = 2, signed = true }
"""
KEY = "0123456789abcdef" * 4
GENESIS = "sha256:" + "0" * 64


class Project(NamedTuple):
    root: Path
    package: Path
    keys: dict[str, Path]

    def ledger(self) -> Ledger:
        return release_config(self.root / "pyproject.toml", {}).ledger("prod")

    def mlgate(self, *argv: str) -> int:
        return main([*argv, "--env", "prod", "--config", str(self.root / "pyproject.toml")])


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _rechain(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What an attacker with write access does: renumber, relink and rehash every entry."""
    prev, out = GENESIS, []
    for seq, given in enumerate(entries, 1):
        entry = {**given, "seq": seq, "prev": prev, "sig": ""}
        body = {key: value for key, value in entry.items() if key not in ("hash", "sig")}
        entry["hash"] = prev = "sha256:" + hashlib.sha256(_canonical(body)).hexdigest()
        out.append(entry)
    return out


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def _write(path: Path, entries: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(_canonical(entry) + b"\n" for entry in entries))


FIRST = {"at": "2026-12-06T03:00:00.000Z", "by": "ci", "data": {}, "digest": "", "kind": "intent"}


def _unsigned(ledger: Ledger, count: int) -> None:
    """A ledger written before any key: `count` unsigned entries and their unsigned head."""
    entries = _rechain([FIRST] * count)
    _write(ledger.path, entries)
    ledger.head_path.write_bytes(_canonical({"hash": entries[-1]["hash"], "seq": count}))


def _key(folder: Path, name: str) -> Path:
    path = folder / name
    command = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)]
    subprocess.run(command, check=True)
    return path


def _public(key: Path) -> str:
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def _project(root: Path, ledger: str, names: tuple[str, ...]) -> Project:
    (root / "pyproject.toml").write_text(PACKAGE + ledger)
    (root / "model.json").write_text("{}")
    (root / "serve.py").write_text("def load():\n    return lambda x: x\n")
    options = BuildOptions(out_dir=root / "dist", builder="carol", environ={})
    package = build_package(root, options).path
    keys = {name: _key(root, name) for name in names}
    return Project(root, package, keys)


@pytest.fixture
def hmac_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("MLGATE_LEDGER_KEY", KEY)
    for name in ("MLGATE_LEDGER_SSH_KEY", "MLGATE_LEDGER_DIR", "GITHUB_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    return _project(tmp_path, HMAC_LEDGER, ())


@pytest.fixture
def ssh_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    for name in ("MLGATE_LEDGER_KEY", "MLGATE_LEDGER_DIR", "GITHUB_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    project = _project(tmp_path, SSH_LEDGER, ("alice", "alice-laptop", "bob", "ci"))
    keys = project.keys
    lines = [f"{name.partition('-')[0]} {_public(key)}" for name, key in keys.items()]
    (tmp_path / "allowed_signers").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("MLGATE_LEDGER_SSH_KEY", str(keys["ci"]))
    return project


def test_a_fake_ssh_signature_does_not_launder_a_forged_hmac_ledger(
    hmac_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hmac_project.mlgate("approve", str(hmac_project.package), "--by", "alice") == 0
    ledger = hmac_project.ledger()
    alice = _lines(ledger.path)[0]
    # /tmp/rtmark/forge.py: bob's approval copied from alice's, every HMAC stripped, a fake
    # `ssh:` signature on the last entry, an unsigned head one behind (an "interrupted append")
    forged = _rechain([alice, {**alice, "by": "bob"}, alice])
    forged[-1]["sig"] = "ssh:nobody not-a-signature"
    _write(ledger.path, forged)
    ledger.head_path.write_bytes(_canonical({"hash": forged[-2]["hash"], "seq": 2}))
    refusal = (
        f"mlgate: error: {ledger.path}:3: entry carries an SSH signature but no allowed-signers "
        "is configured to check it (forged, or set [tool.mlgate.ledger] allowed-signers and "
        "writers); the ledger was tampered with\n"
    )
    capsys.readouterr()
    assert hmac_project.mlgate("ledger", "verify") == 1
    assert capsys.readouterr().err == refusal
    assert hmac_project.mlgate("deploy", str(hmac_project.package)) == 1
    assert capsys.readouterr().err == refusal


def test_a_head_cut_back_to_an_unsigned_entry_is_not_an_interrupted_append(
    hmac_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    _unsigned(hmac_project.ledger(), 1)  # a ledger that predates the key
    assert hmac_project.mlgate("ledger", "seal") == 0
    assert hmac_project.mlgate("approve", str(hmac_project.package), "--by", "bob") == 0
    ledger = hmac_project.ledger()
    entries = _lines(ledger.path)
    assert [(entry["kind"], bool(entry.get("sig"))) for entry in entries] == [
        ("intent", False),
        ("seal", True),
        ("approval", True),
    ]
    # cut off bob's approval; the head names entry 1, as if the seal's append was interrupted
    _write(ledger.path, entries[:2])
    ledger.head_path.write_bytes(_canonical({"hash": entries[0]["hash"], "seq": 1}))
    capsys.readouterr()
    assert hmac_project.mlgate("ledger", "verify") == 1
    assert capsys.readouterr().err == (
        f"mlgate: error: {ledger.head_path}: the head record's signature is not the ledger "
        "key's; the ledger was tampered with\n"
    )


def _signed_as(key: Path, who: str, message: bytes) -> str:
    return f"ssh:{who}\n" + signing.sign(key, signing.LEDGER, message)


def test_an_approvers_key_cannot_rewrite_the_ssh_signed_ledger(
    ssh_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = ssh_project.ledger()
    # alice, an approver listed in allowed_signers, edits history and signs it all herself
    edited = _rechain([{**FIRST, "data": {"note": "EDITED HISTORY"}}, FIRST])
    alice = ssh_project.keys["alice"]
    for entry in edited:
        entry["sig"] = _signed_as(alice, "alice", entry["hash"].encode())
    _write(ledger.path, edited)
    head = {"hash": edited[-1]["hash"], "seq": 2}
    head["sig"] = _signed_as(alice, "alice", _canonical(head))
    ledger.head_path.write_bytes(_canonical(head))
    capsys.readouterr()
    assert ssh_project.mlgate("ledger", "verify") == 1
    assert capsys.readouterr().err == (
        f"mlgate: error: {ledger.path}:2: entry's SSH signature does not verify against the "
        "allowed signers as a ledger writer (forged, edited, or made by a key that may not sign "
        "the ledger); the ledger was tampered with\n"
    )


def test_an_approvers_key_cannot_reseal_a_stripped_ledger(
    ssh_project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        ssh_project.mlgate(
            "approve",
            str(ssh_project.package),
            "--by",
            "alice",
            "--sign-with",
            str(ssh_project.keys["alice"]),
        )
        == 0
    )
    ledger = ssh_project.ledger()
    # /tmp/rtmark/rewrite.py: edit entry 1, strip every signature, rechain, unsigned head
    entries = _rechain(_lines(ledger.path))
    entries[0]["data"] = {**entries[0]["data"], "note": "EDITED HISTORY"}
    entries = _rechain(entries)
    _write(ledger.path, entries)
    ledger.head_path.write_bytes(_canonical({"hash": entries[-1]["hash"], "seq": 1}))
    monkeypatch.setenv("MLGATE_LEDGER_SSH_KEY", str(ssh_project.keys["alice"]))
    capsys.readouterr()
    assert ssh_project.mlgate("ledger", "seal") == 1
    alice = ssh_project.keys["alice"]
    assert capsys.readouterr().err == (
        f"mlgate: error: {alice} may not sign the ledger (it signs as alice; ledger writers: "
        "ci): give this job a writer's key, listed in allowed_signers under a name in "
        "[tool.mlgate.ledger] writers\n"
    )
    assert ssh_project.mlgate("ledger", "verify") == 1


def test_the_writer_refuses_to_reseal_stripped_signatures(
    ssh_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    package = str(ssh_project.package)
    key = str(ssh_project.keys["alice"])
    assert ssh_project.mlgate("approve", package, "--by", "alice", "--sign-with", key) == 0
    ledger = ssh_project.ledger()
    stripped = [{**entry, "sig": ""} for entry in _lines(ledger.path)]
    _write(ledger.path, stripped)  # the hashes do not cover `sig`: the signed head still fits
    capsys.readouterr()
    assert ssh_project.mlgate("ledger", "seal") == 1
    assert capsys.readouterr().err == (
        f"mlgate: error: {ledger.path}: the head record is signed but entry 1, the last, is "
        "not: signatures were stripped, and sealing would sign edited history; restore the "
        "ledger from its backup or ledger branch\n"
    )


def test_a_stripped_seal_entry_is_never_resealed(
    ssh_project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = ssh_project.ledger()
    _unsigned(ledger, 1)
    assert ssh_project.mlgate("ledger", "seal") == 0
    entries = _rechain([*_lines(ledger.path), {**FIRST, "env": "prod"}])
    _write(ledger.path, entries)
    ledger.head_path.write_bytes(_canonical({"hash": entries[-1]["hash"], "seq": 3}))
    capsys.readouterr()
    assert ssh_project.mlgate("ledger", "seal") == 1
    assert capsys.readouterr().err == (
        f"mlgate: error: {ledger.path}: entry 2, a seal, has lost its signature: signatures "
        "were stripped, and sealing would sign edited history; restore the ledger from its "
        "backup or ledger branch\n"
    )


def test_one_approver_with_two_keys_counts_once(
    ssh_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    package = str(ssh_project.package)
    for key in ("alice", "alice-laptop"):
        signer = str(ssh_project.keys[key])
        assert ssh_project.mlgate("approve", package, "--by", "alice", "--sign-with", signer) == 0
    capsys.readouterr()
    assert ssh_project.mlgate("deploy", package) == 1
    digest = json.loads(_lines(ssh_project.ledger().path)[0]["digest"].join('""'))
    assert capsys.readouterr().err == (
        f"mlgate: error: {digest} is not approved for 'prod': needs 2 approval(s), has 1; "
        "valid: alice; approvers: alice, bob; run "
        f"`mlgate approve {package} --env prod --by NAME`\n"
    )


@pytest.mark.parametrize(
    ("ledger", "message"),
    [
        (
            "ssh-signed = true",
            "[tool.mlgate.ledger]: ssh-signed = true needs writers, the allowed_signers "
            'principals whose keys sign the ledger (e.g. writers = ["ci"]); approvers\' keys '
            "must not sign it",
        ),
        (
            'writers = ["ci", "bob"]',
            "[tool.mlgate.ledger] writers: 'bob' is also an approver of 'prod'; a ledger writer "
            "could then rewrite approvals: give the ledger its own key",
        ),
        (
            'writers = ["ci", "Bob"]',
            "[tool.mlgate.ledger] writers: 'Bob' is also an approver of 'prod'; a ledger writer "
            "could then rewrite approvals: give the ledger its own key",
        ),
    ],
)
def test_ledger_writers_are_named_and_are_not_approvers(
    tmp_path: Path, ledger: str, message: str
) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(
        f'[tool.mlgate.ledger]\nallowed-signers = "s"\n{ledger}\n'
        '[tool.mlgate.environments.prod]\napproval = { approvers = ["alice", "bob"] }\n'
    )
    with pytest.raises(ConfigError) as raised:
        release_config(config, {})
    assert str(raised.value) == message


def _writer(project: Project) -> Ledger:
    """The ledger as a job holding the ledger's key writes it."""
    return release_config(project.root / "pyproject.toml", dict(os.environ)).ledger("prod")


def _rebuilt(project: Project) -> Path:
    """A second package of the same project: other model bytes, so another digest."""
    (project.root / "model.json").write_text('{"changed": true}')
    options = BuildOptions(out_dir=project.root / "dist2", builder="carol", environ={})
    return build_package(project.root, options).path


def test_an_approval_copied_onto_another_digest_is_refused(
    hmac_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    package = str(hmac_project.package)
    for name in ("alice", "bob"):
        assert hmac_project.mlgate("approve", package, "--by", name) == 0
    other = _rebuilt(hmac_project)
    ledger = _writer(hmac_project)
    # /tmp/rt2a/forge.py: each approval re-appended for the other digest, the approved digest
    # kept in its data, where it used to override the one checked
    for entry in read_entries(ledger):
        data = {**entry.data, "digest": entry.digest}
        append(ledger, Record("approval", entry.by, read_package(other).digest, data), entry.at)
    capsys.readouterr()
    assert hmac_project.mlgate("deploy", str(other)) == 1
    assert capsys.readouterr().err == (
        "mlgate: error: ledger entry 3, an approval by 'alice', carries digest in its data: "
        "`mlgate approve` did not write it; restore the ledger from backup\n"
    )


def test_a_staging_approval_copied_into_production_is_refused(
    ssh_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = read_package(ssh_project.package).digest
    ledger = _writer(ssh_project)
    for name in ("alice", "bob"):
        data = {"expires": "2099-01-01T00:00:00.000Z", "note": "", "package": "tiny 1"}
        message = approval_message("staging", name, digest, data)
        signature = signing.sign(ssh_project.keys[name], signing.APPROVAL, message)
        record = Record(
            "approval", name, digest, {**data, "env": "staging", "signature": signature}
        )
        append(ledger, record, "2026-12-06T03:00:00.000Z")
    capsys.readouterr()
    assert ssh_project.mlgate("deploy", str(ssh_project.package)) == 1
    assert capsys.readouterr().err == (
        "mlgate: error: ledger entry 1, an approval by 'alice', carries env in its data: "
        "`mlgate approve` did not write it; restore the ledger from backup\n"
    )


def test_a_staging_signature_never_verifies_for_production(ssh_project: Project) -> None:
    digest = "sha256:" + "1" * 64
    data = {"expires": "2099-01-01T00:00:00.000Z", "env": "staging", "digest": digest}
    assert approval_message("prod", "alice", "sha256:2", data) == _canonical(
        {
            "by": "alice",
            "digest": "sha256:2",
            "env": "prod",
            "expires": "2099-01-01T00:00:00.000Z",
            "note": "",
            "package": "",
        }
    )


PLAIN_LEDGER = """
[tool.mlgate.environments.prod]
approval = { min-approvals = 2 }
"""


@pytest.fixture
def plain_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    for name in ("MLGATE_LEDGER_KEY", "MLGATE_LEDGER_SSH_KEY", "MLGATE_LEDGER_DIR", "GITHUB_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    return _project(tmp_path, PLAIN_LEDGER, ())


def test_the_builder_cannot_approve_under_another_letter_case(
    plain_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    package = str(plain_project.package)
    assert plain_project.mlgate("approve", package, "--by", "Carol") == 1
    assert capsys.readouterr().err == (
        "mlgate: error: cannot approve for 'prod': 'Carol' built this package and may not "
        "approve it (allow-self-approval)\n"
    )


def test_one_login_in_two_letter_cases_counts_once(
    plain_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    package = str(plain_project.package)
    for name in ("alice", "ALICE"):
        assert plain_project.mlgate("approve", package, "--by", name) == 0
    capsys.readouterr()
    assert plain_project.mlgate("deploy", package) == 1
    digest = read_package(plain_project.package).digest
    assert capsys.readouterr().err == (
        f"mlgate: error: {digest} is not approved for 'prod': needs 2 approval(s), has 1; "
        f"valid: ALICE, alice; run `mlgate approve {package} --env prod --by NAME`\n"
    )


def test_an_approval_does_not_outlive_a_shortened_policy(
    plain_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = read_package(plain_project.package).digest
    ledger = plain_project.ledger()
    # recorded long ago under a policy of ten years; the policy now allows one day
    data = {"expires": "2036-01-01T00:00:00.000Z", "note": "", "package": "tiny 1"}
    for name in ("alice", "bob"):
        append(ledger, Record("approval", name, digest, data), "2026-01-01T00:00:00.000Z")
    package = str(plain_project.package)
    capsys.readouterr()
    assert plain_project.mlgate("deploy", package) == 1
    assert capsys.readouterr().err == (
        f"mlgate: error: {digest} is not approved for 'prod': needs 2 approval(s), has 0; "
        f"expired: alice, bob; run `mlgate approve {package} --env prod --by NAME`\n"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("by", ["alice"]), ("at", 5), ("digest", None), ("kind", 1), ("sig", 0)],
)
def test_a_chain_valid_entry_of_the_wrong_types_is_refused_on_one_line(
    plain_project: Project, capsys: pytest.CaptureFixture[str], field: str, value: object
) -> None:
    data = {"expires": "2099-01-01T00:00:00.000Z", "note": "", "package": "tiny 1"}
    approval = {**FIRST, "kind": "approval", "by": "alice", "digest": "sha256:1", "data": data}
    entries = _rechain([FIRST, {**approval, field: value} if field != "sig" else approval])
    entries[1]["sig"] = value if field == "sig" else ""
    ledger = plain_project.ledger()
    _write(ledger.path, entries)
    ledger.head_path.write_bytes(_canonical({"hash": entries[-1]["hash"], "seq": 2}))
    refusal = (
        f"mlgate: error: {ledger.path}:2: malformed ledger entry; restore the ledger from backup\n"
    )
    for command in (("deploy", str(plain_project.package)), ("releases",)):
        assert plain_project.mlgate(*command) == 1
        assert capsys.readouterr().err == refusal


TWO_ENVIRONMENTS = (
    SSH_LEDGER.replace("[tool.mlgate.environments.prod]", "[tool.mlgate.environments.staging]")
    + """
[tool.mlgate.environments.prod]
approval = { approvers = ["alice", "bob"], min-approvals = 2, signed = true }
"""
)


def test_another_environments_signed_ledger_copied_over_is_refused(
    ssh_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ssh_project.root / "pyproject.toml"
    config.write_text(PACKAGE + TWO_ENVIRONMENTS)
    package = str(ssh_project.package)
    for name in ("alice", "bob"):
        signer = str(ssh_project.keys[name])
        argv = ["approve", package, "--by", name, "--sign-with", signer, "--env", "staging"]
        assert main([*argv, "--config", str(config)]) == 0
    folder = ssh_project.ledger().path.parent
    # the red team's swap: staging's signed ledger and head copied over production's
    for suffix in (".jsonl", ".head"):
        shutil.copyfile(folder / f"staging{suffix}", folder / f"prod{suffix}")
    capsys.readouterr()
    refusal = (
        f"mlgate: error: {folder / 'prod.jsonl'}:1: entry belongs to the 'staging' ledger, not "
        "'prod' (copied over it); the ledger was tampered with\n"
    )
    assert ssh_project.mlgate("ledger", "verify") == 1
    assert capsys.readouterr().err == refusal
    assert ssh_project.mlgate("deploy", package) == 1
    assert capsys.readouterr().err == refusal


def test_a_head_naming_another_ledger_is_refused(plain_project: Project) -> None:
    ledger = plain_project.ledger()
    append(ledger, Record("intent", "ci", "", {}), "2026-12-06T03:00:00.000Z")
    head = json.loads(ledger.head_path.read_bytes())
    ledger.head_path.write_bytes(_canonical({**head, "env": "staging"}))
    with pytest.raises(GateError) as err:
        verify_chain(ledger)
    assert str(err.value) == (
        f"{ledger.head_path}: the head record names the 'staging' ledger, not 'prod'; the "
        "ledger was tampered with (copied from another environment?)"
    )


def test_entries_from_before_ledgers_named_themselves_verify_only_before_named_ones(
    plain_project: Project,
) -> None:
    ledger = plain_project.ledger()
    _unsigned(ledger, 2)  # written before entries carried their ledger's name
    append(ledger, Record("intent", "ci", "", {}), "2026-12-06T03:00:00.000Z")
    assert [entry.env for entry in verify_chain(ledger).entries] == ["", "", "prod"]
    entries = _rechain([*_lines(ledger.path), FIRST])
    _write(ledger.path, entries)
    ledger.head_path.write_bytes(_canonical({"hash": entries[-1]["hash"], "seq": 4}))
    with pytest.raises(GateError) as err:
        verify_chain(ledger)
    assert str(err.value) == (
        f"{ledger.path}:4: entry without its ledger's name after named ones; the ledger was "
        "tampered with"
    )


def test_an_approval_without_a_readable_time_cannot_escape_the_policy(
    plain_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = read_package(plain_project.package).digest
    data = {"expires": "2036-01-01T00:00:00.000Z", "note": "", "package": "tiny 1"}
    append(plain_project.ledger(), Record("approval", "alice", digest, data), "yesterday")
    capsys.readouterr()
    assert plain_project.mlgate("deploy", str(plain_project.package)) == 1
    assert capsys.readouterr().err == (
        "mlgate: error: ledger entry 1, an approval by 'alice', has at = 'yesterday', not a time "
        "stamp: `mlgate approve` did not write it; restore the ledger from backup\n"
    )
