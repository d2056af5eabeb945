"""Web chat session tokens: the server picks the session, signs it with the business and the
expiry, and refuses anything it did not sign, signed for another business, or expired."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from libs.webchat_tokens import InvalidToken, WebChatTokens, usable_secret

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def tokens() -> WebChatTokens:
    return WebChatTokens("s3cret-for-tests", DAY)


def test_an_issued_token_verifies_for_its_business_until_it_expires(
        tokens: WebChatTokens) -> None:
    token, issued = tokens.issue("salon", NOW)
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", token), "must fit in a URL path segment"
    assert issued.expires_at == NOW + DAY
    seen = tokens.verify(token, "salon", NOW + DAY - timedelta(seconds=1))
    assert seen == issued
    assert seen.customer == f"web:{issued.session_id}"
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token, "salon", NOW + DAY)


def test_every_session_is_new_and_unguessable(tokens: WebChatTokens) -> None:
    sessions = {tokens.issue("salon", NOW)[1].session_id for _ in range(200)}
    assert len(sessions) == 200
    assert all(len(s) >= 22 for s in sessions)  # 128 random bits


def test_a_token_is_refused_at_another_business(tokens: WebChatTokens) -> None:
    token, _ = tokens.issue("salon", NOW)
    with pytest.raises(InvalidToken, match="invalid"):
        tokens.verify(token, "barber", NOW)


def test_a_token_signed_with_another_secret_is_refused(tokens: WebChatTokens) -> None:
    token, _ = WebChatTokens("another-secret", DAY).issue("salon", NOW)
    with pytest.raises(InvalidToken, match="invalid"):
        tokens.verify(token, "salon", NOW)


def test_changing_any_part_breaks_the_signature(tokens: WebChatTokens) -> None:
    token, _ = tokens.issue("salon", NOW)
    session, expires, signature = token.split(".")
    other_session = tokens.issue("salon", NOW)[1].session_id
    forged = [
        f"{other_session}.{expires}.{signature}",          # someone else's session
        f"{session}.{int(expires) + 3600}.{signature}",    # a longer life
        f"{session}.{expires}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
    ]
    for token in forged:
        with pytest.raises(InvalidToken, match="invalid"):
            tokens.verify(token, "salon", NOW)


@pytest.mark.parametrize("token", [
    "", "abc", "web:visitor123", "a.b.c", "x" * 300,
    "session_id_with_ok_chars.123.short",
    "bad/char/in/session/id.1796000000." + "A" * 43,
    "abcdefghijklmnopqrstuv.17960000\uff10\uff10." + "A" * 43,  # fullwidth digits
])
def test_malformed_tokens_are_refused(tokens: WebChatTokens, token: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(token, "salon", NOW)


@pytest.mark.parametrize("secret", [None, "", "   ", "\t\n"])
def test_a_blank_secret_counts_as_unset(secret: str | None) -> None:
    assert usable_secret(secret) is None
    assert WebChatTokens.from_secret(secret, 3600) is None
    with pytest.raises(ValueError):
        WebChatTokens(secret or "", DAY)


def test_the_lifetime_comes_from_the_setting() -> None:
    tokens = WebChatTokens.from_secret("s3cret", 600)
    assert tokens is not None
    token, issued = tokens.issue("salon", NOW)
    assert issued.expires_at == NOW + timedelta(minutes=10)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token, "salon", NOW + timedelta(minutes=10))
