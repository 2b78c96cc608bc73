"""Messaging rules: the SMS gateway interface, one-time code policy and message texts."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from subsidy_app.core.errors import Conflict, RateLimited, ValidationFailed
from subsidy_app.core.personal_data import mask_personal_text

SMS_SIGNATURE = "【吕梁以旧换新】"
MAX_TEXT_LENGTH = 300


class SmsGateway(Protocol):
    """Sends one text message; returns the gateway's message id."""

    def send(self, phone: str, text: str, *, purpose: str, masked: str | None = None) -> str:
        """Send `text` to an 11-digit mainland mobile number; keep any record of it as `masked` when given."""


class OtpPurpose(StrEnum):
    """What a one-time code proves; a code for one purpose never passes for another."""

    VERIFY_IDENTITY = "verify_identity"  # 居民申请前核验身份
    RESIDENT_LOGIN = "resident_login"  # 居民查询进度


PURPOSE_LABELS_ZH = {OtpPurpose.VERIFY_IDENTITY: "身份核验", OtpPurpose.RESIDENT_LOGIN: "登录查询"}
# What each kind of text is for, as the outbox page names it (the stored purpose is "otp:<purpose>" for codes,
# "<package>.<event>" for notices).
_NOTICE_LABELS_ZH = {"application": "申请进度通知", "hand_in": "交旧提醒", "budget": "资金池提醒"}


def sms_purpose_label(purpose: str) -> str:
    """The Chinese name of a text's purpose: 验证码(身份核验), 申请进度通知 …; 其他短信 when unknown."""
    kind, _, detail = purpose.partition(":")
    if kind == "otp":
        label = PURPOSE_LABELS_ZH.get(detail, "")  # type: ignore[call-overload]  # a StrEnum key is its string
        return f"验证码({label})" if label else "验证码"
    return _NOTICE_LABELS_ZH.get(purpose.split(".", 1)[0], "其他短信")


@dataclass(frozen=True)
class OtpPolicy:
    """Limits on one-time codes (defaults follow common SMS-provider anti-abuse practice)."""

    length: int = 6
    ttl: dt.timedelta = dt.timedelta(minutes=5)
    max_attempts: int = 5
    min_interval: dt.timedelta = dt.timedelta(seconds=60)
    per_day: int = 10  # rolling 24 hours, per phone across purposes


DEFAULT_POLICY = OtpPolicy()


def parse_purpose(value: str) -> OtpPurpose:
    """Return the purpose, or refuse an unknown one naming field `purpose`."""
    try:
        return OtpPurpose(value)
    except ValueError:
        raise ValidationFailed.field("purpose", "验证码用途无效 / unknown code purpose",
                                     reason="otp.purpose") from None


def new_code(policy: OtpPolicy = DEFAULT_POLICY) -> str:
    """Draw a code of `policy.length` digits from the OS's CSPRNG."""
    return f"{secrets.randbelow(10**policy.length):0{policy.length}d}"


def otp_text(code: str, purpose: OtpPurpose, policy: OtpPolicy = DEFAULT_POLICY) -> str:
    """Return the SMS text carrying a code."""
    minutes = int(policy.ttl.total_seconds() // 60)
    return (f"{SMS_SIGNATURE}您的{PURPOSE_LABELS_ZH[purpose]}验证码为{code}，{minutes}分钟内有效。"
            "工作人员不会向您索要验证码，请勿告诉他人。")


def mask_secret(text: str, secret: str) -> str:
    """Return the text with the secret (a one-time code) it carries replaced by asterisks."""
    if not secret or secret not in text:
        raise ValueError("the text does not carry the secret")
    return text.replace(secret, "*" * len(secret))


def check_request_allowed(
    *, now: dt.datetime, last_sent_at: dt.datetime | None, sent_last_day: int, policy: OtpPolicy = DEFAULT_POLICY
) -> None:
    """Refuse a new code within the minimum interval or past the daily limit."""
    if sent_last_day >= policy.per_day:
        raise RateLimited("该手机号今日获取验证码次数已达上限，请明天再试 / too many codes for this phone today",
                          reason="otp.too_many")
    if last_sent_at is not None and now - last_sent_at < policy.min_interval:
        wait = int((policy.min_interval - (now - last_sent_at)).total_seconds()) + 1
        raise RateLimited(f"请 {wait} 秒后再获取验证码 / wait {wait} s before requesting another code",
                          reason="otp.too_soon")


class CodeVerdict(StrEnum):
    """The outcome of checking a submitted code."""

    OK = "ok"
    WRONG = "otp.wrong"
    EXPIRED = "otp.expired"
    LOCKED = "otp.locked"


def judge_code(
    *, now: dt.datetime, expires_at: dt.datetime | None, attempts: int, matches: bool,
    policy: OtpPolicy = DEFAULT_POLICY,
) -> CodeVerdict:
    """Decide a submitted code: no live code or past expiry, too many tries, wrong, or right."""
    if expires_at is None:
        return CodeVerdict.EXPIRED
    if attempts >= policy.max_attempts:
        return CodeVerdict.LOCKED
    if now >= expires_at:
        return CodeVerdict.EXPIRED
    return CodeVerdict.OK if matches else CodeVerdict.WRONG


def verdict_error(verdict: CodeVerdict, attempts_left: int) -> ValidationFailed | Conflict:
    """Build the client error for a failed verdict."""
    if verdict is CodeVerdict.WRONG:
        return ValidationFailed.field(
            "code", f"验证码错误，还可尝试 {attempts_left} 次 / wrong code, {attempts_left} tries left",
            reason=verdict.value)
    if verdict is CodeVerdict.EXPIRED:
        return ValidationFailed.field("code", "验证码已过期，请重新获取 / the code has expired, request a new one",
                                      reason=verdict.value)
    return Conflict("验证码错误次数过多，请重新获取 / too many wrong tries, request a new code",
                    reason=CodeVerdict.LOCKED.value)


def check_sms_text(text: str) -> str:
    """Return the text stripped; refuse empty, overlong, or text holding an ID or card number."""
    value = text.strip()
    if not value or len(value) > MAX_TEXT_LENGTH:
        raise ValidationFailed.field("text", "短信内容为空或过长 / SMS text is empty or too long",
                                     reason="sms.text")
    if mask_personal_text(value) != value:
        # The outbox keeps texts in clear: they must never carry ID or card numbers.
        raise ValidationFailed.field(
            "text", "短信不得包含身份证号或银行卡号 / SMS text must not hold ID or card numbers",
            reason="sms.personal_data")
    return value
