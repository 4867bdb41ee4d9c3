"""Field-report media: sniffing kinds from real headers, blanking location in every format."""

from __future__ import annotations

import io
import random
import struct
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from hub.media import EXTENSIONS, MIME_TYPES, SNIFF_BYTES, MediaKind, sniff, strip_location

GPS = {1: "N", 2: (43.0, 38.0, 53.0), 3: "W", 4: (79.0, 22.0, 50.0)}
PILLOW_FORMAT = {MediaKind.JPEG: "JPEG", MediaKind.PNG: "PNG", MediaKind.WEBP: "WEBP"}
XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"'
    b' exif:GPSLatitude="43,38.883N" exif:GPSLongitude="79,22.833W"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
POINT = b"+43.6480-079.3806/"


def photo(kind: MediaKind, **params: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, PILLOW_FORMAT[kind], **params)
    return out.getvalue()


def gps_exif(endian: str) -> Image.Exif:
    exif = Image.Exif()
    exif.endian = endian
    exif[0x010F] = "VigilCam"
    exif[0x8825] = GPS
    return exif


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def ftyp(brand: bytes) -> bytes:
    return box(b"ftyp", brand + b"\x00\x00\x02\x00" + brand + b"isom")


def with_app1(jpeg: bytes, payload: bytes) -> bytes:
    """`jpeg` with an APP1 segment carrying `payload` right after its SOI marker."""
    return jpeg[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def gps_tiff(order: bytes = b"MM") -> bytes:
    """A camera-style TIFF block: IFD0 (Make, GPSInfo) at 8, the GPS IFD at 48, rationals at 102.

    Fixed offsets let the malformed cases below point things out of range on purpose.
    """
    e = "<" if order == b"II" else ">"
    header = order + struct.pack(e + "HI", 42, 8)
    ifd0 = struct.pack(e + "H", 2) + struct.pack(e + "HHII", 0x010F, 2, 9, 38)
    ifd0 += struct.pack(e + "HHII", 0x8825, 4, 1, 48) + struct.pack(e + "I", 0)
    make = b"VigilCam\x00".ljust(10, b"\x00")
    gps = struct.pack(e + "H", 4) + struct.pack(e + "HHI", 1, 2, 2) + b"N\x00\x00\x00"
    gps += struct.pack(e + "HHII", 2, 5, 3, 102)
    gps += struct.pack(e + "HHI", 3, 2, 2) + b"W\x00\x00\x00"
    gps += struct.pack(e + "HHII", 4, 5, 3, 126) + struct.pack(e + "I", 0)
    rationals = struct.pack(e + "12I", 43, 1, 38, 1, 53, 1, 79, 1, 22, 1, 50, 1)
    return header + ifd0 + make + gps + rationals


def patched(tiff: bytes, offset: int, value: bytes) -> bytes:
    return tiff[:offset] + value + tiff[offset + len(value) :]


def heic_with(item: bytes) -> bytes:
    """A HEIC-shaped file whose mdat holds `item` (an Exif or XMP item) and some coded data."""
    meta = box(b"meta", b"\x00\x00\x00\x00" + box(b"hdlr", bytes(24)))
    return ftyp(b"heic") + meta + box(b"mdat", item + bytes(range(64)))


def exif_in(kind: MediaKind, tiff: bytes) -> bytes:
    """`tiff` embedded the way each format carries EXIF."""
    if kind is MediaKind.JPEG:
        return with_app1(photo(kind), b"Exif\x00\x00" + tiff)
    if kind is MediaKind.HEIC:
        return heic_with(b"\x00\x00\x00\x06Exif\x00\x00" + tiff)
    return photo(kind, exif=b"Exif\x00\x00" + tiff)


@pytest.mark.parametrize("kind", list(PILLOW_FORMAT))
def test_sniff_recognises_images_pillow_writes(kind: MediaKind) -> None:
    data = photo(kind)
    assert sniff(data[:SNIFF_BYTES]) is kind
    assert sniff(data) is kind


HEIC_BRANDS = [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"]
MP4_BRANDS = [b"isom", b"iso2", b"iso4", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V "]
MP4_BRANDS += [b"mmp4", b"MSNV", b"3gp4", b"3gp5"]


@pytest.mark.parametrize(
    ("brand", "kind"),
    [(b, MediaKind.HEIC) for b in HEIC_BRANDS] + [(b, MediaKind.MP4) for b in MP4_BRANDS],
    ids=repr,
)
def test_sniff_reads_the_iso_bmff_major_brand(brand: bytes, kind: MediaKind) -> None:
    head = (ftyp(brand) + box(b"mdat", bytes(16)))[:SNIFF_BYTES]
    assert sniff(head) is kind


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\xff\xd8",
        b"\x7fELF\x02\x01\x01\x00" + bytes(24),
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",
        b"#!/bin/sh\nrm -rf /\n",
        b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'>",
        b'<?xml version="1.0"?><svg>',
        b"<!DOCTYPE html><html>",
        b"GIF89a\x04\x00\x04\x00",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3",
        b"PK\x03\x04\x14\x00\x00\x00",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"RIFF\x24\x00\x00\x00WEBPJUNK",
        ftyp(b"qt  "),
        ftyp(b"avif"),
        ftyp(b"M4A "),
        b"\x00\x00\x00\x08ftypisom",
        b"image.jpg\xff\xd8\xff",
    ],
    ids=repr,
)
def test_sniff_refuses_everything_else(head: bytes) -> None:
    assert sniff(head[:SNIFF_BYTES]) is None


def test_sniff_refuses_a_gif_pillow_writes() -> None:
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, "GIF")
    assert sniff(out.getvalue()[:SNIFF_BYTES]) is None


