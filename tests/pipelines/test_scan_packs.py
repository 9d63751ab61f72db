"""The false alarms of issue 9 are gone: pandas objects, lzma joblib files, torch tensors."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest

from mlgate.models import load
from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import build_policy, scan_file

PROBE = Path(__file__).with_name("loader_probe.py")
FRAMES: dict[str, Any] = {
    "frame": pd.DataFrame(
        {
            "a": [1, 2],
            "b": [0.5, 1.5],
            "c": ["x", "y"],
            "d": pd.to_datetime(["2020-01-01", "2021-01-01"]),
            "e": pd.Categorical(["u", "v"]),
            "f": pd.array([1, None], dtype="Int64"),
        },
        index=pd.Index([3, 4], name="k"),
    ),
    "series": pd.Series([1.0, 2.0], index=pd.Index(["a", "b"], name="k")),
    "multi": pd.MultiIndex.from_tuples([(1, "a"), (2, "b")]),
    "dates": pd.date_range("2020-01-01", periods=3, tz="UTC"),
    "periods": pd.period_range("2020-01", periods=2, freq="M"),
    "intervals": pd.interval_range(0, 3),
    "strings": pd.Series(["a", None], dtype="string"),
    "sparse": pd.Series(pd.arrays.SparseArray([0, 0, 1])),
    "scalars": [pd.NaT, pd.NA, pd.Timestamp("2020-01-01"), pd.Timedelta(5), pd.Period("2020-01")],
}


def saved(folder: Path, name: str, value: Any) -> list[Path]:
    paths = []
    for protocol in (2, 5):
        path = folder / f"{name}-{protocol}.pkl"
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        paths.append(path)
    joblib.dump(value, folder / f"{name}.joblib")
    return [*paths, folder / f"{name}.joblib"]


def test_pandas_objects_pass_with_the_pandas_pack_and_load(tmp_path: Path) -> None:
    policy = build_policy(ScanConfig(packs=("pandas",)))
    paths = [path for name, value in FRAMES.items() for path in saved(tmp_path, name, value)]
    assert {path.name: scan_file(path, policy).findings for path in paths} == {
        path.name: () for path in paths
    }
    assert all(scan_file(path, build_policy(ScanConfig())).findings for path in paths)
    frame = load(tmp_path / "frame.joblib", packs=["pandas"])
    pd.testing.assert_frame_equal(frame, FRAMES["frame"])
    pickles = [path for path in paths if path.suffix == ".pkl"]
    command = [sys.executable, str(PROBE), "pandas", "pandas", *map(str, pickles)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=300)
    assert [result["outcome"] for result in json.loads(done.stdout)] == ["loaded"] * len(pickles)


@pytest.mark.parametrize("compress", [("lzma", 3), ("xz", 3), ("zlib", 3), ("bz2", 3)])
def test_compressed_joblib_models_pass(tmp_path: Path, compress: tuple[str, int]) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump({"w": np.arange(10.0), "o": np.array([None, "x"])}, path, compress=compress)
    report = scan_file(path, build_policy(ScanConfig(packs=("numpy",))))
    assert (report.format, report.findings) == (f"joblib+{compress[0]}", ())
