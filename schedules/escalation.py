"""SLA escalation: overdue tickets are reported once per stage to staff and the secretary."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import Outgoing, private_chat_id
from handlers.community import CommunityConfig, Role
from handlers.runtime import Runtime, account_of, language_of, queue, staff_chat_id
from handlers.texts import text
from handlers.ticket_texts import local_time, summary
from storage.escalations import Stage, claim_escalation, overdue_tickets
from storage.models import Ticket
from storage.people import get_person


async def escalate_overdue(runtime: Runtime) -> int:
    """Escalate every overdue, not yet escalated ticket stage; returns how many were sent."""
    sent = 0
    for community in runtime.communities:
        sent += await _escalate_community(runtime, community)
    if sent:
        runtime.outbox_changed()
    return sent


async def _escalate_community(runtime: Runtime, community: CommunityConfig) -> int:
    """One transaction per community: claim each overdue stage and queue its messages."""
    now = runtime.clock.now()
    sent = 0
    async with runtime.sessions() as session, session.begin():
        found = await overdue_tickets(session, community_id=community.community.id, now=now)
        for ticket, stage in found:
            if await claim_escalation(session, ticket_id=ticket.id, stage=stage, now=now):
                await _notify(runtime, session, community, ticket, stage)
                sent += 1
    return sent


async def _notify(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    ticket: Ticket,
    stage: Stage,
) -> None:
    """One message to the staff group, one private message to each secretary."""
    handler = await _handler_name(session, ticket)
    now = runtime.clock.now()
    default = community.community.language
    staff_chat = staff_chat_id(community, ticket.source_platform)
    if staff_chat is not None:
        notice = escalation_text(community, ticket, stage, handler, now, default)
        await queue(
            runtime, session, Outgoing(chat_id=staff_chat, text=notice), ticket_id=ticket.id
        )
    for user_id in secretary_accounts(community, ticket.source_platform):
        language = await language_of(session, ticket.source_platform, user_id, default)
        notice = escalation_text(community, ticket, stage, handler, now, language)
        private = Outgoing(chat_id=private_chat_id(ticket.source_platform, user_id), text=notice)
        await queue(runtime, session, private, ticket_id=ticket.id)


def secretary_accounts(community: CommunityConfig, platform: str) -> list[str]:
    """The secretaries' user ids on a platform."""
    secretaries = (p for p in community.staff if p.role == Role.SECRETARY)
    return [uid for p in secretaries if (uid := account_of(p, platform)) is not None]


async def _handler_name(session: AsyncSession, ticket: Ticket) -> str | None:
    """The assignee's name, or None when nobody is assigned."""
    if ticket.assignee_id is None:
        return None
    person = await get_person(session, person_id=ticket.assignee_id)
    return person.display_name if person else None


def escalation_text(
    community: CommunityConfig,
    ticket: Ticket,
    stage: Stage,
    handler: str | None,
    now: datetime,
    language: str,
) -> str:
    """Which ticket, which stage is overdue, by how long, and who was responsible."""
    due = ticket.ack_due_at if stage == "acknowledge" else ticket.resolve_due_at
    return text(
        "escalation.notice",
        language,
        stage=text(f"escalation.stage.{stage}", language),
        summary=summary(community, ticket, language),
        late=duration_text(now - due if due else timedelta(0), language),
        due=local_time(community, due),
        handler=handler or text("escalation.nobody", language),
    )


def duration_text(delta: timedelta, language: str) -> str:
    """'16 分钟', '4 h 5 min', '2 d 3 h' (rounded down to the minute)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return text("duration.days", language, days=days, hours=hours)
    if hours:
        return text("duration.hours", language, hours=hours, minutes=minutes)
    return text("duration.minutes", language, minutes=minutes)