def test_sniff_refuses_a_renamed_executable() -> None:
    # This interpreter's own binary: what "report.jpg" holds when someone renames a program.
    assert sniff(Path(sys.executable).read_bytes()[:SNIFF_BYTES]) is None


def test_every_kind_has_a_mime_type_and_extension() -> None:
    assert {kind: kind.mime_type for kind in MediaKind} == MIME_TYPES
    assert [MIME_TYPES[kind] for kind in MediaKind] == [
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/heic",
        "video/mp4",
    ]
    assert [kind.extension for kind in MediaKind] == [".jpg", ".png", ".webp", ".heic", ".mp4"]
    assert set(EXTENSIONS) == set(MediaKind)
    assert [str(kind) for kind in MediaKind] == ["jpeg", "png", "webp", "heic", "mp4"]


@pytest.mark.parametrize("endian", ["<", ">"], ids=["II", "MM"])
@pytest.mark.parametrize("kind", list(PILLOW_FORMAT))
def test_gps_is_removed_and_the_image_still_opens(kind: MediaKind, endian: str) -> None:
    original = photo(kind, exif=gps_exif(endian))
    before = opened(original)
    assert before.getexif().get_ifd(0x8825) == GPS

    stripped = strip_location(kind, original)

    assert len(stripped) == len(original)
    after = opened(stripped)
    assert after.getexif().get_ifd(0x8825) == {}
    assert after.getexif()[0x010F] == "VigilCam"
    assert after.tobytes() == before.tobytes()
    assert sniff(stripped[:SNIFF_BYTES]) is kind


@pytest.mark.parametrize("order", [b"II", b"MM"])
@pytest.mark.parametrize("kind", [*PILLOW_FORMAT, MediaKind.HEIC])
def test_gps_is_removed_from_hand_built_camera_exif(kind: MediaKind, order: bytes) -> None:
    original = exif_in(kind, gps_tiff(order))
    stripped = strip_location(kind, original)

    assert len(stripped) == len(original)
    start = original.index(gps_tiff(order))
    exif = Image.Exif()
    exif.load(b"Exif\x00\x00" + stripped[start : start + len(gps_tiff(order))])
    assert exif.get_ifd(0x8825) == {}
    assert exif[0x010F] == "VigilCam"
    rationals = gps_tiff(order)[102:]
    assert rationals in original
    assert rationals not in stripped


