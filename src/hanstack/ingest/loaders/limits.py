"""Size and zip-bomb limits shared by every loader.

Untrusted files are never read without a cap: plain files are read up to ``max_file_bytes`` + 1
bytes, and every zip member (DOCX, HWPX) or deflate stream (HWP) is inflated through a counting
reader that stops at the smaller of the member's declared size and what is left of the archive's
``max_uncompressed_bytes`` budget. A header that lies about a member's size therefore cannot make
us inflate more than the budget, and the ratio check catches a bomb early from the declared sizes.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from lzma import LZMAError
from pathlib import Path
from typing import IO, Any

from hanstack.errors import ArchiveBombError, CorruptFileError, EncryptedFileError, FileTooLargeError

MB = 1024 * 1024
READ_CHUNK = 64 * 1024
RATIO_GRACE_BYTES = 1 * MB
"""Members inflating to less than this are not ratio-checked: small XML parts compress 50-300x."""
MAX_ZIP_MEMBERS = 20_000
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True, slots=True)
class LoaderLimits:
    """What a loader may read from one untrusted file.

    ``max_file_bytes``: the file itself; ``max_uncompressed_bytes``: everything inflated from it
    (zip members, HWP deflate streams) together; ``max_compression_ratio``: inflated / compressed
    size of any member larger than 1 MiB, and of the archive as a whole.
    """

    max_file_bytes: int = 100 * MB
    max_uncompressed_bytes: int = 500 * MB
    max_compression_ratio: float = 200.0

    def __post_init__(self) -> None:
        if self.max_file_bytes <= 0 or self.max_uncompressed_bytes <= 0:
            raise ValueError("loader size limits must be positive")
        if self.max_compression_ratio <= 1:
            raise ValueError("max_compression_ratio must be greater than 1")

    @classmethod
    def from_settings(cls, ingest: Any) -> LoaderLimits:
        """Build from ``settings.ingest`` (``max_file_mb``, ``max_uncompressed_mb``, ``max_compression_ratio``)."""
        return cls(
            max_file_bytes=int(ingest.max_file_mb * MB),
            max_uncompressed_bytes=int(ingest.max_uncompressed_mb * MB),
            max_compression_ratio=float(ingest.max_compression_ratio),
        )


_SIZE_HINT = "raise ingest.max_file_mb in hanstack.toml if this file is expected"
_BOMB_HINT = "if the document is genuine, raise ingest.max_uncompressed_mb / ingest.max_compression_ratio"


def too_large(path: Path, size: int, limits: LoaderLimits) -> FileTooLargeError:
    return FileTooLargeError(
        f"{path}: {size / MB:.1f} MiB is over the limit of {limits.max_file_bytes / MB:.1f} MiB",
        hint=_SIZE_HINT,
    )


def over_ratio(inflated: int, compressed: int, limits: LoaderLimits) -> bool:
    """Whether ``inflated`` bytes from ``compressed`` exceed the ratio limit (small data exempt)."""
    return inflated > RATIO_GRACE_BYTES and inflated > limits.max_compression_ratio * max(1, compressed)


def check_file_size(path: Path, limits: LoaderLimits) -> int:
    """The file's size in bytes, or :class:`FileTooLargeError` when it is over the limit."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise too_large(path, size, limits)
    return size


