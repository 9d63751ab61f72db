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


# `torch.save` of a storage in its legacy form, as `TypedStorage.__reduce__` pickles it:
# magic number, protocol, system info, the storage's persistent id, its keys, raw bytes.
LEGACY_HEAD = [
    pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2),
    pickle.dumps(1001, protocol=2),
    pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2),
]
STORAGE = (
    b"\x80\x02(X\x07\x00\x00\x00storageq\x00ctorch\nFloatStorage\nq\x01X\x01\x00\x00\x000"
    b"q\x02X\x03\x00\x00\x00cpuq\x03K\x01tq\x04Q."
)
TAIL = pickle.dumps(["0"], protocol=2) + b"\x01" + b"\x00" * 7 + b"\x00\x00\x80?"
EVIL = b"cposix\nsystem\n(S'echo owned'\ntR."


def tensor_pickle(main: bytes) -> bytes:
    """A storage pickled without torch.save: `_load_from_bytes(<legacy torch file>)`."""
    payload = b"".join([*LEGACY_HEAD, main, TAIL])
    head = b"\x80\x02ctorch.storage\n_load_from_bytes\nB"
    return head + len(payload).to_bytes(4, "little") + payload + b"\x85R."


def test_tensors_in_plain_pickles_pass_through_their_scanned_bytes(tmp_path: Path) -> None:
    """Emulated: the legacy bytes are what torch writes; torch itself is not installed."""
    torch = build_policy(ScanConfig(packs=("torch",)))
    path = tmp_path / "tensor.joblib"
    path.write_bytes(tensor_pickle(STORAGE))
    report = scan_file(path, torch, "tensor.joblib")
    assert (report.findings, report.globals) == (
        (),
        ("torch.FloatStorage", "torch.storage._load_from_bytes"),
    )
    data = tensor_pickle(EVIL)
    path.write_bytes(data)
    where = f"tensor.joblib:bytes@{len(data) - 2}"
    offset = len(b"".join(LEGACY_HEAD))
    message = "imports posix.system, which can run code: never allowed"
    assert [
        (f.path, f.offset, f.name, f.message)
        for f in scan_file(path, torch, "tensor.joblib").findings
    ] == [(where, offset, "posix.system", message)]


def test_tensor_bytes_that_are_not_constant_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.pkl"
    path.write_bytes(b"\x80\x02ctorch.storage\n_load_from_bytes\nN\x85R.")
    report = scan_file(path, build_policy(ScanConfig(packs=("torch",))), "t.pkl")
    assert [(f.offset, f.message) for f in report.findings] == [
        (
            36,
            "torch.storage._load_from_bytes on data that is not constant bytes up to 1 MiB: "
            "not checkable",
        )
    ]
