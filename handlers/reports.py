"""Report intake: a parsed report becomes a ticket, once, routed to its grid's worker."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.community import CommunityConfig, PersonConfig
from handlers.geo import wgs84
from handlers.messages import AttachmentKind, Incoming
from handlers.parsing.report_parser import ParsedReport
from handlers.runtime import remember_person
from storage.inbound import (
    claim_inbound_message,
    get_processed_message,
    link_inbound_message_to_ticket,
)
from storage.lifecycle import assign_ticket
from storage.models import AttachmentKind as StoredAttachmentKind
from storage.models import Person, Ticket
from storage.tickets import add_attachment, create_ticket, get_ticket

STORED_KINDS = {
    AttachmentKind.PHOTO: StoredAttachmentKind.PHOTO,
    AttachmentKind.VIDEO: StoredAttachmentKind.VIDEO,
    AttachmentKind.VOICE: StoredAttachmentKind.VOICE,
    AttachmentKind.FILE: StoredAttachmentKind.FILE,
}


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """The ticket a report produced, and whether this call created it."""

    ticket: Ticket | None
    created: bool
    assignee: PersonConfig | None = None


async def _reporter(session: AsyncSession, community: CommunityConfig, message: Incoming) -> Person:
    return await remember_person(
        session,
        community,
        platform=message.platform.value,
        user_id=message.sender.user_id,
        display_name=message.sender.display_name,
        language=message.sender.language,
    )


async def worker_person(
    session: AsyncSession, community: CommunityConfig, worker: PersonConfig, platform: str
) -> Person | None:
    """The stored person for a configured grid worker, on whichever platform they are known."""
    accounts = dict(worker.ids())
    user_id = accounts.get(platform) or next(iter(accounts.values()), None)
    if user_id is None:
        return None
    chosen = platform if platform in accounts else next(iter(accounts))
    return await remember_person(session, community, platform=chosen, user_id=user_id)


async def assign_grid_worker(
    session: AsyncSession,
    *,
    community: CommunityConfig,
    ticket: Ticket,
    grid_id: str,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    worker: PersonConfig | None = None,
) -> PersonConfig | None:
    """Put the ticket in a grid and assign that grid's (first, or given) worker; audited."""
    chosen = worker or next(iter(community.workers_of(grid_id)), None)
    person = (
        await worker_person(session, community, chosen, ticket.source_platform) if chosen else None
    )
    ticket.grid_id = grid_id
    session.add(ticket)
    if person is None:
        await session.flush()
        return None
    await assign_ticket(session, ticket=ticket, assignee_id=person.id, now=now, actor_id=actor_id)
    return chosen


def due_times(
    community: CommunityConfig, *, urgent: bool, now: datetime
) -> tuple[datetime, datetime]:
    """When the ticket must be acknowledged and resolved, from the service levels."""
    levels = community.service_levels
    acknowledge = levels.acknowledge.urgent if urgent else levels.acknowledge.normal
    resolve = levels.resolve.urgent if urgent else levels.resolve.normal
    return now + timedelta(minutes=acknowledge), now + timedelta(minutes=resolve)


async def take_report(
    session: AsyncSession,
    *,
    community: CommunityConfig,
    message: Incoming,
    verdict: ParsedReport,
    now: datetime,
    pieces: Sequence[Incoming] = (),
    already_claimed: bool = False,
) -> IntakeResult:
    """Create the ticket for a report; a message seen before returns its existing ticket.

    Callers that claimed the message themselves (to ignore redeliveries early) say so.
    """
    platform = message.platform.value
    if not already_claimed and not await claim_inbound_message(
        session, platform=platform, chat_id=message.chat_id, message_id=message.message_id, now=now
    ):
        return IntakeResult(await ticket_of_message(session, message), created=False)
    reporter = await _reporter(session, community, message)
    workers = community.workers_of(verdict.grid_id) if verdict.grid_id else []
    assignee = workers[0] if workers else None
    assignee_person = (
        await worker_person(session, community, assignee, platform) if assignee else None
    )
    ack_due, resolve_due = due_times(community, urgent=verdict.urgent, now=now)
    location = message.location or next((p.location for p in pieces if p.location), None)
    longitude, latitude = wgs84(location) if location else (None, None)  # WeChat pins: GCJ-02
    ticket = await create_ticket(
        session,
        community_id=community.community.id,
        category=verdict.category or "other",
        urgent=verdict.urgent,
        description=message.text,
        source_platform=platform,
        source_chat_id=message.chat_id,
        source_message_id=message.message_id,
        now=now,
        grid_id=verdict.grid_id,
        reporter_id=reporter.id,
        assignee_id=assignee_person.id if assignee_person else None,
        place_text=verdict.place_text,
        latitude=latitude,
        longitude=longitude,
        ack_due_at=ack_due,
        resolve_due_at=resolve_due,
    )
    await _record_sources(session, ticket, message, pieces, now)
    return IntakeResult(ticket, created=True, assignee=assignee if assignee_person else None)


async def _link(session: AsyncSession, source: Incoming, ticket: Ticket, now: datetime) -> None:
    """Remember that the message belongs to the ticket (claiming it if nobody has)."""
    keys = {
        "platform": source.platform.value,
        "chat_id": source.chat_id,
        "message_id": source.message_id,
    }
    if await get_processed_message(session, **keys) is None:
        await claim_inbound_message(session, **keys, now=now)
    await link_inbound_message_to_ticket(session, **keys, ticket_id=ticket.id)


async def _record_sources(
    session: AsyncSession,
    ticket: Ticket,
    message: Incoming,
    pieces: Sequence[Incoming],
    now: datetime,
) -> None:
    """Link the message and its pieces to the ticket and keep every media file id once."""
    for source in (message, *pieces):
        await _link(session, source, ticket, now)
    unique = {a.file_id: a for source in (message, *pieces) for a in source.attachments}
    everything = replace(message, attachments=tuple(unique.values()))
    await store_attachments(session, ticket_id=ticket.id, message=everything, now=now)


async def store_attachments(
    session: AsyncSession, *, ticket_id: uuid.UUID, message: Incoming, now: datetime
) -> None:
    """Keep every photo, video, voice note and file of a message on the ticket."""
    for attachment in message.attachments:
        kind = STORED_KINDS.get(attachment.kind)
        if kind is not None:
            await add_attachment(
                session,
                ticket_id=ticket_id,
                kind=kind,
                platform=message.platform.value,
                file_id=attachment.file_id,
                now=now,
                size_bytes=attachment.size_bytes,
                sha256=attachment.sha256,
                media_path=attachment.media_path,
            )


async def ticket_of_message(session: AsyncSession, message: Incoming) -> Ticket | None:
    """The ticket a message produced or joined, if any."""
    record = await get_processed_message(
        session,
        platform=message.platform.value,
        chat_id=message.chat_id,
        message_id=message.message_id,
    )
    if record is None or record.ticket_id is None:
        return None
    return await get_ticket(session, ticket_id=record.ticket_id)
