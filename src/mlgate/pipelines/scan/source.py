"""Bounded byte sources: every read the scanner makes goes through one `Source`.

A `Source` reads a file, a memory buffer or a decompressing stream through a small buffer,
refuses to go past `max-bytes`, never reads a line longer than `CHUNK` and steps over long
payloads without keeping them; so a crafted length field or a compression bomb costs at most
`CHUNK` of memory per read, and decompression is streamed, never held whole in memory.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from typing import IO

CHUNK = 1 << 20
_FILL = 1 << 16


class LimitExceeded(Exception):
    """A file is bigger than `max-bytes` once decompressed."""


class Undecompressable(ValueError):
    """Compressed data that cannot be decompressed (corrupt, cut short)."""


class _ZlibReader(io.RawIOBase):
    """A zlib stream (joblib's `compress="zlib"`), decompressed a buffer at a time."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self.raw = raw
        self.engine = zlib.decompressobj()

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Decompress at most `len(buffer)` bytes into `buffer` (0 at the end of the stream)."""
        while not self.engine.eof:
            data = self.engine.unconsumed_tail or self.raw.read(_FILL)
            if not data:
                return 0  # cut short: what came before is read, as joblib reads it
            out = self.engine.decompress(data, len(buffer))
            if out:
                buffer[: len(out)] = out
                return len(out)
        return 0


def decompressing(raw: IO[bytes], codec: str) -> IO[bytes]:
    """A stream of the decompressed bytes of `raw` (every member, for multi-member formats)."""
    if codec == "gzip":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if codec == "bz2":
        return bz2.BZ2File(raw)
    if codec in ("xz", "lzma"):
        return lzma.LZMAFile(raw)
    return io.BufferedReader(_ZlibReader(raw))


class Source:
    """A forward reader with a position, a byte limit and an optional known size."""

    def __init__(self, raw: IO[bytes], limit: int, size: int | None = None) -> None:
        self.raw, self.limit, self.size = raw, limit, size
        self.base = raw.tell() if size is not None else 0
        self.buffer = b""
        self.index = 0
        self.consumed = 0
        self.bound = limit if size is None else min(limit, size)

    @classmethod
    def within(cls, data: bytes, start: int) -> Source:
        """The bytes of `data` from `start` on, read in place (never copied)."""
        source = cls(io.BytesIO(b""), len(data) - start, len(data) - start)
        source.buffer, source.index = data, start
        return source

    def tell(self) -> int:
        """Bytes consumed so far."""
        return self.consumed

    def _available(self, count: int) -> int:
        """Make up to `count` unread bytes available in the buffer; how many there are."""
        have = len(self.buffer) - self.index
        if have < count:
            self.buffer = self.buffer[self.index :] + self._more(max(count - have, _FILL))
            self.index = 0
            have = len(self.buffer)
        return min(have, count)

    def _more(self, count: int) -> bytes:
        """Up to `count` more bytes; what a corrupt stream gave before failing is kept."""
        read = getattr(self.raw, "read1", self.raw.read)
        parts: list[bytes] = []
        while count > 0:
            try:
                part = read(count)
            except (OSError, EOFError, zlib.error, lzma.LZMAError) as err:
                if parts:
                    break  # the error comes again on the next read, after these bytes
                raise Undecompressable(str(err) or type(err).__name__) from err
            if not part:
                break
            parts.append(part)
            count -= len(part)
        return b"".join(parts)

    def read(self, count: int) -> bytes:
        """Up to `count` bytes (fewer only at the end of the data)."""
        end = self.index + count
        if end <= len(self.buffer) and self.consumed + count <= self.bound:
            out = self.buffer[self.index : end]  # the common case: already buffered, in bounds
            self.index = end
            self.consumed += count
            return out
        return self._read(count)

    def _read(self, count: int) -> bytes:
        self._check(count)
        if count > CHUNK:
            raise ValueError(f"a read of {count} bytes at byte {self.consumed} is not allowed")
        got = self._available(count)
        out = self.buffer[self.index : self.index + got]
        self.index += got
        self.consumed += got
        return out

    def peek(self, count: int) -> bytes:
        """Up to `count` (at most `CHUNK`) next bytes, left unread."""
        got = self._available(min(count, CHUNK))
        return self.buffer[self.index : self.index + got]

    def readline(self) -> bytes:
        """One line with its newline (or what is left, at the end); at most `CHUNK` bytes."""
        for size in (256, CHUNK):
            have = self._available(size)
            end = self.buffer.find(b"\n", self.index, self.index + have)
            if end >= 0:
                return self.read(end + 1 - self.index)
        if self._available(CHUNK) == CHUNK:
            # the unpicklers read it: a limit of the scanner, never a reason to call it data
            raise LimitExceeded(f"a line longer than {CHUNK} bytes at byte {self.consumed}")
        return self.read(self._available(CHUNK))

    def skip(self, count: int) -> None:
        """Step over `count` bytes that must be there."""
        self._check(count)
        while count > 0:
            got = self._available(min(count, CHUNK))
            if not got:
                raise ValueError(f"not enough data: {count} more bytes expected")
            self.index += got
            self.consumed += got
            count -= got

    def at_end(self) -> bool:
        """Whether every byte has been read."""
        return self._available(1) == 0

    def _check(self, count: int) -> None:
        if self.size is not None and self.consumed + count > self.size:
            if count > CHUNK:
                # a crafted length field: CPython would try to allocate it and fail
                raise OverflowError(f"{count} bytes asked at byte {self.consumed}")
            raise ValueError("not enough data")
        if self.consumed + count > self.limit:
            raise LimitExceeded(
                f"over max-bytes ({self.limit}) of pickle data: not read to its end"
            )
