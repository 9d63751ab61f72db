"""Hostile inputs cost bounded time and memory, and never crash the scanner or print a trace."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import Policy, build_policy, scan_file
from mlgate.pipelines.scan.formats import Limits
from mlgate.pipelines.scan.opcodes import Budget, scan_stream
from mlgate.pipelines.scan.source import Source

# The peak RSS of the scan alone: Linux keeps a forked parent's peak across exec, so the peak
# is reset (clear_refs 5) once mlgate is imported, and read (VmHWM) after the scan.
MEASURE = """
import re, sys
from mlgate.cli import main
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")
code = main(["package", "scan", sys.argv[1]])
with open("/proc/self/status") as status:
    print("rss-kb", re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1))
sys.exit(code)
"""


def run_scan(path: Path) -> tuple[int, str, str, int]:
    """(exit code, stdout without the rss line, stderr, max RSS in KiB) of a real scan."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    rss = int(lines[-1].split()[1]) if lines and lines[-1].startswith("rss-kb") else -1
    return done.returncode, "\n".join(lines[:-1]), done.stderr, rss


def test_deeply_nested_tuple_as_a_dict_key(tmp_path: Path) -> None:
    """200 KB of nested tuples used as a key: hashing it would recurse in C (a segfault)."""
    data = b"\x80\x02}" + b")" + b"\x85" * 200_000 + b"K\x01s."
    path = tmp_path / "deep.joblib"
    path.write_bytes(data)
    code, out, err, _ = run_scan(path)
    assert (code, out, err) == (0, "scanned 1 file(s): no findings", "")


def test_compression_bomb_is_streamed(tmp_path: Path) -> None:
    """256 MiB of bytes in a 260 KB gzip file: stepped over a buffer at a time."""
    size = 256 << 20
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b"\x80\x04\x8e" + size.to_bytes(8, "little"))]
    chunk = bytes(1 << 20)
    parts += [packer.compress(chunk) for _ in range(size >> 20)]
    parts.append(packer.compress(b".") + packer.flush())
    path = tmp_path / "bomb.joblib"
    path.write_bytes(b"".join(parts))
    assert path.stat().st_size < 300_000
    code, out, err, rss = run_scan(path)
    assert (code, out, err) == (0, "scanned 1 file(s): no findings", "")
    assert 0 < rss < 200 * 1024


def test_encrypted_zip_member_is_a_finding_not_a_traceback(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a/data.pkl", pickle.dumps(1))
    data = bytearray(buffer.getvalue())
    data[6] |= 1
    data[data.rfind(b"PK\x01\x02") + 8] |= 1
    path = tmp_path / "enc.pt"
    path.write_bytes(bytes(data))
    code, out, err, _ = run_scan(path)
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[0] == (
        f"{path}: byte 0: zip archive not as its writers write it: member 'a/data.pkl' is encrypted"
    )
    assert lines[1].startswith(f"{path}: byte 0: the members cannot all be read: File <ZipInfo")
    assert lines[2:] == ["scanned 1 file(s): 2 finding(s) in 1 file(s)"]


def policy_with(**limits: Any) -> Policy:
    base = build_policy(ScanConfig())
    return base._replace(limits=base.limits._replace(**limits))


def test_time_limit_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "slow.pkl"
    path.write_bytes(b"\x80\x02" + b"N0" * 400_000 + b"N.")
    report = scan_file(path, policy_with(max_seconds=0.01), "slow.pkl")
    assert [(f.name, f.message) for f in report.findings] == [
        (None, "scanning took more than 0.01 s: not read to its end")
    ]


def test_values_held_at_once_are_bounded() -> None:
    data = b"\x80\x02" + b"]" * 10_000 + b"."
    result = scan_stream(Source(io.BytesIO(data), 1 << 20, len(data)), Budget(10**6, 20, 1000))
    assert [(p.message, p.kind) for p in result.problems] == [
        ("the pickle holds more than 1000 values at once", "limit")
    ]


def test_findings_are_capped(tmp_path: Path) -> None:
    imports = b"".join(b"cmod%d\nName\n0" % index for index in range(10))
    path = tmp_path / "many.pkl"
    path.write_bytes(b"\x80\x02" + imports + b"N.")
    report = scan_file(path, policy_with(max_findings=3), "many.pkl")
    assert [(f.name, f.message.split(",")[0]) for f in report.findings] == [
        ("mod0.Name", "imports mod0.Name"),
        ("mod1.Name", "imports mod1.Name"),
        (None, "8 more findings not shown"),
    ]
    assert Limits(1, 1).max_findings == 1000


def test_zip_member_bomb_is_streamed(tmp_path: Path) -> None:
    """A 256 MiB deflated member in a 260 KB archive: read as a stream, never whole."""
    path = tmp_path / "bomb.npz"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("a/data.pkl", "w", force_zip64=True) as member,
    ):
        member.write(b"\x80\x04\x8e" + (256 << 20).to_bytes(8, "little"))
        for _ in range(256):
            member.write(bytes(1 << 20))
        member.write(b".")
    assert path.stat().st_size < 400_000
    code, out, err, rss = run_scan(path)
    assert (code, out, err) == (0, "scanned 1 file(s): no findings", "")
    assert 0 < rss < 200 * 1024