def read_file_capped(path: Path, limits: LoaderLimits) -> bytes:
    """The whole file, read with a cap (a file that grew since ``stat`` is still refused)."""
    with path.open("rb") as fh:
        data = fh.read(limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:
        raise too_large(path, len(data), limits)
    return data


def reject_ole_container(path: Path, head: bytes, kind: str) -> None:
    """A zip-based format that starts with the OLE magic is either encrypted OOXML or a legacy file.

    Office stores a password-protected DOCX as an OLE compound file holding ``EncryptionInfo`` and
    ``EncryptedPackage`` streams (directory entry names are UTF-16LE, so a byte search finds them
    without parsing the container).
    """
    if not head.startswith(OLE_MAGIC):
        return
    with path.open("rb") as fh:
        data = fh.read(1 * MB)
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        raise EncryptedFileError(
            f"{path}: the {kind} is password-protected (an encrypted OOXML package)",
            hint="save an unprotected copy and ingest that",
        )
    raise CorruptFileError(
        f"{path}: is an OLE compound file, not a {kind} zip package (a legacy .doc/.hwp with the wrong extension?)",
        hint="open it in its application and save it in the format its extension names",
    )


class SafeZip:
    """A zip archive opened for reading untrusted members under :class:`LoaderLimits`.

    Opening it checks the central directory: member count, zip encryption, the sum of declared
    sizes and per-member compression ratios. :meth:`read` inflates one member through a capped
    reader and charges it to the archive's budget.
    """

    def __init__(self, path: Path, limits: LoaderLimits, *, kind: str) -> None:
        self.path = path
        self.kind = kind
        self.limits = limits
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise CorruptFileError(
                f"{path}: not a readable {kind} (its zip container is damaged or truncated: {exc})",
                hint="re-export or re-download the file",
            ) from exc
        self._inflated = 0
        self._infos = {info.filename: info for info in infos}
        try:
            self._check_directory(infos)
        except (ArchiveBombError, EncryptedFileError):
            self._zip.close()
            raise

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def names(self) -> list[str]:
        return list(self._infos)

    def has(self, name: str) -> bool:
        return name in self._infos

    def _bomb(self, what: str) -> ArchiveBombError:
        return ArchiveBombError(f"{self.path}: refused as a possible zip bomb: {what}", hint=_BOMB_HINT)

    def _check_directory(self, infos: list[zipfile.ZipInfo]) -> None:
        limits = self.limits
        if len(infos) > MAX_ZIP_MEMBERS:
            raise self._bomb(f"{len(infos):,} members (at most {MAX_ZIP_MEMBERS:,} are accepted)")
        declared = 0
        compressed = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise EncryptedFileError(
                    f"{self.path}: the {self.kind} member {info.filename!r} is encrypted",
                    hint="save an unprotected copy and ingest that",
                )
            declared += info.file_size
            compressed += info.compress_size
            if over_ratio(info.file_size, info.compress_size, limits):
                ratio = info.file_size / max(1, info.compress_size)
                raise self._bomb(
                    f"member {info.filename!r} declares a compression ratio of {ratio:,.0f}:1 "
                    f"(limit {limits.max_compression_ratio:,.0f}:1)"
                )
        if declared > limits.max_uncompressed_bytes:
            raise self._bomb(
                f"members declare {declared / MB:,.1f} MiB uncompressed "
                f"(limit {limits.max_uncompressed_bytes / MB:,.1f} MiB)"
            )
        if over_ratio(declared, compressed, limits):
            raise self._bomb(
                f"the archive declares a compression ratio of {declared / max(1, compressed):,.0f}:1 "
                f"(limit {limits.max_compression_ratio:,.0f}:1)"
            )

    def read(self, name: str) -> bytes:
        """Inflate one member, never more than its declared size or the remaining budget.

        Deflated members are inflated here from their raw bytes rather than by ``zipfile``, which
        silently stops at the declared size: this way a header that understates the size is
        reported as what it is (inflating past its declared size), not as a CRC error.
        """
        info = self._infos.get(name)
        if info is None:
            raise CorruptFileError(f"{self.path}: the {self.kind} has no {name!r} part")
        cap = min(info.file_size, self.limits.max_uncompressed_bytes - self._inflated)
        past = "its declared size" if cap == info.file_size else "the archive's budget"
        if info.compress_type == zipfile.ZIP_DEFLATED:
            data = self._read_deflated(info, cap, past)
        else:
            data = self._read_other(info, cap, past)
        if over_ratio(len(data), info.compress_size, self.limits):
            raise self._bomb(f"member {name!r} inflated {len(data) / max(1, info.compress_size):,.0f}:1")
        self._inflated += len(data)
        return data

    def _damaged(self, info: zipfile.ZipInfo, what: str) -> CorruptFileError:
        return CorruptFileError(
            f"{self.path}: the {self.kind} member {info.filename!r} is damaged ({what})",
            hint="re-export or re-download the file",
        )

    def _read_deflated(self, info: zipfile.ZipInfo, cap: int, past: str) -> bytes:
        raw = self._raw_member(info)
        try:
            data, complete = inflate_capped(raw, cap)
        except zlib.error as exc:
            raise self._damaged(info, f"bad compressed data: {exc}") from exc
        if len(data) > cap:
            raise self._bomb(f"member {info.filename!r} inflates past {past}")
        if not complete or len(data) != info.file_size:
            raise self._damaged(info, "truncated")
        if zlib.crc32(data) != info.CRC:
            raise self._damaged(info, "CRC mismatch")
        return data

    def _raw_member(self, info: zipfile.ZipInfo) -> bytes:
        with self.path.open("rb") as fh:
            fh.seek(info.header_offset)
            local = fh.read(30)
            if len(local) < 30 or not local.startswith(b"PK\x03\x04"):
                raise self._damaged(info, "no local file header")
            name_len, extra_len = struct.unpack_from("<HH", local, 26)
            fh.seek(info.header_offset + 30 + name_len + extra_len)
            raw = fh.read(info.compress_size)
        if len(raw) < info.compress_size:
            raise self._damaged(info, "truncated")
        return raw

    def _read_other(self, info: zipfile.ZipInfo, cap: int, past: str) -> bytes:
        chunks: list[bytes] = []
        got = 0
        try:
            with self._zip.open(info) as fh:
                for chunk in _iter_chunks(fh):
                    got += len(chunk)
                    if got > cap:
                        raise self._bomb(f"member {info.filename!r} inflates past {past}")
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, LZMAError) as exc:
            raise self._damaged(info, str(exc)) from exc
        return b"".join(chunks)

    def verify_all(self) -> None:
        """Inflate every member once under the caps (before handing the archive to a library)."""
        for name in self._infos:
            if not name.endswith("/"):
                self.read(name)


