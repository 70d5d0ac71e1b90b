"""SHA-256 for the start-up path: CPython's own implementation, without loading OpenSSL.

``import hashlib`` loads OpenSSL, which costs a tenth of `render --check`'s budget;
the digests are the same either way.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any


def _constructor() -> Any:
    try:
        from _sha256 import sha256  # CPython 3.11

        return sha256
    except ImportError:
        pass
    try:
        from _sha2 import sha256  # CPython 3.12 and later

        return sha256
    except ImportError:
        from hashlib import sha256

        return sha256


_SHA256 = _constructor()


def sha256_hex(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    digest: str = _SHA256(data).hexdigest()
    return digest
