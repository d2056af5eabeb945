"""Reading and writing business profiles in PostgreSQL.

`import_profile` and the readers take the caller's `AsyncSession` (`get_profile` a pooled
`DirectConnection` as well) and never commit: the caller owns the transaction. `import_file`
is the whole command: validate first (a bad file opens no transaction and writes nothing),
then write and commit.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import phonenumbers
from sqlalchemy import Boolean, bindparam, delete, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.business.models import Business, BusinessService
from libs.business.profile import BusinessProfile, ProfileError, load_profile
from libs.db.direct import Db, Direct, DirectConnection

ImportOutcome = Literal["created", "updated"]
Channel = Literal["sms", "whatsapp"]

__all__ = [
    "Channel",
    "ImportOutcome",
    "business_id_by_channel",
    "get_profile",
    "import_file",
    "import_profile",
]


async def _channel_conflicts(session: AsyncSession, profile: BusinessProfile) -> list[str]:
    """Another business already owns one of this profile's channel addresses.

    Checked before writing so the operator gets the key path and the other business, not
    an IntegrityError; the unique constraints still guard against a concurrent import.
    """
    sms, whatsapp = profile.channels.sms, profile.channels.whatsapp_phone_number_id
    if sms is None and whatsapp is None:
        return []
    claims = []
    if sms is not None:
        claims.append(Business.sms_number == sms)
    if whatsapp is not None:
        claims.append(Business.whatsapp_phone_number_id == whatsapp)
    rows = (await session.execute(
        select(Business.id, Business.sms_number, Business.whatsapp_phone_number_id)
        .where(Business.id != profile.id, or_(*claims))
        .order_by(Business.id)
    )).all()
    problems: list[str] = []
    for other_id, other_sms, other_whatsapp in rows:
        if sms is not None and other_sms == sms:
            problems.append(f"channels.sms: {sms} is already the SMS number of business "
                            f"{other_id!r}; a number can belong to one business only")
        if whatsapp is not None and other_whatsapp == whatsapp:
            problems.append(f"channels.whatsapp_phone_number_id: {whatsapp} already belongs "
                            f"to business {other_id!r}; it can belong to one business only")
    return problems


async def import_profile(session: AsyncSession, profile: BusinessProfile) -> ImportOutcome:
    """Create the business or update it in place (same id), replacing its whole catalog.

    Does not commit. Raises ProfileError when a channel address belongs to another
    business; the caller's transaction stays usable (the write ran in a savepoint).
    """
    problems = await _channel_conflicts(session, profile)
    if problems:
        raise ProfileError(problems, source=profile.id)
    values = {
        "id": profile.id,
        "name": profile.name,
        "timezone": profile.timezone,
        "currency": profile.currency,
        "sms_number": profile.channels.sms,
        "whatsapp_phone_number_id": profile.channels.whatsapp_phone_number_id,
        "owner_phone": profile.owner_phone,
        "profile": profile.to_json_dict(),
    }
    insert_business = insert(Business).values(**values)
    upsert = insert_business.on_conflict_do_update(
        index_elements=[Business.id],
        set_={**{k: insert_business.excluded[k] for k in values if k != "id"},
              "updated_at": func.now()},
    ).returning(literal_column("xmax = 0", Boolean).label("inserted"))  # 0: no older version
    try:
        async with session.begin_nested():
            inserted = bool((await session.execute(upsert)).scalar_one())
            await session.execute(
                delete(BusinessService).where(BusinessService.business_id == profile.id))
            await session.execute(insert(BusinessService), [
                {"business_id": profile.id, "position": i, "name": s.name,
                 "aliases": list(s.aliases), "duration_minutes": s.duration_minutes,
                 "price": s.price, "deposit": s.deposit}
                for i, s in enumerate(profile.services)
            ])
    except IntegrityError as exc:
        # A concurrent import claimed the same channel between our check and our write.
        problems = await _channel_conflicts(session, profile)
        if problems:
            raise ProfileError(problems, source=profile.id) from exc
        raise
    PROFILES.forget(profile.id)
    _OWNERS.clear()  # its channel addresses may have moved
    return "created" if inserted else "updated"


PROFILE_FRESH_S = 5.0
"""How long a process uses a profile it read before checking its version again."""


@dataclass
class _Cached:
    profile: BusinessProfile
    version: datetime
    checked: float  # time.monotonic() of the last read or version check


class ProfileCache:
    """Profiles a process has read, by database and business id, each with the version
    (`updated_at`) it was read at. Every message needs its business's profile; reading and
    validating it each time was a statement and a large part of a turn's CPU. A profile
    younger than `PROFILE_FRESH_S` is used as is; an older one costs one small query for
    its version, and is read again only if it changed. An import in this process forgets
    its entry at once; one elsewhere is seen within `PROFILE_FRESH_S`."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Cached] = {}

    def forget(self, business_id: str | None = None) -> None:
        if business_id is None:
            self._entries.clear()
            return
        for key in [k for k in self._entries if k[1] == business_id]:
            del self._entries[key]

    async def get(self, db: Db, business_id: str) -> BusinessProfile | None:
        key = (_database_of(db), business_id)
        cached = self._entries.get(key)
        now = time.monotonic()
        if cached is not None and now - cached.checked < PROFILE_FRESH_S:
            return cached.profile
        if cached is not None:
            version = await _VERSION.scalar(db, {"business_id": business_id})
            if version == cached.version:
                cached.checked = now
                return cached.profile
        row = await _PROFILE.first(db, {"business_id": business_id})
        if row is None:
            self._entries.pop(key, None)
            return None
        profile = BusinessProfile.from_json_dict(row.profile)
        self._entries[key] = _Cached(profile, row.updated_at, now)
        return profile


