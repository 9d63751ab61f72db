"""Approvals bound to a digest, judged against the environment's policy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mlgate.errors import GateError
from mlgate.pipelines.approvals import Approval, Request, approve, is_builder, missing
from mlgate.pipelines.environments import ApprovalPolicy, Environment, LocalSettings, VerifyPolicy

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(hours=1)
EARLIER = NOW - timedelta(seconds=1)


def _env(**policy: object) -> Environment:
    return Environment("prod", ApprovalPolicy(**policy), VerifyPolicy(), LocalSettings(Path("/s")))  # type: ignore[arg-type]


def test_approve_records_expiry_and_note() -> None:
    record = approve(
        _env(expires=60.0), Request("alice", "sha256:1", "carol", "iris 1", "CHG-1"), NOW, None
    )
    assert record.kind == "approval"
    assert (record.by, record.digest) == ("alice", "sha256:1")
    assert record.data == {
        "expires": "2026-11-27T10:01:00.000Z",
        "note": "CHG-1",
        "package": "iris 1",
    }
    record = approve(_env(), Request("alice", "sha256:1", "", "", ""), NOW, 1.5)
    assert record.data["expires"] == "2026-11-27T10:00:01.500Z"


def test_self_approval() -> None:
    request = Request("carol", "sha256:1", "carol@build-host", "iris 1", "")
    with pytest.raises(GateError, match="'carol' built this package and may not approve it"):
        approve(_env(), request, NOW, None)
    assert approve(_env(allow_self_approval=True), request, NOW, None).by == "carol"
    assert not is_builder("carol", "")


def test_missing_counts_distinct_valid_approvers() -> None:
    env = _env(approvers=("alice", "bob", "carol"), min_approvals=2)
    approvals = [
        Approval("alice", "sha256:1", LATER),
        Approval("alice", "sha256:1", LATER),
        Approval("bob", "sha256:1", EARLIER),
        Approval("carol", "sha256:1", LATER),
        Approval("mallory", "sha256:1", LATER),
    ]
    assert missing(env, approvals, "carol", NOW) == (
        "needs 2 approval(s), has 1; valid: alice; expired: bob; approvers: alice, bob, carol"
    )
    assert missing(env, approvals, "dave", NOW) == ""
    assert missing(_env(required=False), [], "", NOW) == ""
    assert missing(_env(), [], "", NOW) == "needs 1 approval(s), has 0"
