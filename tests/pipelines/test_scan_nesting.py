"""Containers inside containers: decompressed data identified again, depth, tar member counts.

pandas reads `model.tar.gz` as a tar inside gzip; PyTorch's legacy tar reads `storages` with
`pickle.load`; nested archives cost bounded time and memory and end in a finding.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from test_scan_bypasses import EVIL_PICKLE, found, real_load, refused_system, scan, write
from test_scan_resources import run_scan

from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import build_policy, scan_file
from mlgate.pipelines.scan.formats import MAX_DEPTH, MAX_TAR_MEMBERS, Limits, Section, read_stream
from mlgate.pipelines.scan.opcodes import Problem

INT_0X = b"I0x1\n0" + EVIL_PICKLE  # a pickle pickletools could not read


def tar_of(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gz": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
}


@pytest.mark.parametrize("codec", ["gz", "bz2", "xz"])
def test_compressed_tar_read_by_pandas(tmp_path: Path, codec: str) -> None:
    path = write(tmp_path, f"model.tar.{codec}", COMPRESS[codec](tar_of([("m.pkl", INT_0X)])))
    assert found(scan(path)) == [refused_system(f"{path.name}:m.pkl", 6)]
    assert real_load("pandas", [path])[0]["refused"] == ["posix.system"]


@pytest.mark.parametrize("name", ["model.pkl.gz", "model.joblib"])
def test_compressed_pickle_with_a_base_0_int(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, gzip.compress(INT_0X))
    assert found(scan(path)) == [refused_system(name, 6)]
    loaders = ("pandas",) if name.endswith(".gz") else ("joblib",)
    assert real_load(loaders[0], [path])[0]["refused"] == ["posix.system"]


def test_legacy_torch_storages_member_with_a_base_0_int(tmp_path: Path) -> None:
    """torch's legacy_load: `tar.extract("storages")`, then `pickle_module.load(f)`."""
    members = [("sys_info", b"\x80\x02}q\x00."), ("storages", INT_0X), ("pickle", b"N.")]
    path = write(tmp_path, "old.pt", tar_of(members))
    assert found(scan(path)) == [refused_system("old.pt:storages", 6)]


def test_zstandard_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "model.pkl.zst", b"\x28\xb5\x2f\xfd" + b"\x00" * 20)
    message = "zstandard compression cannot be checked: save without it"
    assert found(scan(path)) == [("model.pkl.zst", 0, None, message)]


def test_every_tar_member_is_read_or_too_many_is_a_finding(tmp_path: Path) -> None:
    pads = [(f"pad{i}", b"") for i in range(MAX_TAR_MEMBERS)]
    path = write(tmp_path, "old.pt", tar_of([*pads, ("storages", EVIL_PICKLE)]))
    message = f"a tar archive of more than {MAX_TAR_MEMBERS} members: not all read"
    assert found(scan(path)) == [("old.pt:storages", 0, None, message)]
    small = write(tmp_path, "small.pt", tar_of([*pads[:-1], ("storages", EVIL_PICKLE)]))
    assert found(scan(small)) == [refused_system("small.pt:storages", 0)]


def nested(levels: int, inner: bytes) -> bytes:
    data = inner
    for level in range(levels):
        data = tar_of([(f"l{level}", data)])
    return data


def test_nesting_deeper_than_the_limit_is_a_finding(tmp_path: Path) -> None:
    ok = write(tmp_path, "ok.tar", nested(MAX_DEPTH, EVIL_PICKLE))
    inner = ":".join(f"l{level}" for level in reversed(range(MAX_DEPTH)))
    assert found(scan(ok)) == [refused_system(f"ok.tar:{inner}", 0)]
    deep = write(tmp_path, "deep.tar", nested(MAX_DEPTH + 1, EVIL_PICKLE))
    message = f"containers nested more than {MAX_DEPTH} deep: not read"
    outer = ":".join(f"l{level}" for level in reversed(range(1, MAX_DEPTH + 1)))
    assert found(scan(deep)) == [(f"deep.tar:{outer}", 0, None, message)]


