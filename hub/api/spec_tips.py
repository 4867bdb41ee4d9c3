"""The OpenAPI document's part for public tips: taking them in (multipart and tus uploads),
evidence requests, police review and case bundles."""

from __future__ import annotations

from typing import Any

from hub import evidence, tips, tus
from hub.api.spec_operations import PUBLIC, answer, by_id, listing, operation
from hub.api.spec_schemas import (
    DATE_TIME,
    ID,
    MOMENT,
    Schema,
    closed,
    enum_schema,
    nullable,
    obj,
    ref,
    text,
)
from hub.media import MIME_TYPES
from hub.models import EvidenceStatus, TipStatus
from hub.settings import Settings

SHA256: Schema = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
SIZE: Schema = {"type": "integer", "minimum": 0}
DEFAULT_MAX = Settings().tip_max_bytes
MAX_SIZE = (f"`VIGIL_TIP_MAX_BYTES` ({DEFAULT_MAX} bytes, 2 GiB, by default; this document "
            "states the default)")
ANONYMOUS = ("Nothing of the request that brings a tip is kept or logged: no address, no "
             "header; the audit trail names its sender `public:tip`.")
TUS_VERSION = {"name": "Tus-Resumable", "in": "header", "required": True,
               "schema": {"type": "string", "const": tus.VERSION},
               "description": "the tus protocol version; any other, or none, is 412"}
TUS_ANSWER = {"Tus-Resumable": {"schema": {"type": "string", "const": tus.VERSION}}}
# A tip says something (text that is not all spaces) or brings a file or an upload.
SAYS_SOMETHING: Schema = {"required": ["text"], "properties": {"text": {"pattern": r"\S"}}}
BRINGS_A_FILE: list[Schema] = [
    {"required": ["file"], "properties": {"file": {"minItems": 1, "items": {"minLength": 1}}}},
    {"required": ["upload"], "properties": {"upload": {"minItems": 1}}}]


def precondition() -> dict[str, Any]:
    return answer("`tus_version`: `Tus-Resumable` is missing or not 1.0.0.", ref("Error"),
                  TUS_ANSWER)


def tip_schemas() -> dict[str, Schema]:
    file = {"type": "string", "contentMediaType": "application/octet-stream",
            "description": "a photo or video, typed from its bytes (JPEG, PNG, WebP, HEIC or "
            "MP4, else 415) and kept byte for byte; an empty part means no file"}
    files = {"file": {"type": "array", "items": file, "maxItems": tips.MAX_FILES},
             "upload": {"type": "array", "maxItems": tips.MAX_FILES, "items": {
                 "type": "string", "maxLength": 400,
                 "description": "the URL (or the secret at its end) of a finished upload"}}}
    fields = {"text": text(tips.MAX_TEXT, description="what the tipster saw; required when "
                           "no file or upload comes with it"),
              "contact": text(tips.MAX_CONTACT, line=True, description="how police may reach "
                              "them, if they wish; leave it out to stay anonymous"),
              "evidence_request": text(100, line=True, description="the slug of an open "
                                       "evidence request; left out, a general tip")}
    return {
        "TipStatus": enum_schema(TipStatus), "EvidenceStatus": enum_schema(EvidenceStatus),
        "TipCreate": obj({**fields, **files}, description="Text, a file or an upload at "
                         "least; any other part is refused (422); at most "
                         f"{tips.MAX_FILES} files and uploads in all.",
                         anyOf=[SAYS_SOMETHING, *BRINGS_A_FILE]),
        "TipFields": obj({**fields, "upload": files["upload"]},
                         description="A tip without files of its own, as a urlencoded form.",
                         anyOf=[SAYS_SOMETHING, BRINGS_A_FILE[1]]),
        "TipFiles": obj(files, description="At least one file or upload.",
                        anyOf=BRINGS_A_FILE),
        "TipReceipt": closed({
            "receipt": {"type": "string", "description": "the code that adds files to this "
                        "tip later (`POST /api/v1/tips/{receipt}/files`); shown this once"},
            "files": {"type": "array", "items": closed({
                "name": {"type": "string"}, "size": SIZE, "sha256": SHA256})}}),
        "UploadCreated": closed({"url": {"type": "string"}, "length": SIZE, "offset": SIZE}),
        "TipFile": closed({"id": ID, "name": {"type": "string"}, "kind": ref("MediaKind"),
                           "size": SIZE, "sha256": SHA256, "received": DATE_TIME,
                           "url": {"type": "string", "description": "where to GET it as "
                                   "received (the download is audited)"}}),
        "Tip": closed({"id": ID, "evidence_request_id": nullable(ID),
                       "text": {"type": "string"}, "contact": nullable({"type": "string"}),
                       "status": ref("TipStatus"), "duplicate_of": nullable(ID),
                       "moderated_by": nullable({"type": "string"}),
                       "moderated": nullable(DATE_TIME), "created": DATE_TIME,
                       "files": listing("TipFile")}),
        "TipModerate": {"oneOf": [
            obj({"status": {"enum": [s.value for s in TipStatus
                                     if s is not TipStatus.DUPLICATE]}}, ("status",)),
            obj({"status": {"const": TipStatus.DUPLICATE.value},
                 "duplicate_of": nullable(ID)}, ("status",))],
            "description": "`duplicate_of` (another tip you can see) only with the status "
                           "`duplicate`."},
        **evidence_schemas(),
    }


