"""Evidence files encrypted at rest, each under its own key: destroying the key destroys the
file, in the database and in every backup of its chunks (crypto-shredding).

- **A data key per file**: 32 random bytes, AES-256-GCM (`cryptography`). The file is cut into
  segments of `SEGMENT` bytes, each sealed on its own (nonce: the segment's number; associated
  data: the file id, the segment's number and whether it is the last), so a byte range is read
  by decrypting only the segments it touches, and a segment cannot be moved, dropped or taken
  from another file without failing its tag.
- **Keys wrapped by the master key** (`RESOLUTION_MASTER_KEY`, 32 bytes as 64 hex characters):
  each data key is sealed with AES-256-GCM under the master key, bound to its file id, and
  kept in its own collection (`file_keys`), apart from the file's chunks. A record names its
  master key by id (`kek`: the first 16 hex digits of the key's SHA-256).
- **Rotation without re-encrypting files**: a new master key goes in `RESOLUTION_MASTER_KEY`,
  the old ones in `RESOLUTION_MASTER_KEY_PREVIOUS`; `resolution rotate-master-key` re-wraps
  every data key under the new one (key records only, a few bytes each); then the old key
  can go.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..config import parse_master_key

SEGMENT = 64 * 1024  # plaintext bytes per sealed segment
TAG = 16  # GCM's tag, after each segment
SEALED = SEGMENT + TAG
SCHEME = "aes-256-gcm-segmented/v1"
DEV_KEY_FILE = "master.key"


class KeyUnavailable(Exception):
    """The file's key record names a master key this process does not hold."""


class Damaged(Exception):
    """A segment failed its tag: the stored file is not what was written."""


def key_id(master: bytes) -> str:
    return hashlib.sha256(master).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The master key that wraps new data keys, and the earlier ones still unwrapping."""

    current: bytes
    previous: tuple[bytes, ...] = ()

    @classmethod
    def from_hex(cls, current: str, previous: tuple[str, ...] = ()) -> Keyring:
        return cls(bytes.fromhex(current), tuple(bytes.fromhex(k) for k in previous))

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def _by_id(self, kid: str) -> bytes:
        for master in (self.current, *self.previous):
            if key_id(master) == kid:
                return master
        raise KeyUnavailable(kid)

    def wrap(self, data_key: bytes, file_id: str) -> dict:
        """The key record of a file: its data key sealed under the current master key."""
        nonce = os.urandom(12)
        wrapped = AESGCM(self.current).encrypt(nonce, data_key, _wrap_aad(file_id))
        return {"kek": self.current_id, "nonce": nonce, "wrapped": wrapped, "scheme": SCHEME}

    def unwrap(self, record: Mapping, file_id: str) -> bytes:
        master = self._by_id(record["kek"])
        try:
            return AESGCM(master).decrypt(
                bytes(record["nonce"]), bytes(record["wrapped"]), _wrap_aad(file_id)
            )
        except InvalidTag as error:
            raise Damaged(f"the key record of file {file_id} does not open") from error

    def rewrapped(self, record: Mapping, file_id: str) -> dict:
        """The same data key, wrapped under the current master key."""
        return self.wrap(self.unwrap(record, file_id), file_id)


def _wrap_aad(file_id: str) -> bytes:
    return b"resolution-file-key/v1|" + file_id.encode()


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


# Use cases constructed without configuration (tests, one process) share this one.
_PROCESS_KEY = secrets.token_bytes(32)


def process_keyring() -> Keyring:
    return Keyring(_PROCESS_KEY)


def load(configured: str | None, previous: tuple[str, ...], data_dir: Path) -> Keyring:
    """The configured master key, or the development key of this data dir (made on first use,
    like the development signing key): production sets RESOLUTION_MASTER_KEY."""
    path = Path(data_dir) / DEV_KEY_FILE
    if configured:
        # A development data dir that first ran without a configured key keeps reading the
        # files wrapped under its own key (production has no such file).
        own = (parse_master_key(path.read_text(), str(path)),) if path.exists() else ()
        return Keyring.from_hex(configured, previous + own)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, draft = tempfile.mkstemp(dir=path.parent, prefix=".master-", text=True)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
            os.chmod(draft, 0o600)
            os.link(draft, path)  # several workers at once: the first link wins
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return Keyring.from_hex(parse_master_key(path.read_text().strip(), str(path)), previous)


def _nonce(index: int) -> bytes:
    return b"\0\0\0\0" + index.to_bytes(8, "big")


def _aad(file_id: str, index: int, last: bool) -> bytes:
    return f"resolution-file/v1|{file_id}|{index}|{int(last)}".encode()


def sealed_size(size: int) -> int:
    """How many bytes a file of `size` bytes takes once sealed."""
    segments = max(1, -(-size // SEGMENT))
    return size + segments * TAG


def plain_size(sealed: int) -> int:
    segments = max(1, -(-sealed // SEALED))
    return sealed - segments * TAG


class EncryptingReader(io.RawIOBase):
    """Reads `plain` (`size` bytes) as its sealed form, a segment at a time."""

    def __init__(self, plain: BinaryIO, size: int, data_key: bytes, file_id: str) -> None:
        self._plain, self._aead, self._file_id = plain, AESGCM(data_key), file_id
        self._segments = max(1, -(-size // SEGMENT))
        self._index, self._buffer = 0, b""

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        while (n < 0 or len(self._buffer) < n) and self._index < self._segments:
            chunk = self._plain.read(SEGMENT)
            last = self._index == self._segments - 1
            sealed = self._aead.encrypt(
                _nonce(self._index), chunk, _aad(self._file_id, self._index, last)
            )
            self._buffer += sealed
            self._index += 1
        if n < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def readinto(self, target) -> int:  # type: ignore[override]
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)


class DecryptingReader:
    """A sealed stored file read as its plaintext: seekable, with `length` (what the sending
    code needs of a file, as of a GridFS file), decrypting only the segments it reads."""

    def __init__(self, sealed, data_key: bytes, file_id: str) -> None:
        self._sealed, self._aead, self._file_id = sealed, AESGCM(data_key), file_id
        self._sealed_length = sealed.length
        self._segments = max(1, -(-self._sealed_length // SEALED))
        self.length = plain_size(self._sealed_length)
        self._position = 0
        self._cached: tuple[int, bytes] | None = None

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.length}[whence]
        self._position = max(0, base + offset)
        return self._position

    def _segment(self, index: int) -> bytes:
        if self._cached and self._cached[0] == index:
            return self._cached[1]
        self._sealed.seek(index * SEALED)
        sealed = self._sealed.read(SEALED)
        last = index == self._segments - 1
        try:
            plain = self._aead.decrypt(_nonce(index), sealed, _aad(self._file_id, index, last))
        except InvalidTag as error:
            raise Damaged(f"segment {index} of file {self._file_id} fails its tag") from error
        self._cached = (index, plain)
        return plain

    def read(self, n: int = -1) -> bytes:
        end = self.length if n is None or n < 0 else min(self.length, self._position + n)
        parts = []
        while self._position < end:
            index, offset = divmod(self._position, SEGMENT)
            piece = self._segment(index)[offset : offset + end - self._position]
            parts.append(piece)
            self._position += len(piece)
        return b"".join(parts)

    def close(self) -> None:
        self._sealed.close()
