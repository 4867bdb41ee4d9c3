"""Schemathesis hooks for the conformance run: how to make the values of the API's own formats.

Loaded by `st run` through the config file that tests/hub/test_api_conformance.py writes.
"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

# `apprise-url`: a URL apprise loads in its own scheme. Which schemes load, and what each
# needs after `://`, is apprise's to judge, so valid ones are drawn from one it always
# loads (a JSON webhook); the hub refuses the rest with a 422 naming `chat_url`.
schemathesis.openapi.format("apprise-url", st.builds(
    "json://{}/{}".format,
    st.from_regex(r"[a-z][a-z0-9-]{0,30}(\.[a-z]{2,6}){0,2}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_-]{0,40}", fullmatch=True)))

# A tus PATCH carries raw bytes as `application/offset+octet-stream`, as an upload of any
# file would: sent as the octet stream they are.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
