"""Reading and writing business profiles in PostgreSQL.

`import_profile` and the readers take the caller's `AsyncSession` and never commit: the
caller owns the transaction. `import_file` is the whole command: validate first (a bad file
opens no transaction and writes nothing), then write and commit.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

import phonenumbers
from sqlalchemy import Boolean, delete, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.business.models import Business, BusinessService
from libs.business.profile import BusinessProfile, ProfileError, load_profile

ImportOutcome = Literal["created", "updated"]
Channel = Literal["sms", "whatsapp"]

__all__ = [
    "Channel",
    "ImportOutcome",
    "find_business_id_by_channel",
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
    return "created" if inserted else "updated"


async def get_profile(session: AsyncSession, business_id: str) -> BusinessProfile | None:
    """The business's normalized profile, or None when no such business was imported."""
    stored = await session.scalar(select(Business.profile).where(Business.id == business_id))
    return None if stored is None else BusinessProfile.from_json_dict(stored)


def _normalize_sms_address(address: str) -> str:
    """Providers send E.164 already; tolerate other spellings of the same number."""
    text = address.strip()
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return text
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


async def find_business_id_by_channel(session: AsyncSession, channel: Channel,
                                      address: str) -> str | None:
    """Which business an inbound message belongs to: the SMS number it was sent *to*, or the
    WhatsApp phone-number id it arrived on. None when no business claims it."""
    if channel == "sms":
        where = Business.sms_number == _normalize_sms_address(address)
    elif channel == "whatsapp":
        where = Business.whatsapp_phone_number_id == address.strip()
    else:
        raise ValueError(f"unknown channel {channel!r}")
    found: str | None = await session.scalar(select(Business.id).where(where))
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
