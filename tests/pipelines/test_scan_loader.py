"""`mlgate.models.load`: the scanner's policy enforced again while unpickling."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from mlgate.errors import UsageError
from mlgate.models import UnsafeModelError, load, restricted_loads
from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import build_policy

EVIL = b"cposix\nsystem\n(S'echo owned'\ntR."
DATA = Path(__file__).parent / "data"


def fitted() -> LogisticRegression:
    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])


@pytest.mark.parametrize("compress", [0, 3, ("lzma", 3), ("xz", 3), ("bz2", 3), ("zlib", 3)])
def test_joblib_models_load_and_predict(tmp_path: Path, compress: object) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump({"model": fitted(), "mean": np.arange(3.0)}, path, compress=compress)
    loaded = load(path, packs=["sklearn"])
    assert loaded["model"].predict([[0.0], [3.0]]).tolist() == [0, 1]
    assert loaded["mean"].tolist() == [0.0, 1.0, 2.0]


def test_plain_pickles_load(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(fitted(), protocol=5))
    assert load(path, packs=["sklearn"]).predict([[3.0]]).tolist() == [1]


def test_a_file_the_scanner_refuses_is_never_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "weights.h5"
    path.write_bytes(EVIL)
    with pytest.raises(UnsafeModelError) as caught:
        load(path)
    assert str(caught.value) == (
        f"refused to load {path}: byte 0: imports posix.system, which can run code: never allowed"
    )


def test_find_class_refuses_what_the_policy_refuses() -> None:
    """The second line: the unpickler itself refuses, whatever the scan said."""
    policy = build_policy(ScanConfig(packs=("numpy",)))
    with pytest.raises(UnsafeModelError) as caught:
        restricted_loads(io.BytesIO(EVIL), policy)
    assert str(caught.value) == (
        "refused while loading: imports posix.system, which can run code: never allowed"
    )
    sklearn = pickle.dumps(fitted())
    with pytest.raises(
        UnsafeModelError, match=r"sklearn\.linear_model\._logistic\.LogisticRegression"
    ):
        restricted_loads(io.BytesIO(sklearn), policy)


def test_numpy_files_load_as_numpy_loads_them(tmp_path: Path) -> None:
    plain, objects = tmp_path / "a.npy", tmp_path / "o.npy"
    np.save(plain, np.arange(6).reshape(2, 3))
    np.save(objects, np.array([{"a": 1}, [2]], dtype=object), allow_pickle=True)
    assert load(plain).tolist() == [[0, 1, 2], [3, 4, 5]]
    assert load(objects, packs=["numpy"]).tolist() == [{"a": 1}, [2]]
    archive = tmp_path / "b.npz"
    np.savez(archive, x=np.arange(2), y=np.array(["s"], dtype=object))
    with zipfile.ZipFile(archive, "a") as extra:
        extra.writestr("notes", b"raw bytes")
    loaded = load(archive, packs=["numpy"])
    assert (loaded["x"].tolist(), loaded["y"].tolist(), loaded["notes"]) == (
        [0, 1],
        ["s"],
        b"raw bytes",
    )


def test_formats_without_pickles_and_torch_without_torch(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(UsageError) as caught:
        load(text)
    assert str(caught.value) == (
        f"{text}: a text file holds no pickle: load it with its own library"
    )
    with pytest.raises(UsageError, match="a PyTorch file needs torch installed to load it"):
        load(DATA / "torch_state_dict.pt", packs=["torch"])
