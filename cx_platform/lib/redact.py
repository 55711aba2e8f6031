"""Redaction of personal data in customer text before it is stored anywhere in the lake."""

from __future__ import annotations

import hashlib
import os
import re

import polars as pl

# Order matters: e-mails before handles, cards before phone numbers.
_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", "[EMAIL]"),
    (r"\b(?:\d[ -]?){13,19}\b", "[CARD]"),
    (r"(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}\b", "[PHONE]"),
    (r"https?://\S+", "[URL]"),
)


def redact_text(text: str | None) -> str | None:
    if text is None:
        return None
    for pattern, token in _PATTERNS:
        text = re.sub(pattern, token, text)
    return text


def redact_expr(expr: pl.Expr) -> pl.Expr:
    """The same redaction as :func:`redact_text`, vectorised for polars."""
    for pattern, token in _PATTERNS:
        expr = expr.str.replace_all(pattern, token)
    return expr


def pseudonymize(value: str | None) -> str | None:
    """Stable pseudonymous key for an identifier such as an e-mail address.

    Keyed with ``CX_PII_SALT`` when set, so keys cannot be reversed by hashing guessed addresses.
    """
    if value is None or not value.strip():
        return None
    salt = os.environ.get("CX_PII_SALT", "")
    digest = hashlib.blake2b(value.strip().lower().encode(), key=salt.encode()[:64], digest_size=10)
    return digest.hexdigest()