def test_heic_exif_item_without_the_exif_prefix() -> None:
    original = heic_with(b"\x00\x00\x00\x00" + gps_tiff())
    stripped = strip_location(MediaKind.HEIC, original)
    assert len(stripped) == len(original)
    assert gps_tiff()[102:] not in stripped
    assert stripped.startswith(ftyp(b"heic"))


def test_gps_named_from_ifd1_is_removed_too() -> None:
    tiff = gps_tiff()
    # IFD0's GPSInfo entry gets another tag; an IFD1 appended at 150 names the GPS IFD instead.
    ifd1 = struct.pack(">HHHII", 1, 0x8825, 4, 1, 48) + struct.pack(">I", 0)
    moved = patched(patched(tiff, 22, struct.pack(">H", 0x9999)), 34, struct.pack(">I", 150))
    stripped = strip_location(MediaKind.JPEG, exif_in(MediaKind.JPEG, moved + ifd1))
    assert tiff[102:] not in stripped


@pytest.mark.parametrize("kind", [*PILLOW_FORMAT, MediaKind.MP4])
def test_files_without_location_come_back_unchanged(kind: MediaKind) -> None:
    if kind is MediaKind.MP4:
        moov = box(b"moov", box(b"udta", box(b"\xa9nam", b"Lobby")))
        data = ftyp(b"isom") + moov + box(b"mdat", bytes(range(256)))
    else:
        exif = Image.Exif()
        exif[0x010F] = "VigilCam"
        data = photo(kind, exif=exif)
    assert strip_location(kind, data) == data


FAR = struct.pack(">I", 0xFFFFFFF0)
MALFORMED = {
    "ifd0 offset out of range": patched(gps_tiff(), 4, FAR),
    "ifd0 offset negative-looking": patched(gps_tiff(), 4, b"\xff\xff\xff\xff"),
    "gps pointer out of range": patched(gps_tiff(), 30, FAR),
    "gps pointer into the header": patched(gps_tiff(), 30, struct.pack(">I", 2)),
    "gps pointer at ifd0": patched(gps_tiff(), 30, struct.pack(">I", 8)),
    "ifd0 count huge": patched(gps_tiff(), 8, b"\xff\xff"),
    "gps count huge": patched(gps_tiff(), 48, b"\xff\xff"),
    "rational offset out of range": patched(gps_tiff(), 70, FAR),
    "rational count huge": patched(gps_tiff(), 66, b"\xff\xff\xff\xff"),
    "unknown field type": patched(gps_tiff(), 64, b"\x00\x63"),
    "ifd chain loops": patched(gps_tiff(), 34, struct.pack(">I", 8)),
    "gps ifd chains to itself": patched(gps_tiff(), 98, struct.pack(">I", 48)),
    "header only": gps_tiff()[:8],
    "little endian claim on big endian data": b"II*\x00" + gps_tiff()[4:],
}