def evidence_schemas() -> dict[str, Schema]:
    made = {"title": text(evidence.MAX_TITLE, 1, line=True),
            "description": text(evidence.MAX_DESCRIPTION, 1),
            "area": ref("Area"), "starts": MOMENT, "ends": MOMENT}
    shown: dict[str, Schema] = {
        "id": ID, "slug": {"type": "string"},
        "url": {"type": "string", "description": "the public TLP:CLEAR page, `/tips/<slug>`"},
        "organisation_id": ID, "title": {"type": "string"}, "description": {"type": "string"},
        "area": {"anyOf": [ref("Area"), {"type": "null"}]},
        "starts": nullable(DATE_TIME), "ends": nullable(DATE_TIME),
        "status": ref("EvidenceStatus"), "created_by": {"type": "string"},
        "created": DATE_TIME, "closed_by": nullable({"type": "string"}),
        "closed": nullable(DATE_TIME)}
    return {
        "EvidenceRequestCreate": obj(made, ("title", "description"),
                                     description="`ends` must be after `starts`."),
        "EvidenceRequest": obj({**shown, "tips": SIZE}, tuple(shown),
                               description="`tips`, how many it has, in lists and answers "
                               "to its creation"),
    }


def tip_paths() -> dict[str, Any]:
    taken = {"201": answer("Stored: the receipt, and each file's hash.", ref("TipReceipt"))}
    too_large = answer(f"The files of the request are larger than {MAX_SIZE}, in all.",
                       ref("Error"))
    unsupported = answer("A file's bytes are not JPEG, PNG, WebP, HEIC or MP4.", ref("Error"))
    closed_request = answer("`closed`: the evidence request takes no more tips.", ref("Error"))
    multipart = {"multipart/form-data": {"schema": ref("TipCreate")},
                 "application/x-www-form-urlencoded": {"schema": ref("TipFields")}}
    receipt = {"name": "receipt", "in": "path", "required": True,
               "schema": {"type": "string", "maxLength": 100}}
    return {
        "/api/v1/tips": {
            "post": operation(
                "tip_create", "tips", "Send a tip (anyone, no account): text, photos and "
                "videos (here, or as finished uploads), an optional contact, and the evidence "
                f"request it answers, if any. {ANONYMOUS} Rate-limited per address.",
                {**taken, "409": closed_request, "413": too_large, "415": unsupported},
                403, 404, 422, 429, security=PUBLIC,
                requestBody={"required": True, "content": multipart}),
            "get": operation(
                "tip_list", "tips", f"Tips, the {tips.MAX_LISTED} newest first, with their "
                "files' names, sizes and "
                "SHA-256 (hub admins; police publishers and approvers: general tips and their "
                "own service's). Each tip listed is audited as viewed.",
                {"200": answer("The tips.", listing("Tip"))}, 401, 403, 404, 422,
                parameters=[
                    {"name": "evidence_request", "in": "query", "required": False,
                     "description": "an evidence request's id, or `none` for general tips",
                     "schema": {"type": "string", "maxLength": 32}},
                    {"name": "status", "in": "query", "required": False,
                     "schema": ref("TipStatus")}])},
        "/api/v1/tips/{receipt}/files": {"parameters": [receipt], "post": operation(
            "tip_add_files", "tips", "Add photos or videos to a tip with its receipt (the "
            f"receipt is the whole authority). {ANONYMOUS}",
            {**taken, "409": closed_request, "413": too_large, "415": unsupported},
            403, 404, 422, 429, security=PUBLIC, requestBody={"required": True, "content": {
                "multipart/form-data": {"schema": ref("TipFiles")}}})},
        "/api/v1/tips/{id}": by_id(
            get=operation("tip_show", "tips", "One tip (audited as viewed).",
                          {"200": answer("The tip.", ref("Tip"))}, 401, 403, 404),
            patch=operation("tip_moderate", "tips", "Set a tip's status, recording who and "
                            "when.", {"200": answer("The tip.", ref("Tip"))},
                            401, 403, 404, 422, body="TipModerate")),
        "/api/v1/tips/{id}/files/{file}": {
            "parameters": [{"$ref": "#/components/parameters/id"},
                           {"name": "file", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "get": operation("tip_file", "tips", "A tip's file, byte for byte as received, its "
                          "metadata intact (audited as downloaded).", {"200": {
                              "description": "The file.", "content": {
                                  mime: {"schema": {"type": "string",
                                                    "contentMediaType": mime}}
                                  for mime in MIME_TYPES.values()}}}, 401, 403, 404)},
        **upload_paths(), **evidence_paths(),
    }


def upload_paths() -> dict[str, Any]:
    secret = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "the upload's secret, the last part of its URL"}
    offset = {"Upload-Offset": {"schema": {"type": "integer", "minimum": 0}}}
    return {
        "/api/v1/tips/uploads": {
            "options": operation(
                "upload_options", "tips", "What the tus endpoint speaks.",
                {"204": {"description": "tus 1.0, with the creation extension.", "headers": {
                    **TUS_ANSWER, "Tus-Version": {"schema": {"type": "string"}},
                    "Tus-Extension": {"schema": {"type": "string"}},
                    "Tus-Max-Size": {"schema": {"type": "integer"}}}}}, security=PUBLIC),
            "post": operation(
                "upload_create", "tips", "Start a resumable upload (tus 1.0 creation) of a "
                f"photo or video of at most {MAX_SIZE}. Its URL is its only authority. "
                f"{ANONYMOUS} Rate-limited per address.",
                {"201": answer("Created at `Location`.", ref("UploadCreated"), {
                    "Location": {"schema": {"type": "string"}}, **TUS_ANSWER}),
                 "412": precondition(),
                 "413": answer(f"`Upload-Length` is larger than {MAX_SIZE}.", ref("Error"))},
                403, 422, 429, security=PUBLIC, parameters=[
                    TUS_VERSION,
                    {"name": "Upload-Length", "in": "header", "required": True,
                     "schema": {"type": "integer", "minimum": 1, "maximum": DEFAULT_MAX}},
                    {"name": "Upload-Metadata", "in": "header", "required": False,
                     "description": "`key base64` pairs; `filename` is shown to police",
                     "schema": {"type": "string", "pattern": f"^{tus.METADATA.pattern}$"}}])},
        "/api/v1/tips/uploads/{id}": {
            "parameters": [secret],
            "head": operation(
                "upload_offset", "tips", "Where the upload stands: resume from its "
                "`Upload-Offset`.",
                {"200": {"description": "The upload.", "headers": {
                    **offset, "Upload-Length": {"schema": {"type": "integer"}},
                    **TUS_ANSWER}},
                 "404": answer("No such upload, or it was taken into a tip.", None,
                               TUS_ANSWER),
                 "412": {"description": "`Tus-Resumable` is missing or not 1.0.0."}},
                security=PUBLIC, parameters=[TUS_VERSION]),
            "patch": operation(
                "upload_append", "tips", "Append bytes at `Upload-Offset`; what arrives is "
                "written as it comes, so a dropped connection keeps it. Complete once the "
                "offset reaches the length; the file is then typed and hashed.",
                {"204": {"description": "Appended.", "headers": {**offset, **TUS_ANSWER}},
                 "409": answer("`Upload-Offset` is not where the upload stands (or another "
                               "PATCH of it is under way).", ref("Error")),
                 "412": precondition(),
                 "413": answer("The bytes would pass the upload's `Upload-Length`; nothing of "
                               "them is kept.", ref("Error")),
                 "415": answer("Not `application/offset+octet-stream`, or the upload's first "
                               "bytes are no photo or video (the upload is discarded).",
                               ref("Error"))},
                403, 404, 422, security=PUBLIC, parameters=[
                    TUS_VERSION,
                    {"name": "Upload-Offset", "in": "header", "required": True,
                     "schema": {"type": "integer", "minimum": 0, "maximum": DEFAULT_MAX}}],
                # Any bytes: the schema holds no type a body could break.
                requestBody={"required": True, "content": {tus.OCTETS: {"schema": {
                    "contentMediaType": "application/octet-stream",
                    "description": "the next bytes of the file, from `Upload-Offset` on"}}}})},
    }


def evidence_paths() -> dict[str, Any]:
    return {
        "/api/v1/evidence-requests": {
            "post": operation(
                "evidence_create", "evidence", "Open an evidence request (a publisher of a "
                "police service): its public TLP:CLEAR page takes tips until it is closed.",
                {"201": answer("Opened.", ref("EvidenceRequest"))}, 401, 403, 422,
                body="EvidenceRequestCreate"),
            "get": operation(
                "evidence_list", "evidence", "Evidence requests, newest first, with their "
                "tip counts (hub admins: all; police staff: their service's).",
                {"200": answer("The requests.", listing("EvidenceRequest"))}, 401, 403)},
        "/api/v1/evidence-requests/{id}/close": by_id(post=operation(
            "evidence_close", "evidence", "Close a request to new tips (its publishers, or a "
            "hub admin); its page stays. Closing again changes nothing.",
            {"200": answer("Closed.", ref("EvidenceRequest"))}, 401, 403, 404)),
        "/api/v1/evidence-requests/{id}/bundle": by_id(get=operation(
            "evidence_bundle", "evidence", "The case bundle: a zip of every file of the "
            "request's tips as received, and `manifest.json` (the request, its tips, each "
            "file's path, name, size, SHA-256 and receive time, and the custody log: every "
            "audit event about them, this export included). `vigil tips verify BUNDLE` "
            "checks it.",
            {"200": {"description": "The bundle.", "headers": {"Content-Disposition": {
                "schema": {"type": "string"}}},
                "content": {"application/zip": {"schema": {
                    "type": "string", "contentMediaType": "application/zip"}}}}},
            401, 403, 404)),
    }
