"""Personal data is encrypted tamper-evidently, hashed for matching, masked, and never logged in clear."""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import re
import uuid
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from subsidy_app.core.personal_data import (
    CiphertextInvalid,
    PersonalDataCipher,
    PersonalDataLogFilter,
    mask_bank_card,
    mask_middle,
    mask_name,
    mask_personal_text,
    mask_phone,
    mask_resident_id,
)

KEY = "test-data-key-0123456789abcdef0123456789abcdef"
RESIDENT_ID = "11010519491231002X"
CARD = "6222021234567890128"
# Chinese input methods can type full-width digits and letters (U+FF10...).
FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789X"}


@pytest.fixture
def cipher() -> PersonalDataCipher:
    return PersonalDataCipher(KEY)


# --- Encryption -----------------------------------------------------------------------------------
@pytest.mark.parametrize("plain", [RESIDENT_ID, CARD, "张三丰", "", "a" * 1000])
def test_encrypt_round_trips(cipher: PersonalDataCipher, plain: str) -> None:
    blob = cipher.encrypt(plain)
    assert plain.encode() not in blob or plain == ""
    assert cipher.decrypt(blob) == plain
    assert PersonalDataCipher(KEY).decrypt(blob) == plain  # a fresh instance derives the same key


def test_blob_is_version_nonce_ciphertext_and_tag(cipher: PersonalDataCipher) -> None:
    blob = cipher.encrypt(RESIDENT_ID)
    assert blob[0] == 1
    assert len(blob) == 1 + 12 + len(RESIDENT_ID) + 16


def test_each_encryption_uses_a_fresh_nonce(cipher: PersonalDataCipher) -> None:
    blobs = [cipher.encrypt(RESIDENT_ID) for _ in range(20)]
    assert len({b[1:13] for b in blobs}) == 20
    assert len(set(blobs)) == 20


@pytest.mark.parametrize("position", [0, 1, 12, 13, 20, -1])
def test_flipping_any_byte_is_detected(cipher: PersonalDataCipher, position: int) -> None:
    blob = bytearray(cipher.encrypt(RESIDENT_ID))
    blob[position] ^= 0x01
    with pytest.raises(CiphertextInvalid):
        cipher.decrypt(bytes(blob))


@pytest.mark.parametrize("length", [0, 1, 13, 28])
def test_truncated_blob_is_rejected(cipher: PersonalDataCipher, length: int) -> None:
    with pytest.raises(CiphertextInvalid):
        cipher.decrypt(cipher.encrypt("")[:length])


def test_wrong_key_cannot_decrypt(cipher: PersonalDataCipher) -> None:
    with pytest.raises(CiphertextInvalid, match="authentication"):
        PersonalDataCipher(KEY + "x").decrypt(cipher.encrypt(RESIDENT_ID))


def test_file_bytes_encrypt_in_the_same_format_and_a_wrong_key_cannot_open_them(cipher: PersonalDataCipher) -> None:
    data = b"\xef\xbb\xbf" + f"购买人身份证号\n{RESIDENT_ID}\n".encode() + bytes(range(256))
    blob = cipher.encrypt_bytes(data)
    assert RESIDENT_ID.encode() not in blob and blob[0] == 1 and len(blob) == 1 + 12 + len(data) + 16
    assert PersonalDataCipher(KEY).decrypt_bytes(blob) == data
    with pytest.raises(CiphertextInvalid, match="authentication"):
        PersonalDataCipher(KEY + "x").decrypt_bytes(blob)


def test_rotated_key_still_reads_old_blobs_and_reencrypts_under_the_new_version() -> None:
    old_blob = PersonalDataCipher("old-key", key_version=1).encrypt(RESIDENT_ID)
    rotated = PersonalDataCipher("new-key", key_version=2, old_keys={1: "old-key"})
    assert rotated.key_version == 2
    assert rotated.decrypt(old_blob) == RESIDENT_ID
    new_blob = rotated.reencrypt(old_blob)
    assert new_blob[0] == 2
    assert PersonalDataCipher("new-key", key_version=2).decrypt(new_blob) == RESIDENT_ID
    with pytest.raises(CiphertextInvalid, match="unknown key version 1"):
        PersonalDataCipher("new-key", key_version=2).decrypt(old_blob)


def test_relabelled_version_byte_is_detected() -> None:
    # Same secret under two versions: the version byte is authenticated, so swapping it must fail.
    cipher = PersonalDataCipher("k", key_version=2, old_keys={1: "k"})
    blob = bytearray(cipher.encrypt(RESIDENT_ID))
    blob[0] = 1
    with pytest.raises(CiphertextInvalid, match="authentication"):
        cipher.decrypt(bytes(blob))


