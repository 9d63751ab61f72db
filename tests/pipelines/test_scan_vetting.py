"""`allow` entries are vetted by a property (building the object only sets attributes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate.errors import ConfigError
from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import build_policy, scan_file

CENSUS = Path(__file__).with_name("vetting_census.py")
NOT_A_CLASS = "it is not a class: a pickle can call it with any arguments"


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("joblib.load", NOT_A_CLASS),
        ("numpy.load", NOT_A_CLASS),
        ("pandas.read_pickle", NOT_A_CLASS),
        ("functools.reduce", NOT_A_CLASS),
        ("timeit.timeit", NOT_A_CLASS),
        ("cProfile.run", NOT_A_CLASS),
        ("pdb.run", NOT_A_CLASS),
        ("numpy.testing.runstring", NOT_A_CLASS),
        ("_posixsubprocess.fork_exec", NOT_A_CLASS),
        ("functools.partial", "its instances are callable: they call what a pickle gives them"),
        ("builtins.map", "its instances are iterators: they call what a pickle gives them"),
        ("timeit.Timer", "its __init__ runs code beyond setting attributes"),
        ("http.server.HTTPServer", "its __init__ runs code beyond setting attributes"),
        ("zipfile.ZipFile", "its __init__ runs code beyond setting attributes"),
        ("collections.UserList", "its __init__ runs code beyond setting attributes"),
        ("array.array", "its __new__ is compiled code mlgate cannot read"),
        (
            "torch.load",
            "torch cannot be imported here to check it, and 'load' is not a class name",
        ),
        (
            "torch.storage._load_from_bytes",
            "torch.storage cannot be imported here to check it, "
            "and '_load_from_bytes' is not a class name",
        ),
    ],
)
def test_entries_that_run_code_are_configuration_errors(entry: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_policy(ScanConfig(allow=(entry,)))
    assert str(caught.value) == f"allow entry '{entry}' cannot be allowed: {why}"


@pytest.mark.parametrize(
    "entry",
    ["sklearn.linear_model.LogisticRegression", "sklearn.pipeline.Pipeline", "tarfile.TarInfo"],
)
def test_data_classes_can_be_allowed(entry: str) -> None:
    module, _, name = entry.rpartition(".")
    policy = build_policy(ScanConfig(allow=(entry,)))
    assert (policy.allowlist.rules[-1].module, policy.allowlist.rules[-1].name) == (module, name)


def test_wildcard_matches_are_vetted_when_scanned(tmp_path: Path) -> None:
    path = tmp_path / "m.pkl"
    path.write_bytes(b"\x80\x02ctimeit\nTimer\n)R.")
    report = scan_file(path, build_policy(ScanConfig(allow=("timeit:*",))), "m.pkl")
    assert [(f.offset, f.name, f.message) for f in report.findings] == [
        (
            2,
            "timeit.Timer",
            "imports timeit.Timer, allowed by a wildcard entry but its __init__ runs code "
            "beyond setting attributes",
        )
    ]


def test_every_public_callable_accepted_builds_without_running_code() -> None:
    """Over the stdlib and the packs' libraries: what may be allowed runs nothing when built.

    The census builds every accepted class with strings, numbers and callables and records
    the audit events that mean code ran (exec, compile, import, open, os, subprocess, socket,
    ctypes) or that a callable argument was called. The one event, numpy.matrix's `compile`,
    is `ast.literal_eval` parsing a matrix string ("1 2; 3 4"): no code runs.
    """
    done = subprocess.run(
        [sys.executable, str(CENSUS)], capture_output=True, text=True, check=True, timeout=300
    )
    census = json.loads(done.stdout)
    assert census["events"] == {"numpy.matrix": ["compile"]}
    assert census["refused"] > 10 * len(census["accepted"])
    named = {"functools.partial", "builtins.map", "timeit.Timer", "joblib.load", "numpy.load"}
    assert named.isdisjoint(census["accepted"])
