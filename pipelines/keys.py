"""The master secret and the keys derived from it (one place for every secret the app uses).

One master secret keys everything: the session cookie signature, the HMAC of phone numbers
kept for repeat-caller analysis, the contact vault's encryption and the digests of the
scrub cache. It comes from the
``secret_key`` setting or, when that is empty, from ``<security_dir>/secret.key``, generated
with 32 random bytes and mode 0600 on first use. Each purpose gets its own key derived with
HMAC-SHA256 over a label, so a leak of one derived key exposes nothing else.

Rotating the master secret signs everyone out, re-keys new phone hashes (old and new ones no
longer match) and makes the existing vault unreadable: rebuild after rotating.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from pipelines.settings import Settings

KEY_FILE = "secret.key"
#: Labels of the derived keys; a new purpose gets a new label, never an old one.
PURPOSES = ("session", "phone", "vault", "csrf", "scrub")


def _key_file(settings: Settings) -> Path:
    return settings.security_directory / KEY_FILE


def master(settings: Settings) -> bytes:
    """Return the master secret, creating the key file on first use.

    Raises
    ------
    ValueError
        When the key file exists but is too short to be a key (truncated or edited).
    """
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    path = _key_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = secrets.token_hex(32).encode("ascii")
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(fresh)
    key = path.read_bytes().strip()
    if len(key) < 32:
        raise ValueError(f"{path} holds {len(key)} bytes; a key needs at least 32")
    return key


def derive(settings: Settings, purpose: str) -> bytes:
    """Return the 32-byte key for ``purpose`` (one of :data:`PURPOSES`)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown key purpose {purpose!r}; expected one of {PURPOSES}")
    return hmac.new(master(settings), purpose.encode("ascii"), hashlib.sha256).digest()
