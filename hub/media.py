"""Uploaded media (field reports, tips): the accepted kinds, sniffing them from magic bytes,
blanking location."""

from __future__ import annotations

import enum
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


class MediaKind(enum.StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    HEIC = "heic"
    MP4 = "mp4"

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self]

    @property
    def label(self) -> str:
        """The format's name as people write it (JPEG, WebP)."""
        return "WebP" if self is MediaKind.WEBP else self.name


@dataclass(frozen=True)
class Upload:
    """A file already streamed to a temporary path and typed from its bytes."""

    path: Path
    kind: MediaKind
    size: int
    sha256: str
    name: str = ""  # what the sender called it, as sent; never used to name a stored file


MIME_TYPES: dict[MediaKind, str] = {
    MediaKind.JPEG: "image/jpeg",
    MediaKind.PNG: "image/png",
    MediaKind.WEBP: "image/webp",
    MediaKind.HEIC: "image/heic",
    MediaKind.MP4: "video/mp4",
}
EXTENSIONS: dict[MediaKind, str] = {
    MediaKind.JPEG: ".jpg",
    MediaKind.PNG: ".png",
    MediaKind.WEBP: ".webp",
    MediaKind.HEIC: ".heic",
    MediaKind.MP4: ".mp4",
}

# Enough for every signature below: an ISO-BMFF major brand ends at byte 12.
SNIFF_BYTES = 32

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash"}
    | {b"M4V ", b"M4VH", b"M4VP", b"mmp4", b"MSNV", b"3gp4", b"3gp5", b"3gp6", b"3g2a"}
)


def sniff(head: bytes) -> MediaKind | None:
    """The kind of file that starts with `head` (its first SNIFF_BYTES), or None if refused."""
    if head.startswith(b"\xff\xd8\xff"):
        return MediaKind.JPEG
    if head.startswith(_PNG_SIGNATURE):
        return MediaKind.PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and head[12:15] == b"VP8":
        return MediaKind.WEBP
    if head[4:8] == b"ftyp" and int.from_bytes(head[:4], "big") >= 16:
        if head[8:12] in _HEIC_BRANDS:
            return MediaKind.HEIC
        if head[8:12] in _MP4_BRANDS:
            return MediaKind.MP4
    return None


def strip_location(kind: MediaKind, data: bytes) -> bytes:
    """A copy of `data` with GPS EXIF, XMP packets and location atoms blanked, same length.

    Every edit overwrites bytes in place, so each offset inside the container stays valid and
    the copy still opens; the original is kept untouched for the police.
    """
    out = bytearray(data)
    for start, end in _metadata_spans(kind, data):
        _blank_exif(out, start, end)
        _blank_xmp(out, start, end)
        if kind in (MediaKind.HEIC, MediaKind.MP4):
            _blank_location_boxes(out, start, end)
    if kind is MediaKind.PNG:
        _blank_compressed_text(out, data)
        _refresh_png_crcs(out, data)
    return bytes(out)


