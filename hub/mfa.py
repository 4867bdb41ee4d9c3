"""Second factor: TOTP enrolment with a QR code, and code checks that refuse replays."""

from __future__ import annotations

from datetime import datetime

import pyotp
import segno
from cryptography.fernet import InvalidToken

from hub.keys import fernet
from partners.models import Role, User

ISSUER = "Vigil"
# People who publish, approve or administer can send alerts to a city; a password alone is
# not enough for them (ASVS 5.0 6.3.3).
MFA_ROLES = frozenset({Role.ADMIN, Role.PUBLISHER, Role.APPROVER})
_PURPOSE = "totp-seed"


def mfa_required(user: User) -> bool:
    return user.role in MFA_ROLES


def new_seed(user: User, secret_key: str) -> str:
    """Give the user a fresh, not yet confirmed TOTP seed; returns it in clear for the QR."""
    seed = pyotp.random_base32()
    user.totp_secret = fernet(secret_key, _PURPOSE).encrypt(seed.encode()).decode()
    user.totp_enabled_at = None
    return seed


def seed_of(user: User, secret_key: str) -> str | None:
    if not user.totp_secret:
        return None
    try:
        return fernet(secret_key, _PURPOSE).decrypt(user.totp_secret.encode()).decode()
    except InvalidToken:
        return None  # the secret key changed: the person must enrol again


def provisioning_uri(user: User, seed: str) -> str:
    return pyotp.TOTP(seed).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG data URI, so the page loads nothing from elsewhere."""
    return segno.make(uri, error="m").svg_data_uri(scale=4)


def check_code(user: User, secret_key: str, code: str, now: datetime,
               last_step: int | None) -> int | None:
    """The time step the code matched (one step of clock drift allowed), or None.

    A step at or before `last_step` is refused, so a code seen over a shoulder or in a
    proxy log cannot be used a second time.
    """
    seed = seed_of(user, secret_key)
    code = code.strip().replace(" ", "")
    if seed is None or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(seed)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step - 1, step, step + 1):
        if last_step is not None and candidate <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(candidate), code):
            return candidate
    return None
