"""Keys derived from VIGIL_SECRET_KEY, one per purpose, so no two uses share a key."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet


def fernet(secret_key: str, purpose: str) -> Fernet:
    """Authenticated encryption (AES-CBC + HMAC-SHA256) keyed for one purpose only."""
    digest = hmac.new(secret_key.encode(), f"vigil:{purpose}".encode(), hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(digest))
