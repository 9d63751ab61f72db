"""The search for pickles embedded in data: linear cost, and no false alarm on a normal project.

Every probe is charged to the file's opcode budget and deadline and to a cap for all probes;
none copies the data it reads. Text is searched for binary protocol headers only.
"""

from __future__ import annotations

import json
import pickle
import struct
import time
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from test_scan_bypasses import EVIL_PICKLE, found, scan, write
from test_scan_resources import run_scan

from mlgate.cli import main
from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import build_policy, scan_paths

TOO_MANY = "too many pickle-like bytes in data to search them all: not checkable"


def test_protocol_headers_everywhere_cost_linear_time(tmp_path: Path) -> None:
    """8 KB of `\\x80\\x02` pairs took 38 s: every probe read to the end of the data."""
    small = write(tmp_path, "s.dat", b"\x00" + b"\x80\x02" * 4000)
    started = time.monotonic()
    assert found(scan(small)) == [("s.dat", 0, None, TOO_MANY)]
    assert time.monotonic() - started < 10  # 38 s before
    big = write(tmp_path, "big.dat", b"\x00" + b"\x80\x02" * (4 << 20))
    code, out, err, rss = run_scan(big)
    assert (code, out.splitlines()[0], err) == (1, f"{big}: byte 0: {TOO_MANY}", "")
    assert 0 < rss < 400_000


def test_an_embedded_import_is_still_found(tmp_path: Path) -> None:
    data = b"\x00" * 100 + b"\x80\x02" + EVIL_PICKLE + b"\x00" * 100
    path = write(tmp_path, "e.dat", data)
    message = "pickle-like bytes at byte 100 would import posix.system: not a known format"
    assert found(scan(path)) == [("e.dat", 100, None, message)]


def project(root: Path) -> Path:
    """A small ML project as it is committed (and packed): code, data, a model, weights."""
    root.mkdir(exist_ok=True)
    package = root / "src" / "churn"
    package.mkdir(parents=True)
    (package / "__init__.py").write_bytes(b"")
    (package / "train.py").write_text(
        "import collections\nimport os\n\n\ndef train(path):\n    return os.path.exists(path)\n"
    )
    (root / "README.md").write_text("# churn\n\ncat\ndog\n\nTrain with `python -m churn`.\n")
    (root / "data.csv").write_text("animal\ncat\ndog\ncow\nsheep\n")
    (root / "config.json").write_text(json.dumps({"c": 1, "layers": [3, 4]}, indent=1))
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (root / "w.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    joblib.dump(model, root / "model.joblib")
    (root / "scores.pkl").write_bytes(pickle.dumps({"auc": 0.9}))
    return root


def test_a_normal_project_has_no_findings(tmp_path: Path) -> None:
    policy = build_policy(ScanConfig(packs=("numpy", "sklearn")))
    reports = scan_paths([project(tmp_path)], policy)
    assert len(reports) == 8
    assert [(report.path, report.findings) for report in reports if report.findings] == []


def test_a_built_package_with_an_empty_init_scans_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`package scan` of a .mlpkg reads its code files too: an empty `__init__.py` is data."""
    root = project(tmp_path / "proj")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "churn"\nversion = "1.0.0"\n\n[tool.mlgate.package]\n'
        'models = ["model.joblib"]\ncode = ["src/churn/__init__.py", "src/churn/train.py"]\n'
        'entrypoint = "churn.train:train"\n\n[tool.mlgate.scan]\npacks = ["sklearn"]\n'
    )
    config = str(root / "pyproject.toml")
    assert main(["package", "build", "--config", config, "--out", str(tmp_path)]) == 0
    package = capsys.readouterr().out.split()[0]
    assert main(["package", "scan", package, "--config", config]) == 0
    assert capsys.readouterr().out == "scanned 4 file(s): no findings\n"
