"""Secrets at rest: kubeconfigs are stored as Fernet tokens (AES-128-CBC with an HMAC).

The key comes from NETPOL_ENCRYPTION_KEY (one or more Fernet keys, comma-separated: the first
encrypts, all decrypt, so a key can be rotated). Without it, a key is derived from SECRET_KEY.
https://cryptography.io/en/latest/fernet/
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["DecryptionError", "decrypt_text", "encrypt_text"]


class DecryptionError(Exception):
    """The stored secret cannot be read with the configured keys."""


def _fernet() -> MultiFernet:
    keys = [key.strip() for key in settings.NETPOL_ENCRYPTION_KEY.split(",") if key.strip()]
    if not keys:
        digest = hashlib.sha256(f"netpol-kubeconfig:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt_text(text: str) -> str:
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise DecryptionError(
            "the stored kubeconfig cannot be decrypted: NETPOL_ENCRYPTION_KEY (or SECRET_KEY) changed; "
            "upload the kubeconfig again"
        ) from exc