def _iter_chunks(fh: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = fh.read(READ_CHUNK)
        if not chunk:
            return
        yield chunk


def inflate_capped(data: bytes, cap: int, *, wbits: int = -15) -> tuple[bytes, bool]:
    """Inflate ``data`` (raw deflate by default), stopping as soon as more than ``cap`` bytes come out.

    Returns the output (longer than ``cap`` exactly when the stream overflowed it) and whether
    the compressed stream ended properly. Memory stays bounded by ``cap`` + one chunk.
    """
    decomp = zlib.decompressobj(wbits)
    out: list[bytes] = []
    got = 0
    pending = data
    while not decomp.eof:
        chunk = decomp.decompress(pending, READ_CHUNK)
        pending = decomp.unconsumed_tail
        if not chunk and not pending:
            break
        out.append(chunk)
        got += len(chunk)
        if got > cap:
            break
    return b"".join(out), decomp.eof


class InflateBudget:
    """Raw-deflate streams (HWP BodyText) inflated against one file-wide budget and ratio limit."""

    def __init__(self, path: Path, limits: LoaderLimits) -> None:
        self.path = path
        self.limits = limits
        self._left = limits.max_uncompressed_bytes

    def inflate(self, data: bytes, *, name: str) -> bytes:
        try:
            out, complete = inflate_capped(data, self._left)
        except zlib.error as exc:
            raise CorruptFileError(
                f"{self.path}: stream {name!r} is not valid compressed data ({exc})",
                hint="the file is damaged or truncated",
            ) from exc
        if len(out) > self._left:
            raise ArchiveBombError(
                f"{self.path}: refused as a possible zip bomb: stream {name!r} inflates past "
                f"{self.limits.max_uncompressed_bytes / MB:,.1f} MiB",
                hint=_BOMB_HINT,
            )
        if not complete:
            raise CorruptFileError(
                f"{self.path}: stream {name!r} ends before its compressed data does (truncated)",
                hint="the file is damaged or truncated",
            )
        if over_ratio(len(out), len(data), self.limits):
            raise ArchiveBombError(
                f"{self.path}: refused as a possible zip bomb: stream {name!r} inflated "
                f"{len(out) / max(1, len(data)):,.0f}:1",
                hint=_BOMB_HINT,
            )
        self._left -= len(out)
        return out
