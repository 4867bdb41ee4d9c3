"""Multipart bodies: reading their parts, small text fields, and photos and videos streamed
to disk, typed from their bytes, hashed and held to a limit as they come."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import BadHttpMessage

from hub.http import ApiError
from hub.media import SNIFF_BYTES, MediaKind, Upload, sniff
from partners.validation import InvalidInput

_PART_NAME = re.compile(r'name="([A-Za-z_]+)"')  # the part a refused header belongs to
ALLOWED = ", ".join(kind.value for kind in MediaKind)
CHUNK = 64 * 1024


def unsupported(field: str = "file") -> ApiError:
    return ApiError(415, "unsupported_media_type",
                    f"the file is not one of: {ALLOWED} (judged from its content, not its "
                    "name)", {field: f"must be {ALLOWED}"})


async def parts(request: web.Request) -> AsyncIterator[BodyPartReader]:
    """Each named part of a multipart body, in order; 422 naming what cannot be read."""
    try:
        reader = await request.multipart()
    except ValueError as error:  # no boundary, or one over RFC 2046's 70 characters
        raise InvalidInput({"body": f"the multipart Content-Type is not usable: {error}"}) \
            from None
    while (part := await _next_part(reader)) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            raise InvalidInput({"body": "nested multipart is not accepted"})
        yield part


async def _next_part(reader: MultipartReader) -> BodyPartReader | MultipartReader | None:
    """The next part, or an InvalidInput naming it when its headers cannot be read (a NUL
    or line break in a file name)."""
    try:
        return await reader.next()
    except BadHttpMessage as error:
        named = _PART_NAME.search(str(error))
        raise InvalidInput({named.group(1)[:40] if named else "body":
                            "has headers that are not valid (a control character in its "
                            "file name?)"}) from None


async def read_text(part: BodyPartReader, max_chars: int) -> str:
    """A small text field, refused once it passes the limit (chunks may come in pieces)."""
    raw = b""
    while chunk := await part.read_chunk(max_chars):
        raw += chunk
        if len(raw) > max_chars * 4:  # UTF-8 needs at most 4 bytes a character
            raise InvalidInput({str(part.name): f"must be at most {max_chars} characters"})
    return raw.decode("utf-8", errors="replace")


async def stream_file(part: BodyPartReader, limit: int, folder: Path,
                      too_large: ApiError) -> Upload | None:
    """Write the file to a temporary name, typing it from its first bytes, counting as it
    comes so one byte over `limit` is refused without holding the file in memory; None for
    an empty file part."""
    path = folder / f"incoming-{secrets.token_hex(16)}"
    digest, size, kind = hashlib.sha256(), 0, None
    head = b""
    try:
        with path.open("wb") as out:
            while chunk := await part.read_chunk(CHUNK):
                if kind is None:
                    # The first chunk may be a few bytes only: judge once SNIFF_BYTES are in.
                    head += chunk[:SNIFF_BYTES]
                    if len(head) >= SNIFF_BYTES and (kind := sniff(head)) is None:
                        raise unsupported(str(part.name))
                size += len(chunk)
                if size > limit:
                    raise too_large
                digest.update(chunk)
                out.write(chunk)
        if size and kind is None and (kind := sniff(head)) is None:
            raise unsupported(str(part.name))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if kind is None:
        path.unlink(missing_ok=True)
        return None
    return Upload(path, kind, size, digest.hexdigest(), part.filename or "")
