"""The bypass classes of issue 9, each built byte by byte and checked against the real loader.

Every crafted file runs `posix.system` (harmless here: the probe refuses it) when a real loader
reads it; the scanner must refuse it, and the probe (tests/pipelines/loader_probe.py, the real
loader in a subprocess) shows the loader would indeed have resolved that global.
PyTorch is not installed: its reading rules (zip lookup, legacy streams, tar) are emulated from
its source, and those files are checked against the scanner only.
"""

from __future__ import annotations

import gzip
import io
import json
import lzma
import pickle
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from joblib.numpy_pickle import NumpyArrayWrapper

from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import FileReport, build_policy, scan_file, scan_paths

PROBE = Path(__file__).with_name("loader_probe.py")
#: `posix.system("echo owned")` in protocol 0 opcodes: valid inside any pickle stream.
EVIL = b"cposix\nsystem\n(S'echo owned'\ntR"
EVIL_PICKLE = EVIL + b"."


def real_load(kind: str, paths: Sequence[Path], packs: str = "numpy") -> list[dict[str, Any]]:
    """What the real loader resolves for each file (run in a subprocess; nothing unsafe runs)."""
    command = [sys.executable, str(PROBE), kind, packs, *map(str, paths)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=300)
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def scan(path: Path, packs: tuple[str, ...] = ("numpy",)) -> FileReport:
    return scan_file(path, build_policy(ScanConfig(packs=packs)), path.name)


def found(report: FileReport) -> list[tuple[str, int, str | None, str]]:
    return [(f.path, f.offset, f.name, f.message) for f in report.findings]


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def refused_system(path: str, offset: int) -> tuple[str, int, str, str]:
    message = "imports posix.system, which can run code: never allowed"
    return (path, offset, "posix.system", message)


def wrapper_bytes(alignment: int | None, count: int, protocol: int = 2) -> bytes:
    """A pickled NumpyArrayWrapper of `count` uint8 values, up to and including its BUILD."""
    made = NumpyArrayWrapper(np.ndarray, (count,), "C", np.dtype("u1"))
    if alignment is None:
        del made.numpy_array_alignment_bytes
    else:
        made.numpy_array_alignment_bytes = alignment
    pickled = pickle.dumps(made, protocol=protocol)
    assert pickled.endswith(b"b.")
    return pickled[:-1]


# 1. Reader differentials in joblib files


def test_alignment_zero_still_reads_a_padding_byte(tmp_path: Path) -> None:
    """joblib reads a padding byte whenever the attribute exists: 0 included."""
    head = wrapper_bytes(0, 4)
    # joblib: padding length 16, 16 bytes skipped, 4 array bytes, then EVIL runs
    data = head + b"\x10" + b"\xff" * 16 + b"\x01\x02\x03\x04" + b"0" + EVIL_PICKLE
    path = write(tmp_path, "aligned0.joblib", data)
    message = f"joblib array at {len(head) - 1} has no valid padding length"
    evil_at = len(head) + 1 + 16 + 4 + 1
    assert found(scan(path)) == [
        ("aligned0.joblib", len(head) - 1, None, message),
        refused_system("aligned0.joblib", evil_at),
    ]
    assert real_load("joblib", [path])[0]["refused"] == ["posix.system"]


def test_array_read_from_after_a_frame_is_refused(tmp_path: Path) -> None:
    """joblib reads array bytes from the file while the opcodes come from inside a FRAME."""
    body = wrapper_bytes(16, 4, protocol=4)[11:]  # PROTO and FRAME dropped: we frame it
    frame = body + b"0" + EVIL_PICKLE
    array = b"\x01\xff" + b"\x01\x02\x03\x04"
    data = b"\x80\x04\x95" + struct.pack("<Q", len(frame)) + frame + array
    path = write(tmp_path, "framed.joblib", data)
    build = 11 + len(body) - 1
    message = f"malformed pickle: joblib array at {build}: the wrapper ends inside a FRAME"
    assert found(scan(path)) == [
        ("framed.joblib", build, None, message),
        refused_system("framed.joblib", build + 2),  # what pickle.load reads after BUILD, POP
    ]
    assert real_load("joblib", [path])[0]["refused"] == ["posix.system"]


def test_wrapper_built_by_its_constructor_is_refused(tmp_path: Path) -> None:
    """REDUCE(NumpyArrayWrapper, args) runs `__init__`: attributes the state does not show."""
    data = (
        b"\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n(cnumpy\nndarray\n(K\x04tS'C'\n"
        b"cnumpy\ndtype\n(S'u1'\nI00\nI01\ntRtR}b"
    )
    path = write(tmp_path, "called.joblib", data + b"\x01\xff\x00\x00\x00\x00.")
    message = f"malformed pickle: joblib array at {len(data) - 1}: the wrapper is built by a call"
    assert found(scan(path)) == [("called.joblib", len(data) - 1, None, message)]


