"""Container edge cases: .npy headers numpy would refuse or read as plain data, zip records."""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from pathlib import Path

import pytest

from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import FileReport, build_policy, scan_file


def scan(path: Path) -> FileReport:
    return scan_file(path, build_policy(ScanConfig(packs=("numpy",))), path.name)


def npy(header: bytes, version: bytes = b"\x01\x00", size: str = "<H") -> bytes:
    return b"\x93NUMPY" + version + struct.pack(size, len(header)) + header


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (npy(b"{}", b"\x09\x00"), "not a numpy header of version 1.0, 2.0 or 3.0"),
        (b"\x93NUMPY\x01\x00\x05", "not enough data"),
        (b"\x93NUMPY\x02\x00" + struct.pack("<I", 2 << 20), "header longer than 1 MiB"),
        (npy(b"{'descr': f8}"), "the header is not a Python literal: malformed node"),
        (npy(b"['descr']"), "the header is not a dict with a descr"),
    ],
)
def test_npy_headers_numpy_refuses(tmp_path: Path, data: bytes, why: str) -> None:
    path = tmp_path / "a.npy"
    path.write_bytes(data)
    [finding] = scan(path).findings
    assert (finding.offset, finding.message.split(" or string")[0]) == (
        0,
        f"unreadable .npy header: {why}",
    )


@pytest.mark.parametrize(
    ("descr", "plain"),
    [
        ("[('a', '<f8'), ('b', '<i4', (2,))]", True),
        ("[(('title', 'a'), '<U3')]", True),
        ("'<M8[ns]'", True),
        ("[('a', ('<f8', (2,)))]", False),
        ("[('a',)]", False),
        ("[]", False),
        ("3", False),
    ],
)
def test_npy_dtypes_that_hold_plain_data(tmp_path: Path, descr: str, plain: bool) -> None:
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': (1,)}}\n".encode()
    path = tmp_path / "a.npy"
    path.write_bytes(npy(header) + b"\x00" * 32)
    findings = [(f.offset, f.message) for f in scan(path).findings]
    offset = len(npy(header))
    expected = (
        [] if plain else [(offset, "not a valid pickle: at position 0, opcode b'\\x00' unknown")]
    )
    assert [(o, m.replace(f"position {offset}", "position 0")) for o, m in findings] == expected


class Unseekable(io.RawIOBase):
    """A write-only stream: zipfile then writes data descriptors after each member."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> int:  # type: ignore[override]
        self.data += chunk
        return len(chunk)


def streamed_zip(members: dict[str, bytes]) -> bytes:
    out = Unseekable()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            with archive.open(name, "w") as member:
                member.write(data)
    return bytes(out.data)


def test_zip_members_with_data_descriptors(tmp_path: Path) -> None:
    data = streamed_zip({"a/data.pkl": pickle.dumps([1, 2]), "a/version": b"3\n"})
    path = tmp_path / "streamed.pt"
    path.write_bytes(data)
    assert scan(path).findings == ()
    descriptor = data.index(b"PK\x07\x08")
    path.write_bytes(data[: descriptor + 4] + b"\x00\x00\x00\x00" + data[descriptor + 8 :])
    assert [f.message for f in scan(path).findings] == [
        "zip archive not as its writers write it: member 'a/data.pkl': its data descriptor "
        "disagrees with the directory"
    ]


def test_zip_member_that_does_not_follow_the_previous_one(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a/data.pkl", pickle.dumps(1))
    data = buffer.getvalue()
    directory = data.rfind(b"PK\x01\x02")
    gap = data[:directory] + b"hidden" + data[directory:]
    end = gap.rfind(b"PK\x05\x06")
    offset = struct.unpack_from("<I", gap, end + 16)[0] + 6
    path = tmp_path / "gap.pt"
    path.write_bytes(gap[: end + 16] + struct.pack("<I", offset) + gap[end + 20 :])
    assert [f.message for f in scan(path).findings] == [
        "zip archive not as its writers write it: bytes between the last member and the "
        "central directory"
    ]