_VERSION = Direct.of(select(Business.updated_at).where(Business.id == bindparam("business_id")))
_PROFILE = Direct.of(select(Business.profile, Business.updated_at)
                     .where(Business.id == bindparam("business_id")))


def _database_of(db: Db) -> str:
    bind = db.engine if isinstance(db, DirectConnection) else db.bind
    return str(getattr(bind, "url", "")) if bind is not None else ""


PROFILES = ProfileCache()


async def get_profile(db: Db, business_id: str) -> BusinessProfile | None:
    """The business's normalized profile, or None when no such business was imported
    (from this process's cache while it is fresh: `ProfileCache`)."""
    return await PROFILES.get(db, business_id)


def _normalize_sms_address(address: str) -> str:
    """Providers send E.164 already; tolerate other spellings of the same number."""
    text = address.strip()
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return text
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_OWNERS: dict[tuple[object, str, str], tuple[str, float]] = {}
"""Which business owns a channel address, as ingress last read it (fresh for
`PROFILE_FRESH_S`), per database; an address nobody owns is not remembered, so
a business just imported is found at once."""
_OWNER_OF = {
    "sms": select(Business.id).where(Business.sms_number == bindparam("address")),
    "whatsapp": select(Business.id).where(
        Business.whatsapp_phone_number_id == bindparam("address")),
}
"""Built once: a webhook that finds its answer fresh builds nothing (docs/scaling.md,
"Ingress")."""


def _stored_address(channel: Channel, address: str) -> str:
    """The address as a business profile stores it."""
    if channel == "sms":
        return _normalize_sms_address(address)
    if channel == "whatsapp":
        return address.strip()
    raise ValueError(f"unknown channel {channel!r}")


def _fresh_owner(key: tuple[object, str, str]) -> str | None:
    known = _OWNERS.get(key)
    return known[0] if known is not None and time.monotonic() - known[1] < PROFILE_FRESH_S \
        else None


async def business_id_by_channel(sessions: async_sessionmaker[AsyncSession], channel: Channel,
                                 address: str) -> str | None:
    """Which business an inbound message belongs to: the SMS number it was sent *to*, or the
    WhatsApp phone-number id it arrived on. None when no business claims it. A session is
    opened only when the answer is not fresh in this process (nearly never, for a webhook:
    opening and closing one costs more than the rest of the lookup)."""
    stored = _stored_address(channel, address)
    key = (getattr(sessions.kw.get("bind"), "url", None), channel, stored)  # per database
    if (owner := _fresh_owner(key)) is not None:
        return owner
    async with sessions() as session:
        found: str | None = await session.scalar(_OWNER_OF[channel], {"address": stored})
    if found is None:
        _OWNERS.pop(key, None)
    else:
        _OWNERS[key] = (found, time.monotonic())
    return found


async def import_file(session_factory: async_sessionmaker[AsyncSession],
                      path: Path | str) -> tuple[str, ImportOutcome]:
    """`business import FILE`: validate the file, then write it in one committed transaction.

    A file with any problem raises ProfileError before a transaction is opened, so a bad
    file writes nothing.
    """
    profile = await asyncio.to_thread(load_profile, path)
    try:
        async with session_factory() as session, session.begin():
            outcome = await import_profile(session, profile)
    except ProfileError as exc:
        raise ProfileError(exc.problems, source=str(path)) from None
    return profile.id, outcome