def test_hundreds_of_nested_tars_cost_little(tmp_path: Path) -> None:
    """400 levels (a RecursionError once); 250 levels over 6 MB of zeros (1.88 GB once)."""
    for name, data in (("deep.tar", nested(400, b"x")), ("mem.tar", nested(250, bytes(6 << 20)))):
        path = write(tmp_path, name, gzip.compress(data) if name == "mem.tar" else data)
        code, out, err, rss = run_scan(path)
        assert (code, err) == (1, ""), out
        assert f"containers nested more than {MAX_DEPTH} deep: not read" in out
        assert 0 < rss < 400_000


class _Exhausting(io.BytesIO):
    """A file whose reading runs out of stack or memory (as hostile nesting could)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(b"\x80\x02N.")
        self.error = error

    def read(self, size: int | None = -1) -> bytes:
        raise self.error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (RecursionError(), "nested too deeply to read: not checkable"),
        (MemoryError(), "needs more memory than there is to read: not checkable"),
    ],
)
def test_recursion_and_memory_errors_are_findings(error: BaseException, message: str) -> None:
    limits = Limits(1 << 20, 1000)
    kind, sections = read_stream(_Exhausting(error), 4, "m.pkl", limits)
    assert (kind, sections) == ("unknown", [Section(None, [], [Problem(0, message)])])


def test_nested_copies_share_max_bytes(tmp_path: Path) -> None:
    """The decompressed tar (10,240 bytes) and the array inside it (8,128) are each under
    max-bytes; the two copies together are not."""
    array = io.BytesIO()
    np.save(array, np.zeros(1000))
    inner = gzip.compress(array.getvalue())
    path = write(tmp_path, "m.tar.gz", gzip.compress(tar_of([("inner.npy.gz", inner)])))
    policy = build_policy(ScanConfig(max_bytes=15_000))
    report = scan_file(path, policy, path.name)
    message = "decompressed copies over max-bytes (15000): not read"
    assert found(report) == [("m.tar.gz:inner.npy.gz", 0, None, message)]
    assert found(scan_file(path, build_policy(ScanConfig(max_bytes=25_000)), path.name)) == []


def test_decompressed_data_is_copied_only_when_it_holds_more(tmp_path: Path) -> None:
    """256 MiB of zeros in 256 KB of gzip: data to every loader, never copied or searched."""
    path = tmp_path / "zeros.gz"
    with gzip.open(path, "wb", 9) as packed:
        for _ in range(256):
            packed.write(bytes(1 << 20))
    code, out, err, rss = run_scan(path)
    assert (code, out, err) == (0, "scanned 1 file(s): no findings", "")
    assert 0 < rss < 200_000


def test_a_tar_member_cut_short_is_a_finding(tmp_path: Path) -> None:
    full = tar_of([("a", b"\x80\x02N." + b"x" * 5000)])
    path = write(tmp_path, "cut.tar", full[: 512 + 3000])
    message = "tar archive cannot be read to its end: unexpected end of data"
    assert found(scan(path)) == [("cut.tar", 0, None, message)]


def test_a_tar_in_a_deflated_zip_member_is_read_once(tmp_path: Path) -> None:
    """Reading a tar in place seeks back: a deflated member decompressed again each time
    (12.7 s for 31 KB); a container member is copied once instead."""
    tar = tar_of([*((f"m{i}", bytes(20_000)) for i in range(999)), ("evil", EVIL_PICKLE)])
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("inner.tar", tar)
    started = time.monotonic()
    assert found(scan(path)) == [refused_system("m.zip:inner.tar:evil", 0)]
    assert time.monotonic() - started < 5


def test_time_spent_between_members_is_a_finding(tmp_path: Path) -> None:
    slow = build_policy(ScanConfig())._replace(limits=Limits(1 << 30, 1000, max_seconds=0.0))
    tar = write(tmp_path, "m.tar", tar_of([("a", b"N."), ("b", b"N.")]))
    zipped = tmp_path / "m.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("a", b"N.")
    message = "scanning took more than 0 s: not read to its end"
    assert found(scan_file(tar, slow, "m.tar")) == [("m.tar", 0, None, message)]
    assert found(scan_file(zipped, slow, "m.zip")) == [("m.zip", 0, None, message)]
