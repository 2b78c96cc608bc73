"""Protect personal data: AES-256-GCM encryption, keyed match hashes, masking, and a masking log filter."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import unicodedata
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Distinct HKDF info labels (RFC 5869 §3.2) make the encryption and HMAC keys independent of each other.
_ENC_INFO = b"subsidy_app/personal_data/aes-256-gcm/v1"
_MAC_INFO = b"subsidy_app/personal_data/hmac-sha256/v1"
_NONCE_LEN = 12  # 96-bit random nonce, the size NIST SP 800-38D recommends for GCM
_TAG_LEN = 16


class CiphertextInvalid(ValueError):
    """A stored personal-data blob is truncated, tampered with, or under an unknown key version."""


def _derive(data_key: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(data_key.encode("utf-8"))


def _normalise_for_match(plain: str) -> str:
    # Full-width digits, stray spaces and a lower-case x must not make one person look like two.
    return "".join(unicodedata.normalize("NFKC", plain).split()).upper()


class PersonalDataCipher:
    """Encrypt, decrypt and match-hash personal data under keys derived from DATA_KEY."""

    def __init__(
        self, data_key: str, *, key_version: int = 1, old_keys: Mapping[int, str] | None = None
    ) -> None:
        """Derive keys from data_key (a high-entropy secret); old_keys maps retired versions to old keys."""
        if not data_key:
            raise ValueError("DATA_KEY must not be empty")
        if not 0 <= key_version <= 255:
            raise ValueError("key_version must fit in one byte")
        self._version = key_version
        secrets = {**(old_keys or {}), key_version: data_key}
        if any(not 0 <= v <= 255 for v in secrets):
            raise ValueError("key versions must fit in one byte")
        self._aead = {v: AESGCM(_derive(k, _ENC_INFO)) for v, k in secrets.items()}
        # Only the current key hashes: a rotation must re-hash stored values, or lookups miss.
        self._mac_key = _derive(data_key, _MAC_INFO)

    @property
    def key_version(self) -> int:
        """Return the key version new ciphertexts are written under."""
        return self._version

    def encrypt(self, plain: str) -> bytes:
        """Encrypt text as version byte + random nonce + AES-GCM ciphertext and tag."""
        return self.encrypt_bytes(plain.encode("utf-8"))

    def decrypt(self, blob: bytes) -> str:
        """Decrypt a blob from encrypt(), under whichever known key version it names."""
        return self.decrypt_bytes(blob).decode("utf-8")

    def encrypt_bytes(self, data: bytes) -> bytes:
        """Encrypt bytes (an uploaded file) in the same format as encrypt()."""
        header = bytes([self._version])
        nonce = os.urandom(_NONCE_LEN)
        # The version byte is authenticated data, so relabelling a blob to another key is detected.
        return header + nonce + self._aead[self._version].encrypt(nonce, data, header)

    def decrypt_bytes(self, blob: bytes) -> bytes:
        """Decrypt a blob from encrypt_bytes() or encrypt(), under whichever known key version it names."""
        if len(blob) < 1 + _NONCE_LEN + _TAG_LEN:
            raise CiphertextInvalid("ciphertext is too short")
        aead = self._aead.get(blob[0])
        if aead is None:
            raise CiphertextInvalid(f"unknown key version {blob[0]}")
        try:
            return aead.decrypt(blob[1 : 1 + _NONCE_LEN], blob[1 + _NONCE_LEN :], blob[:1])
        except InvalidTag:
            raise CiphertextInvalid("ciphertext failed authentication") from None

    def reencrypt(self, blob: bytes) -> bytes:
        """Return the blob encrypted under the current key version, for key rotation."""
        return self.encrypt(self.decrypt(blob))

    def match_hash(self, plain: str) -> str:
        """Return the HMAC-SHA256 hex of the normalised value, for equality lookups without clear text."""
        message = _normalise_for_match(plain).encode("utf-8")
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()


# --- Masking ---------------------------------------------------------------------------------------
def mask_middle(value: str, keep_start: int, keep_end: int, *, mask_char: str = "*") -> str:
    """Replace all but the first keep_start and last keep_end characters; mask all if too short."""
    if keep_start < 0 or keep_end < 0:
        raise ValueError("keep counts must not be negative")
    if len(value) <= keep_start + keep_end:
        # Too short to leave anything in clear without revealing (almost) the whole value.
        return mask_char * len(value)
    return (
        value[:keep_start] + mask_char * (len(value) - keep_start - keep_end) + value[len(value) - keep_end :]
    )


def _squeeze(value: str) -> str:
    return "".join(value.split()).replace("-", "")


def mask_resident_id(value: str) -> str:
    """Mask a resident ID, keeping the first 4 (province and city) and last 4 characters."""
    return mask_middle(_squeeze(value).upper(), 4, 4)


def mask_bank_card(value: str) -> str:
    """Mask a bank card number, keeping the first 4 and last 4 digits."""
    return mask_middle(_squeeze(value), 4, 4)


def mask_phone(value: str) -> str:
    """Mask a mobile number, keeping the first 3 and last 4 digits."""
    return mask_middle(_squeeze(value), 3, 4)


def mask_name(value: str) -> str:
    """Mask a person's name, keeping only its first character."""
    return mask_middle(value.strip(), 1, 0)


# An 18-character resident ID (17 digits + digit or X), not part of a longer digit run.
_RESIDENT_ID_TEXT = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
# A 16-19 digit card number, either unbroken or in groups of four split by single spaces or hyphens.
_CARD_TEXT = re.compile(
    r"(?<![0-9])(?:[0-9]{16,19}|[0-9]{4}(?:[ -][0-9]{4}){3}(?:[ -]?[0-9]{1,3})?)(?![0-9])"
)


def mask_personal_text(text: str) -> str:
    """Mask every resident ID and card number found in free text."""
    text = _RESIDENT_ID_TEXT.sub(lambda m: mask_resident_id(m.group()), text)
    return _CARD_TEXT.sub(lambda m: mask_bank_card(m.group()), text)


def _mask_arg(arg: object) -> object:
    masked = mask_personal_text(str(arg))
    return arg if masked == str(arg) else masked


class PersonalDataLogFilter(logging.Filter):
    """Mask resident IDs and card numbers in log records; attach it to handlers so it sees every record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message, arguments, traceback and stack text with personal data masked."""
        try:
            message = record.getMessage()
        except Exception:
            # Formatting fails later anyway; logging then prints msg and args to stderr, so mask both.
            record.msg = mask_personal_text(str(record.msg))
            if isinstance(record.args, Mapping):
                record.args = {k: _mask_arg(v) for k, v in record.args.items()}
            elif record.args:
                record.args = tuple(_mask_arg(a) for a in record.args)
        else:
            # Merging args into msg masks values of any type (an int card number under %d, say).
            record.msg = mask_personal_text(message)
            record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_text(record.stack_info)
        return True