@pytest.mark.parametrize(
    ("key", "kwargs", "problem"),
    [
        ("", {}, "must not be empty"),
        (KEY, {"key_version": 256}, "one byte"),
        (KEY, {"key_version": -1}, "one byte"),
        (KEY, {"old_keys": {300: "x"}}, "one byte"),
    ],
)
def test_bad_key_configuration_is_refused(key: str, kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        PersonalDataCipher(key, **kwargs)  # type: ignore[arg-type]


# --- Match hash -----------------------------------------------------------------------------------
def test_match_hash_is_stable_hex(cipher: PersonalDataCipher) -> None:
    digest = cipher.match_hash(RESIDENT_ID)
    assert re.fullmatch("[0-9a-f]{64}", digest)
    assert digest == PersonalDataCipher(KEY).match_hash(RESIDENT_ID)


@pytest.mark.parametrize(
    "variant", ["11010519491231002x", " 110105 19491231002X ", RESIDENT_ID.translate(FULL_WIDTH)]
)
def test_match_hash_normalises_before_hashing(cipher: PersonalDataCipher, variant: str) -> None:
    assert cipher.match_hash(variant) == cipher.match_hash(RESIDENT_ID)


def test_match_hash_depends_on_key_and_value(cipher: PersonalDataCipher) -> None:
    digest = cipher.match_hash(RESIDENT_ID)
    assert PersonalDataCipher(KEY + "x").match_hash(RESIDENT_ID) != digest
    assert cipher.match_hash("110105194912310021") != digest


def test_match_hash_key_is_independent_of_encryption_key(cipher: PersonalDataCipher) -> None:
    # A hash computed with the encryption key instead would mean one leaked key serves both purposes.
    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(KEY.encode())

    enc_key = derive(b"subsidy_app/personal_data/aes-256-gcm/v1")
    mac_key = derive(b"subsidy_app/personal_data/hmac-sha256/v1")
    assert enc_key != mac_key
    assert (
        cipher.match_hash(RESIDENT_ID) == hmac.new(mac_key, RESIDENT_ID.encode(), hashlib.sha256).hexdigest()
    )


# --- Masking --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("function", "raw", "masked"),
    [
        (mask_resident_id, "11010519491231002X", "1101**********002X"),
        (mask_resident_id, "11010519491231002x", "1101**********002X"),
        (mask_resident_id, " 110105 19491231002X", "1101**********002X"),
        (mask_bank_card, "6222021234561234", "6222********1234"),
        (mask_bank_card, "6222 0212 3456 1234", "6222********1234"),
        (mask_bank_card, "6222021234567890128", "6222***********0128"),
        (mask_phone, "13812345678", "138****5678"),
        (mask_phone, "138-1234-5678", "138****5678"),
        (mask_name, "张三丰", "张**"),
        (mask_name, "张三", "张*"),
        (mask_name, "欧阳娜娜", "欧***"),
        (mask_name, "张", "*"),
        (mask_name, "", ""),
    ],
)
def test_masking_exact_output(function: Callable[[str], str], raw: str, masked: str) -> None:
    assert function(raw) == masked


@pytest.mark.parametrize(
    ("value", "start", "end", "masked"),
    [
        ("abcdef", 2, 2, "ab**ef"),
        ("abcdef", 0, 1, "*****f"),
        ("abcdef", 1, 0, "a*****"),
        ("abcd", 2, 2, "****"),  # too short: nothing stays in clear
        ("abc", 2, 2, "***"),
        ("", 0, 0, ""),
    ],
)
def test_mask_middle(value: str, start: int, end: int, masked: str) -> None:
    assert mask_middle(value, start, end) == masked


def test_mask_middle_custom_char_and_negative_counts() -> None:
    assert mask_middle("abcdef", 1, 1, mask_char="#") == "a####f"
    with pytest.raises(ValueError, match="negative"):
        mask_middle("abcdef", -1, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"id={RESIDENT_ID};", "id=1101**********002X;"),
        ("id 11010519491231002x ok", "id 1101**********002X ok"),
        (f"card {CARD}", "card 6222***********0128"),
        ("card 6222 0212 3456 1234 end", "card 6222********1234 end"),
        ("card 6222-0212-3456-1234", "card 6222********1234"),
        ("invoice 24112000000000123456", "invoice 24112000000000123456"),  # 20 digits: not a card
        ("phone 13812345678 amount 15000", "phone 13812345678 amount 15000"),
    ],
)
def test_mask_personal_text(text: str, expected: str) -> None:
    assert mask_personal_text(text) == expected


# --- Log filter -----------------------------------------------------------------------------------
@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataLogFilter())
    logger = logging.getLogger(f"test.personal_data.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("msg", "args", "masked"),
    [
        ("applicant %s", (RESIDENT_ID,), "applicant 1101**********002X"),
        ("card %d", (int(CARD),), "card 6222***********0128"),
        (f"inline {RESIDENT_ID} and {CARD}", (), "inline 1101**********002X and 6222***********0128"),
        ("%(who)s paid to %(card)s", ({"who": "x", "card": CARD},), "x paid to 6222***********0128"),
        ("nothing personal: %s%%", (42,), "nothing personal: 42%"),
    ],
)
def test_log_filter_masks_message_and_args(
    log: tuple[logging.Logger, io.StringIO], msg: str, args: tuple[object, ...], masked: str
) -> None:
    logger, stream = log
    logger.info(msg, *args)
    output = stream.getvalue()
    assert output == masked + "\n"
    assert RESIDENT_ID not in output
    assert CARD not in output


def test_log_filter_masks_tracebacks(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    try:
        raise RuntimeError(f"bad person {RESIDENT_ID}")
    except RuntimeError:
        logger.exception("failed")
    output = stream.getvalue()
    assert "RuntimeError: bad person 1101**********002X" in output
    assert RESIDENT_ID not in output


def test_log_filter_survives_bad_format_args_and_masks_them() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d %d", (RESIDENT_ID,), None)
    assert PersonalDataLogFilter().filter(record) is True
    assert record.args == ("1101**********002X",)
    assert RESIDENT_ID not in str(record.msg)


def test_log_filter_masks_stack_info() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None, sinfo=f"Stack: {CARD}")
    PersonalDataLogFilter().filter(record)
    assert record.stack_info == "Stack: 6222***********0128"