# 2. Files chosen by name


@pytest.mark.parametrize("name", ["weights.h5", "model.safetensors", "model", "config.json"])
def test_protocol_0_pickles_are_found_whatever_the_name(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, EVIL_PICKLE)
    report = scan(path)
    assert (report.format, found(report)) == ("pickle", [refused_system(name, 0)])
    assert real_load("pickle", [path])[0]["refused"] == ["posix.system"]


@pytest.mark.parametrize(
    ("name", "compress", "kind"),
    [
        ("m.z", "zlib", "zlib"),
        ("m.lzma", "lzma", "lzma"),
        ("m.xz", "xz", "xz"),
        ("m", "gzip", "gzip"),
    ],
)
def test_joblib_compressed_files_are_read_by_magic(
    tmp_path: Path, name: str, compress: str, kind: str
) -> None:
    path = tmp_path / name
    joblib.dump({"ok": 1}, path, compress=(compress, 3))
    raw = gzip.decompress(path.read_bytes()) if compress == "gzip" else None
    assert raw is None or raw.startswith(b"\x80")
    packed = {
        "zlib": zlib.compress,
        "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
        "xz": lzma.compress,
        "gzip": gzip.compress,
    }[compress](EVIL_PICKLE)
    evil = write(tmp_path, f"evil-{name}", packed)
    report = scan(evil)
    assert (report.format, found(report)) == (f"pickle+{kind}", [refused_system(evil.name, 0)])
    assert real_load("joblib", [evil])[0]["refused"] == ["posix.system"]
    assert scan(path).findings == ()


def test_legacy_torch_tar_members_are_read(tmp_path: Path) -> None:
    """PyTorch's oldest format: a tar of `storages`, `tensors` and `pickle` (emulated)."""
    path = tmp_path / "old.pt"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        for member, data in (("storages", pickle.dumps(0)), ("pickle", EVIL_PICKLE)):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    report = scan(path)
    assert report.format == "tar"
    assert found(report) == [refused_system("old.pt:pickle", 0)]


def test_folder_and_package_scans_read_every_file(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    write(tmp_path / "m", "weights.h5", EVIL_PICKLE)
    write(tmp_path / "m", "notes.txt", b"plain text\n")
    reports = scan_paths([tmp_path / "m"], build_policy(ScanConfig()))
    assert [(Path(r.path).name, r.format, len(r.findings)) for r in reports] == [
        ("notes.txt", "text", 0),
        ("weights.h5", "pickle", 1),
    ]


# 3. Container entries the loaders open


@pytest.mark.parametrize("descr", ["object", "object_", "T", "|O8", "O,i4", "(2,)O", "=O"])
def test_npy_object_dtype_spellings(tmp_path: Path, descr: str) -> None:
    header = repr({"descr": descr, "fortran_order": False, "shape": (1,)}).encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
    path = write(tmp_path, "a.npy", data + EVIL_PICKLE)
    assert found(scan(path)) == [refused_system("a.npy", len(data))]
    if descr in ("object", "object_", "T"):
        assert real_load("numpy", [path])[0]["refused"] == ["posix.system"]


def npy_with(payload: bytes) -> bytes:
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def test_npz_members_without_the_npy_suffix(tmp_path: Path) -> None:
    path = tmp_path / "arrays.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weights.npy", np.arange(3).tobytes())
        archive.writestr("evil", npy_with(EVIL_PICKLE))
    offset = len(npy_with(b""))
    assert found(scan(path)) == [refused_system("arrays.npz:evil", offset)]
    assert real_load("numpy", [path])[0]["refused"] == ["posix.system"]