def _metadata_spans(kind: MediaKind, data: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each payload that can carry EXIF or XMP; offsets never leave it."""
    if kind is MediaKind.JPEG:
        yield from _jpeg_app_segments(data)
    elif kind is MediaKind.PNG:
        text = {b"eXIf", b"iTXt", b"tEXt", b"zTXt"}
        yield from ((start, end) for ctype, start, end in _png_chunks(data) if ctype in text)
    elif kind is MediaKind.WEBP:
        yield from _riff_chunks(data, {b"EXIF", b"XMP "})
    elif kind is MediaKind.MP4:
        yield from _bmff_boxes_outside_mdat(data)
    else:
        # HEIC keeps its Exif and XMP items anywhere, mdat included; markers below find them.
        yield 0, len(data)


# An 0xFF in entropy-coded JPEG data is always followed by 0x00 or a restart marker, so an APPn
# marker found anywhere is a real segment: this also reaches the second image of an MPO file.
_JPEG_APP = re.compile(rb"\xff[\xe0-\xef](..)", re.DOTALL)


def _jpeg_app_segments(data: bytes) -> Iterator[tuple[int, int]]:
    for match in _JPEG_APP.finditer(data):
        length = int.from_bytes(match.group(1), "big")
        if length > 2:
            yield match.end(), min(match.start() + 2 + length, len(data))


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, data start, data end) of each complete PNG chunk; its CRC follows the data."""
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        start = pos + 8
        end = start + int.from_bytes(data[pos : pos + 4], "big")
        if end + 4 > len(data):
            return
        yield data[pos + 4 : start], start, end
        pos = end + 4


def _riff_chunks(data: bytes, wanted: set[bytes]) -> Iterator[tuple[int, int]]:
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if data[pos : pos + 4] in wanted:
            yield pos + 8, min(pos + 8 + size, len(data))
        pos += 8 + size + (size & 1)


def _bmff_boxes_outside_mdat(data: bytes) -> Iterator[tuple[int, int]]:
    """Top-level boxes other than mdat, then whatever a bad box size leaves unwalked."""
    # Video metadata lives in moov, meta and uuid; skipping coded media keeps big uploads fast.
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        elif size == 0:
            size = len(data) - pos
        if size < 8:
            break
        if data[pos + 4 : pos + 8] != b"mdat":
            yield pos, min(pos + size, len(data))
        pos += size
    if pos < len(data):
        yield pos, len(data)


_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
# A HEIC Exif item starts with a 4-byte offset to its TIFF header: 6 past "Exif\0\0", or 0.
_EXIF_HEADER = re.compile(rb"(?:Exif\x00\x00|\x00\x00\x00\x00)(?=II\*\x00|MM\x00\*)")


def _blank_exif(buf: bytearray, start: int, end: int) -> None:
    tiffs = [match.end() for match in _EXIF_HEADER.finditer(buf, start, end)]
    if bytes(buf[start : start + 4]) in _TIFF_MAGIC:
        tiffs.append(start)
    for tiff in tiffs:
        _blank_gps(_Tiff(buf, tiff, end))


class _Tiff:
    """Bounds-checked access to one TIFF structure; offsets count from its header."""

    def __init__(self, buf: bytearray, start: int, end: int) -> None:
        self.buf, self.start, self.end = buf, start, end
        self.order: Literal["little", "big"] = "little" if buf[start] == ord("I") else "big"

    def uint(self, offset: int, size: int) -> int | None:
        at = self.start + offset
        if offset < 0 or at + size > self.end:
            return None
        return int.from_bytes(self.buf[at : at + size], self.order)

    def zero(self, offset: int, size: int) -> None:
        """Zero the part of [offset, offset + size) that lies inside the structure."""
        at = self.start + max(offset, 0)
        stop = min(self.start + offset + size, self.end)
        if at < stop:
            self.buf[at:stop] = bytes(stop - at)


GPS_IFD_TAG = 0x8825
# Bytes per value of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL, ..., IFD).
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
# IFD0 and IFD1 are all a photo has; a longer chain is malformed or a loop.
_MAX_IFDS = 4


def _blank_gps(tiff: _Tiff) -> None:
    """Empty every GPS IFD that IFD0 or an IFD chained after it points to."""
    ifd, seen = tiff.uint(4, 4), set[int]()
    while ifd and ifd not in seen and len(seen) < _MAX_IFDS:
        seen.add(ifd)
        count = tiff.uint(ifd, 2) or 0
        for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
            if tiff.uint(entry, 2) == GPS_IFD_TAG and (gps := tiff.uint(entry + 8, 4)):
                _empty_ifd(tiff, gps)
        ifd = tiff.uint(ifd + 2 + 12 * count, 4)


def _empty_ifd(tiff: _Tiff, ifd: int) -> None:
    """Zero the values an IFD points to, then its count and entries."""
    # A valid, empty IFD: readers (Pillow included) see no GPS fields rather than tripping over
    # a damaged GPSInfo pointer in IFD0, which therefore stays as it is.
    count = tiff.uint(ifd, 2)
    if count is None:
        return
    values: list[tuple[int, int]] = []
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        field_type, n = tiff.uint(entry + 2, 2) or 0, tiff.uint(entry + 4, 4) or 0
        size, offset = _TYPE_SIZES.get(field_type, 0) * n, tiff.uint(entry + 8, 4)
        if size > 4 and offset is not None:
            values.append((offset, size))
    for offset, size in values:
        tiff.zero(offset, size)
    # The zeroed first entry becomes the empty IFD's next-IFD pointer: 0, the end of the chain.
    tiff.zero(ifd, 2 + 12 * count)


_XMP_OPEN = re.compile(rb"<x:x[am]pmeta\b")
_XMP_CLOSE = re.compile(rb"</x:x[am]pmeta\s*>")
# What a blanked packet becomes when it fits: readers that parse XMP find a valid, empty one.
_EMPTY_XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
_XMP_EXTENSION = b"http://ns.adobe.com/xmp/extension/\x00"
# Extended XMP in JPEG: signature, 32-byte GUID, full length and offset, then a slice of a packet.
_XMP_EXTENSION_HEADER = len(_XMP_EXTENSION) + 32 + 4 + 4


def _blank_xmp(buf: bytearray, start: int, end: int) -> None:
    """Overwrite each XMP packet with an empty one padded with spaces; one cut short, to `end`."""
    if buf.startswith(_XMP_EXTENSION, start):
        _fill(buf, start + _XMP_EXTENSION_HEADER, end, b" ")
        return
    pos = start
    while opening := _XMP_OPEN.search(buf, pos, end):
        closing = _XMP_CLOSE.search(buf, opening.end(), end)
        pos = closing.end() if closing else end
        _fill(buf, opening.start(), pos, b" ")
        if closing and pos - opening.start() >= len(_EMPTY_XMP):
            buf[opening.start() : opening.start() + len(_EMPTY_XMP)] = _EMPTY_XMP


def _fill(buf: bytearray, start: int, end: int, byte: bytes) -> None:
    if start < end:
        buf[start:end] = byte * (end - start)


_LOCATION_BOX = re.compile(rb"\xa9xyz|loci")
# ISO 6709 points ("+43.6480-079.3806/") also sit in Apple's location key values and elsewhere.
_ISO_6709 = re.compile(rb"[+-]\d{2,6}(?:\.\d+)?[+-]\d{3,7}(?:\.\d+)?(?:[+-]\d+(?:\.\d+)?)?/")


def _blank_location_boxes(buf: bytearray, start: int, end: int) -> None:
    """Zero each `©xyz` and `loci` box's payload (its header stays) and each ISO 6709 point."""
    for match in list(_LOCATION_BOX.finditer(buf, start, end)):
        box = match.start() - 4
        size = int.from_bytes(buf[max(box, 0) : match.start()], "big")
        if box >= start and size > 8:
            _fill(buf, match.end(), min(box + size, end), b"\x00")
    for match in list(_ISO_6709.finditer(buf, start, end)):
        _fill(buf, match.start(), match.end(), b"\x00")


def _blank_compressed_text(buf: bytearray, data: bytes) -> None:
    """Zero compressed PNG text: XMP or a raw EXIF profile in it cannot be inspected in place."""
    for ctype, start, end in _png_chunks(data):
        nul = data.find(b"\x00", start, end)
        if nul == -1 or ctype not in (b"zTXt", b"iTXt"):
            continue
        if ctype == b"zTXt" or data[nul + 1 : nul + 2] == b"\x01":
            # From two bytes past the keyword's NUL: the method stays 0, the only valid value,
            # the stream no longer inflates, and readers drop the text.
            _fill(buf, nul + 2, end, b"\x00")


def _refresh_png_crcs(buf: bytearray, data: bytes) -> None:
    """Recompute the CRC of every chunk that changed; readers reject or drop a bad one."""
    for ctype, start, end in _png_chunks(data):
        if buf[start:end] != data[start:end]:
            buf[end : end + 4] = zlib.crc32(ctype + buf[start:end]).to_bytes(4, "big")
