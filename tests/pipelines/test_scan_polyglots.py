"""Files that two container readers read differently: pandas picks its decompressor by the
file's name (`.tar` -> `tarfile.open("r")`, which tries every compression and then plain tar;
`.xz` -> liblzma's auto decoder, which takes any .lzma header), the scanner by content. A file
that is both a tar archive and a zip, gzip or zlib stream is refused; an .lzma stream with any
properties byte is decompressed and read."""

from __future__ import annotations

import io
import lzma
import struct
import tarfile
import zlib
from pathlib import Path

from test_scan_bypasses import EVIL_PICKLE, found, real_load, refused_system, scan, write

from mlgate.pipelines.scan.formats import _dictionary_size


def _tar_with_header(first_bytes: bytes, member: bytes = EVIL_PICKLE) -> bytearray:
    """A one-member tar whose first header starts with `first_bytes` (its name field), with
    the checksum made right, and two zero blocks at the end."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo("x")
        info.size = len(member)
        archive.addfile(info, io.BytesIO(member))
    data = bytearray(out.getvalue().rstrip(b"\0"))
    data += b"\0" * (-len(data) % 512) + b"\0" * 1024
    data[0 : len(first_bytes)] = first_bytes
    data[148:156] = b" " * 8
    data[148:156] = b"%06o\0 " % sum(data[:512])
    return data


def _gzip_and_tar() -> bytes:
    """A gzip member whose FEXTRA field holds a whole tar archive."""
    header_room = len(_tar_with_header(b""))
    extra = header_room - 12
    data = _tar_with_header(b"\x1f\x8b\x08\x04AAAA\x00\xff" + struct.pack("<H", extra))
    body = b"just text\n"
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = packer.compress(body) + packer.flush()
    return bytes(data) + deflated + struct.pack("<II", zlib.crc32(body), len(body))


def _zip_and_tar() -> bytes:
    """A well-formed zip whose first local header's extra field holds a whole tar archive."""
    name, member = b"a", b"plain member bytes\n"
    crc, room = zlib.crc32(member), len(_tar_with_header(b""))
    fields = (b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, len(member), len(member), 1, room - 31)
    data = _tar_with_header(struct.pack("<4sHHHHHIIIHH", *fields) + name)
    body = bytes(data) + member
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc, len(member),
        len(member), 1, 0, 0, 0, 0, 0, 0,
    ) + name  # fmt: skip
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(body), 0)
    return body + central + end


def test_a_gzip_stream_that_is_also_a_tar_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "model.tar", _gzip_and_tar())
    assert real_load("pandas", [path])[0]["refused"] == ["posix.system"]
    message = "both gzip data and a tar archive (tarfile reads it as either): not checkable"
    assert found(scan(path)) == [("model.tar", 0, None, message)]


def test_a_tar_whose_first_name_is_a_zlib_stream_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "model.tar", bytes(_tar_with_header(zlib.compress(b"hi"))))
    assert real_load("pandas", [path])[0]["refused"] == ["posix.system"]
    message = "both zlib data and a tar archive (tarfile reads it as either): not checkable"
    assert found(scan(path)) == [("model.tar", 0, None, message)]


def test_a_zip_that_is_also_a_tar_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "model.tar", _zip_and_tar())
    assert real_load("pandas", [path])[0]["refused"] == ["posix.system"]
    message = "both zip data and a tar archive (tarfile reads it as either): not checkable"
    assert found(scan(path)) == [("model.tar", 0, None, message)]


def test_an_lzma_stream_with_other_properties_is_read(tmp_path: Path) -> None:
    lzma1 = {"id": lzma.FILTER_LZMA1, "lc": 0, "lp": 0, "pb": 0, "dict_size": 1 << 16}
    data = lzma.compress(EVIL_PICKLE, format=lzma.FORMAT_ALONE, filters=[lzma1])
    assert data[0] != ord("]")  # not the properties byte joblib writes
    path = write(tmp_path, "model.pkl.xz", data)
    assert real_load("pandas", [path])[0]["refused"] == ["posix.system"]
    assert found(scan(path)) == [refused_system("model.pkl.xz", 0)]


def test_liblzma_dictionary_sizes() -> None:
    sizes = {0: True, 1: True, 3: True, 1 << 16: True, 3 << 15: True, 5 << 14: False}
    sizes |= {0xFFFFFFFF: True, 0xFFFFFFFE: False, 100: False}
    assert {size: _dictionary_size(size.to_bytes(4, "little")) for size in sizes} == sizes


def test_an_lzma_header_liblzma_refuses_is_data(tmp_path: Path) -> None:
    """lc + lp = 8 passes the header's range check, but no LZMA1 decoder takes it."""
    header = bytes([40]) + (1 << 16).to_bytes(4, "little") + b"\xff" * 8
    path = write(tmp_path, "weights.bin.data", header + bytes(range(256)) * 4)
    assert found(scan(path)) == []


def test_an_lzma_stream_that_breaks_later_is_a_finding(tmp_path: Path) -> None:
    """pickle.load reads an LZMAFile as it decompresses: opcodes before the damage run."""
    header = b"\x00" + (1 << 16).to_bytes(4, "little") + b"\xff" * 8
    path = write(tmp_path, "weights.bin.data", header + bytes(range(256)) * 4)
    assert found(scan(path)) == [
        ("weights.bin.data", 0, None, "cannot decompress: Corrupt input data")
    ]


def test_an_empty_lzma_stream_before_the_payload_stream_is_read_past(tmp_path: Path) -> None:
    """LZMAFile reads concatenated streams: the first one yields nothing, the second the pickle."""
    lzma1 = {"id": lzma.FILTER_LZMA1, "lc": 1, "lp": 0, "pb": 0, "dict_size": 1 << 16}
    empty = lzma.compress(b"", format=lzma.FORMAT_ALONE, filters=[lzma1])
    data = empty + lzma.compress(EVIL_PICKLE, format=lzma.FORMAT_ALONE, filters=[lzma1])
    path = write(tmp_path, "model.pkl.xz", data)
    assert real_load("pandas", [path])[0]["refused"] == ["posix.system"]
    assert found(scan(path)) == [refused_system("model.pkl.xz", 0)]