def test_torch_member_names_match_in_any_case(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.PKL", EVIL_PICKLE)
        archive.writestr("archive/version", "3\n")
    report = scan(path, ("torch",))
    assert (report.format, found(report)) == (
        "pytorch",
        [refused_system("model.pt:archive/data.PKL", 0)],
    )


def plain_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_refusal(name: str, why: str) -> list[tuple[str, int, None, str]]:
    return [(name, 0, None, f"zip archive not as its writers write it: {why}")]


def test_zip_with_two_central_directories(tmp_path: Path) -> None:
    good = plain_zip({"archive/data.pkl": pickle.dumps(1)})
    evil = plain_zip({"archive/data.pkl": EVIL_PICKLE})
    path = write(tmp_path, "two.pt", good + evil)
    why = "the archive has more than one end-of-central-directory record"
    # refused, and the members Python's zipfile (numpy) sees are scanned as well
    assert found(scan(path)) == [
        *zip_refusal("two.pt", why),
        refused_system("two.pt:archive/data.pkl", 0),
    ]


@pytest.mark.parametrize(
    ("members", "why"),
    [
        (
            {"a/data.pkl": pickle.dumps(1), "a/DATA.pkl": pickle.dumps(2)},
            "two members are named 'a/DATA.pkl' (ignoring case)",
        ),
    ],
)
def test_zip_names_that_collide(tmp_path: Path, members: dict[str, bytes], why: str) -> None:
    path = write(tmp_path, "dup.pt", plain_zip(members))
    assert found(scan(path)) == zip_refusal("dup.pt", why)


def test_zip_duplicate_names(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a/data.pkl", pickle.dumps(1))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("a/data.pkl", EVIL_PICKLE)
    path = write(tmp_path, "dup.pt", buffer.getvalue())
    why = "two members are named 'a/data.pkl' (ignoring case)"
    assert found(scan(path)) == [
        *zip_refusal("dup.pt", why),
        refused_system("dup.pt:a/data.pkl", 0),
    ]


def patched(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new) :]


def test_zip_local_header_that_disagrees(tmp_path: Path) -> None:
    data = plain_zip({"a/data.pkl": pickle.dumps(1)})
    path = write(tmp_path, "local.pt", patched(data, 30, b"b"))  # the local name: b/data.pkl
    why = "member 'a/data.pkl': local header and central directory disagree"
    unreadable = (
        "the members cannot all be read: File name in directory 'a/data.pkl' and header "
        "b'b/data.pkl' differ."
    )
    assert found(scan(path)) == [*zip_refusal("local.pt", why), ("local.pt", 0, None, unreadable)]


def test_zip_encrypted_or_unknown_compression(tmp_path: Path) -> None:
    data = plain_zip({"a/data.pkl": pickle.dumps(1)})
    directory = data.rfind(b"PK\x01\x02")
    encrypted = patched(patched(data, 6, b"\x01"), directory + 8, b"\x01")
    why = "member 'a/data.pkl' is encrypted"
    first = found(scan(write(tmp_path, "enc.pt", encrypted)))
    assert first[:1] == zip_refusal("enc.pt", why)
    assert [item[3].split(": File")[0] for item in first[1:]] == ["the members cannot all be read"]
    bzipped = patched(patched(data, 8, b"\x0c"), directory + 10, b"\x0c")
    why = "member 'a/data.pkl' uses compression method 12"
    second = found(scan(write(tmp_path, "bz.pt", bzipped)))
    assert second[:1] == zip_refusal("bz.pt", why)
    assert [item[3].split(": ")[0] for item in second[1:]] == ["the members cannot all be read"]


def test_zip_trailing_data(tmp_path: Path) -> None:
    path = write(tmp_path, "tail.pt", plain_zip({"a/data.pkl": pickle.dumps(1)}) + b"x")
    why = "the archive has a comment or trailing data after its end record"
    assert found(scan(path)) == zip_refusal("tail.pt", why)


def test_legacy_torch_pickles_after_the_fifth(tmp_path: Path) -> None:
    streams = [pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2), pickle.dumps(1001, protocol=2)]
    streams += [pickle.dumps({}), pickle.dumps({}), pickle.dumps([], protocol=2)]
    head = b"".join(streams) + b"\x00" * 8
    path = write(tmp_path, "legacy.pt", head + EVIL_PICKLE)
    message = f"pickle-like bytes at byte {len(head)} would import posix.system: not a known format"
    assert found(scan(path)) == [("legacy.pt", len(head), None, message)]


# 4. Mode confusion


def test_joblib_wrapper_read_as_a_plain_pickle(tmp_path: Path) -> None:
    """joblib steps over the array bytes; `pickle.load` runs them."""
    payload = EVIL + b"0"
    head = wrapper_bytes(None, len(payload))
    path = write(tmp_path, "model.pkl", head + payload + b".")
    report = scan(path)
    assert (report.format, found(report)) == ("joblib", [refused_system("model.pkl", len(head))])
    assert real_load("pickle", [path])[0]["refused"] == ["posix.system"]
    assert real_load("joblib", [path])[0]["outcome"] == "loaded"


def test_an_import_cut_by_the_end_of_the_file(tmp_path: Path) -> None:
    """Found by the differential test: the unpicklers import a cut name (the last byte dropped)."""
    path = write(tmp_path, "notes", b"cantigravityX")
    message = (
        "imports antigravity., which is not on the allowlist "
        "(add it to [tool.mlgate.scan] allow if trusted)"
    )
    assert found(scan(path)) == [
        ("notes", 13, None, "truncated pickle: the data ends before the STOP opcode"),
        ("notes", 0, "antigravity.", message),
    ]
    assert real_load("joblib", [path])[0]["refused"] == ["antigravity."]