@pytest.mark.parametrize("tiff", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("kind", [*PILLOW_FORMAT, MediaKind.HEIC])
def test_malformed_exif_never_raises(kind: MediaKind, tiff: bytes) -> None:
    original = exif_in(kind, tiff)
    assert len(strip_location(kind, original)) == len(original)


def test_gps_out_of_range_leaves_the_bytes_after_the_block_alone() -> None:
    tiff = patched(gps_tiff(), 70, struct.pack(">I", len(gps_tiff()) - 8))
    original = exif_in(MediaKind.JPEG, tiff)
    stripped = strip_location(MediaKind.JPEG, original)
    end = original.index(tiff) + len(tiff)
    assert stripped[end:] == original[end:]


@pytest.mark.parametrize("kind", [*PILLOW_FORMAT, MediaKind.HEIC])
def test_truncated_exif_never_raises(kind: MediaKind) -> None:
    for cut in range(len(gps_tiff())):
        original = exif_in(kind, gps_tiff()[:cut])
        assert len(strip_location(kind, original)) == len(original)


@pytest.mark.parametrize("kind", list(MediaKind))
def test_truncated_and_garbled_files_never_raise(kind: MediaKind) -> None:
    data = exif_in(kind, gps_tiff()) if kind is not MediaKind.MP4 else location_mp4()
    for cut in range(len(data)):
        assert len(strip_location(kind, data[:cut])) == cut
    noise = random.Random(6709)
    for _ in range(200):
        garbled = bytearray(data)
        for _ in range(8):
            garbled[noise.randrange(len(garbled))] = noise.randrange(256)
        assert len(strip_location(kind, bytes(garbled))) == len(garbled)


def test_random_bytes_after_a_tiff_header_never_raise() -> None:
    noise = random.Random(8825)
    for order in (b"II*\x00", b"MM\x00*"):
        for _ in range(300):
            tiff = order + noise.randbytes(noise.randrange(0, 200))
            original = exif_in(MediaKind.JPEG, tiff)
            assert len(strip_location(MediaKind.JPEG, original)) == len(original)


def assert_xmp_blanked(original: bytes, stripped: bytes) -> None:
    assert b"exif:GPSLatitude" in original
    assert len(stripped) == len(original)
    assert b"GPSLatitude" not in stripped
    assert b"GPSLongitude" not in stripped


def test_jpeg_xmp_packet_is_replaced_by_an_empty_one() -> None:
    original = with_app1(photo(MediaKind.JPEG), b"http://ns.adobe.com/xap/1.0/\x00" + XMP)
    assert "GPSLatitude" in str(opened(original).getxmp())

    stripped = strip_location(MediaKind.JPEG, original)

    assert_xmp_blanked(original, stripped)
    assert b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>' in stripped
    assert b'<?xpacket end="w"?>' in stripped
    assert "GPS" not in str(opened(stripped).getxmp())


def test_jpeg_extended_xmp_segments_are_blanked() -> None:
    # Extended XMP is a bare x:xmpmeta element, split across segments with no xpacket wrapper.
    packet = XMP[XMP.index(b"<x:xmpmeta") : XMP.index(b"<?xpacket end")]
    halves = [packet[: len(packet) // 2], packet[len(packet) // 2 :]]
    original = photo(MediaKind.JPEG)
    for index, half in reversed(list(enumerate(halves))):
        header = b"http://ns.adobe.com/xmp/extension/\x00" + b"0" * 32
        offset = struct.pack(">II", len(packet), index * len(halves[0]))
        original = with_app1(original, header + offset + half)
    stripped = strip_location(MediaKind.JPEG, original)
    assert_xmp_blanked(original, stripped)
    opened(stripped)


def test_unterminated_xmp_is_blanked_to_the_end_of_its_segment() -> None:
    cut = XMP[: XMP.index(b"</rdf:RDF>")]
    original = with_app1(photo(MediaKind.JPEG), b"http://ns.adobe.com/xap/1.0/\x00" + cut)
    stripped = strip_location(MediaKind.JPEG, original)
    assert_xmp_blanked(original, stripped)
    assert stripped.endswith(original[-200:])


@pytest.mark.parametrize("compressed", [False, True], ids=["iTXt", "compressed iTXt"])
def test_png_xmp_text_is_blanked_and_crcs_stay_valid(compressed: bool) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP.decode(), zip=compressed)
    info.add_text("Comment", "lobby camera 2")
    original = photo(MediaKind.PNG, pnginfo=info)
    before = opened(original)
    assert "GPSLatitude" in str(before.info)

    stripped = strip_location(MediaKind.PNG, original)

    assert len(stripped) == len(original)
    assert b"GPSLatitude" not in stripped
    after = opened(stripped)  # Pillow checks every chunk's CRC while opening
    assert "GPS" not in str(after.info)
    assert after.info["Comment"] == "lobby camera 2"
    assert after.tobytes() == before.tobytes()


def test_webp_xmp_chunk_is_blanked() -> None:
    original = photo(MediaKind.WEBP, xmp=XMP)
    stripped = strip_location(MediaKind.WEBP, original)
    assert_xmp_blanked(original, stripped)
    assert "GPS" not in str(opened(stripped).getxmp())


def test_heic_xmp_item_is_blanked() -> None:
    original = heic_with(XMP)
    assert_xmp_blanked(original, strip_location(MediaKind.HEIC, original))


def location_mp4() -> bytes:
    xyz = box(b"\xa9xyz", len(POINT).to_bytes(2, "big") + b"\x15\xc7" + POINT)
    coordinates = struct.pack(">iii", -79 << 16, 43 << 16, 76 << 16)
    # 3GPP loci: version/flags, language, name, role, longitude, latitude, altitude (16.16).
    name = b"Head office\x00\x00"
    loci = box(b"loci", bytes(4) + b"\x15\xc7" + name + coordinates + b"earth\x00\x00")
    # Apple's QuickTime metadata: a key list, then values by key index.
    keys = box(b"keys", bytes(8) + box(b"mdta", b"com.apple.quicktime.location.ISO6709"))
    apple_point = box(b"data", bytes(8) + b"+43.6480-079.3806+076.000/")
    ilst = box(b"ilst", box(b"\x00\x00\x00\x01", apple_point))
    udta = box(b"udta", xyz + loci)
    moov = box(b"moov", box(b"mvhd", bytes(100)) + udta + box(b"meta", bytes(4) + keys + ilst))
    return ftyp(b"isom") + moov + box(b"mdat", bytes(range(256)))


def box_headers(data: bytes, containers: frozenset[bytes]) -> list[tuple[int, bytes]]:
    """(size, type) of every box, descending into the given container types."""
    headers, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
        headers.append((size, kind))
        if kind in containers:
            headers += box_headers(data[pos + 8 : pos + size], containers)
        pos += size
    return headers


def test_mp4_location_atoms_are_blanked_and_boxes_keep_their_shape() -> None:
    original = location_mp4()
    assert sniff(original[:SNIFF_BYTES]) is MediaKind.MP4

    stripped = strip_location(MediaKind.MP4, original)

    assert len(stripped) == len(original)
    assert POINT not in stripped
    assert b"+43.6480" not in stripped
    assert b"Head office" not in stripped
    assert struct.pack(">i", 43 << 16) not in stripped
    containers = frozenset({b"moov", b"udta"})
    assert box_headers(stripped, containers) == box_headers(original, containers)
    assert stripped.endswith(box(b"mdat", bytes(range(256))))


def test_mp4_metadata_after_a_64_bit_mdat_is_blanked_and_media_data_left_alone() -> None:
    # Coded media is never scanned, even when its bytes happen to look like a location.
    media = b"frame" + POINT + bytes(range(256))
    mdat = (1).to_bytes(4, "big") + b"mdat" + (16 + len(media)).to_bytes(8, "big") + media
    moov = box(b"moov", box(b"udta", box(b"\xa9xyz", b"\x00\x12\x15\xc7" + POINT)))
    original = ftyp(b"mp42") + mdat + moov

    stripped = strip_location(MediaKind.MP4, original)

    assert len(stripped) == len(original)
    assert stripped[: len(ftyp(b"mp42")) + len(mdat)] == original[: len(ftyp(b"mp42")) + len(mdat)]
    assert POINT not in stripped[-len(moov) :]


def test_heic_location_box_is_blanked() -> None:
    original = heic_with(box(b"\xa9xyz", b"\x00\x12\x15\xc7" + POINT))
    stripped = strip_location(MediaKind.HEIC, original)
    assert len(stripped) == len(original)
    assert POINT not in stripped


@pytest.mark.parametrize(
    "data",
    [
        b"\xa9xyz" + POINT,
        ftyp(b"isom") + b"\xff\xff\xff\xff\xa9xyz" + POINT,
        ftyp(b"isom") + b"\x00\x00\x00\x03loci",
        ftyp(b"isom") + b"\x00\x00\x00\x00loci\x00",
    ],
    ids=["no size", "size past the end", "size too small", "size zero"],
)
def test_malformed_location_boxes_never_raise(data: bytes) -> None:
    stripped = strip_location(MediaKind.MP4, data)
    assert len(stripped) == len(data)
    assert POINT not in stripped
