"""The service's Ed25519 key: it signs audit export manifests, and anyone can check them.

The private key comes from configuration: `RESOLUTION_SIGNING_KEY` (base64 of the 32-byte
seed, as printed by `resolution keys --generate`). Without it, a development key is made once
and kept in the data dir (`signing.key`, mode 600); production sets the variable.
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..config import ConfigError

DEV_KEY_FILE = "signing.key"


def generate() -> str:
    """A new private key, base64, for `RESOLUTION_SIGNING_KEY`."""
    return _b64(Ed25519PrivateKey.generate().private_bytes_raw())


def load(configured: str | None, data_dir: Path) -> Ed25519PrivateKey:
    """The configured key, or the development key of this data dir (made on first use)."""
    if configured:
        return _private(configured, "RESOLUTION_SIGNING_KEY")
    path = Path(data_dir) / DEV_KEY_FILE
    if not path.exists():
        # Several workers may start at once on a fresh data dir: each writes a whole key to a
        # file of its own, and links it into place; the first link wins, the others read it.
        # (Creating the file in place would let a reader see it still empty.)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, draft = tempfile.mkstemp(dir=path.parent, prefix=".signing-", text=True)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(generate())
            os.chmod(draft, 0o600)
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return _private(path.read_text().strip(), str(path))


def public_key(key: Ed25519PrivateKey) -> str:
    """The public half, base64 of its 32 raw bytes: what auditors pin."""
    return _b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return _b64(key.sign(message))


def verify(public: str, message: bytes, signature: str) -> bool:
    """True when `signature` over `message` was made by the key whose public half is `public`."""
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public, validate=True)).verify(
            base64.b64decode(signature, validate=True), message
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def _private(text: str, where: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except ValueError as error:
        raise ConfigError(f"{where} is not a base64 Ed25519 key: {error}") from error


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
