"""One-click unsubscribe links (RFC 8058): each signed for one address with the journal's
secret, so that `sheetpipe serve` can tell a real link from a guessed one, and nobody can
unsubscribe an address they were not mailed at."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac


def unsubscribe_token(secret: bytes, address: str) -> str:
    """The link's last part for `address`: the address, and its signature."""
    plain = address.strip().lower()
    coded = base64.urlsafe_b64encode(plain.encode()).decode().rstrip("=")
    return f"{coded}.{_signature(secret, plain)}"


def address_of(secret: bytes, token: str) -> str | None:
    """The address a token was made for; None for a token sheetpipe did not sign."""
    coded, _, signature = token.partition(".")
    try:
        plain = base64.urlsafe_b64decode(coded + "=" * (-len(coded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return plain if hmac.compare_digest(signature, _signature(secret, plain)) else None


def _signature(secret: bytes, address: str) -> str:
    return hmac.new(secret, f"unsubscribe:{address}".encode(), hashlib.sha256).hexdigest()[:32]
