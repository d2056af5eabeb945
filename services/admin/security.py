"""Who may use the admin API and dashboard (docs/admin.md, "Security").

- **Keys.** One or more API keys per business: `rk_<business>_<32 random characters>`,
  shown once when created (`receptionist business key create ID`). Only the key's SHA-256 is
  stored (the key is 192 random bits, so a fast hash is enough: there is nothing to guess
  from it), with an id (to list, revoke and audit it) and its first characters. A revoked
  key is refused from the next request on, its dashboard sessions too.
- **The API** takes the key as `Authorization: Bearer <key>`.
- **The dashboard** logs in with the key once (`/admin/login`) and then holds a session
  cookie: `<key id>.<expiry>.<HMAC>` signed with `ADMIN_SESSION_SECRET`, HttpOnly,
  SameSite=Strict, Secure when served over https. It names the key, never holds it. Forms
  that change anything carry a CSRF token derived from the cookie (HMAC again), checked on
  every POST made with the cookie.
- **Failed attempts** (a wrong or revoked key, a forged cookie) are counted per client IP
  (an IPv6 client by its /64, as ingress keys its limits) in a token bucket: beyond the
  burst, every key check from that address answers 429 with `Retry-After` until the bucket
  refills. The bucket lives in the process, on an injected clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.business.models import Business
from services.admin.models import AdminKey

KEY_PREFIX = "rk"
KEY_RANDOM_CHARS = 32
COOKIE = "receptionist_admin"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
Seconds = Callable[[], float]
MAX_ADDRESSES = 100_000


class NoSuchBusiness(Exception):
    """A key was asked for a business that was never imported."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.strip().encode()).hexdigest()


def _urlsafe(n: int) -> str:
    """`n` random characters of [A-Za-z0-9_-]."""
    return secrets.token_urlsafe(n)[:n]


async def create_key(session: AsyncSession, business_id: str, now: datetime,
                     label: str = "") -> tuple[AdminKey, str]:
    """A new key for the business: its row (not committed) and the key, to show once."""
    if await session.get(Business, business_id) is None:
        raise NoSuchBusiness(business_id)
    key = f"{KEY_PREFIX}_{business_id}_{_urlsafe(KEY_RANDOM_CHARS)}"
    row = AdminKey(id=f"key_{secrets.token_hex(6)}", business_id=business_id,
                   key_hash=hash_key(key), prefix=key[:len(business_id) + 8], label=label,
                   created_at=now)
    session.add(row)
    await session.flush()
    return row, key


async def revoke_key(session: AsyncSession, key_id: str, now: datetime) -> AdminKey | None:
    row = await session.get(AdminKey, key_id, with_for_update=True)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
    return row


async def list_keys(session: AsyncSession, business_id: str) -> list[AdminKey]:
    return list((await session.scalars(select(AdminKey).where(
        AdminKey.business_id == business_id).order_by(AdminKey.created_at))).all())


async def active_key(session: AsyncSession, *, key: str | None = None,
                     key_id: str | None = None) -> AdminKey | None:
    """The unrevoked key with this value (or id), or None."""
    where = AdminKey.key_hash == hash_key(key) if key is not None else AdminKey.id == key_id
    found: AdminKey | None = await session.scalar(select(AdminKey).where(
        where, AdminKey.revoked_at.is_(None)))
    return found


# --- failed attempts -------------------------------------------------------------------------


@dataclass
class _Bucket:
    tokens: float
    at: float


class FailureLimiter:
    """Failed key attempts per client address: a token bucket of `burst` refilled at
    `per_minute`; each failure takes a token. An address whose bucket is empty is refused
    (`wait` > 0) whatever it presents, until a token is back. The least recently seen
    addresses beyond `max_keys` are forgotten (memory stays bounded)."""

    def __init__(self, per_minute: float, burst: int, clock: Seconds,
                 max_keys: int = MAX_ADDRESSES) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate needs a positive refill and a burst of at least 1")
        self.per_second = per_minute / 60.0
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _refilled(self, address: str) -> _Bucket | None:
        bucket = self._buckets.get(address)
        if bucket is None:
            return None
        now = self._clock()
        bucket.tokens = min(float(self.burst),
                            bucket.tokens + max(0.0, now - bucket.at) * self.per_second)
        bucket.at = now
        self._buckets.move_to_end(address)
        return bucket

    def wait(self, address: str) -> float:
        """0.0 when the address may try a key; else the seconds until it may."""
        bucket = self._refilled(address)
        if bucket is None or bucket.tokens >= 1.0:
            return 0.0
        return (1.0 - bucket.tokens) / self.per_second

    def failed(self, address: str) -> None:
        bucket = self._refilled(address)
        if bucket is None:
            bucket = self._buckets[address] = _Bucket(float(self.burst), self._clock())
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        bucket.tokens = max(0.0, bucket.tokens - 1.0)


def retry_after(wait_s: float) -> str:
    """Whole seconds, rounded up, never 0."""
    return str(max(1, math.ceil(wait_s)))


# --- dashboard sessions ----------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SessionSigner:
    """Signs the dashboard's session cookie (the key id and an expiry) and derives its CSRF
    token. Without a configured secret a random one is used: sessions then last as long as
    the process."""

    def __init__(self, secret: str | None) -> None:
        secret = (secret or "").strip() or secrets.token_hex(32)
        self._key = hashlib.sha256(b"receptionist-admin-session:" + secret.encode()).digest()

    def _mac(self, text: str) -> str:
        return _b64(hmac.new(self._key, text.encode(), hashlib.sha256).digest())

    def cookie(self, key_id: str, expires_at: datetime) -> str:
        body = f"{key_id}.{int(expires_at.timestamp())}"
        return f"{body}.{self._mac(body)}"

    def key_id(self, cookie: str, now: datetime) -> str | None:
        """The key id a genuine, unexpired cookie names; None for anything else."""
        body, _, mac = cookie.rpartition(".")
        key_id, _, expires = body.partition(".")
        if not (key_id and expires.isdigit() and hmac.compare_digest(mac, self._mac(body))):
            return None
        return key_id if int(expires) > now.timestamp() else None

    def csrf(self, cookie: str) -> str:
        return self._mac(f"csrf:{cookie}")

    def csrf_ok(self, cookie: str, token: str) -> bool:
        return bool(token) and hmac.compare_digest(token, self.csrf(cookie))


@dataclass(frozen=True)
class AdminDeps:
    """admin's adapters: the failed-attempt limiter (its clock injectable) and the session
    signer."""

    limiter: FailureLimiter
    signer: SessionSigner
    session_ttl_s: int = 12 * 3600


@dataclass(frozen=True)
class Staff:
    """Who is asking: the key's business and id; `cookie` when they came with the
    dashboard's session (then a POST needs its CSRF token)."""

    business_id: str
    key_id: str
    cookie: str | None = None
