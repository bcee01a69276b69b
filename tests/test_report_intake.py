"""Report intake on SQLite and PostgreSQL: one ticket per report, routed, with its media."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker

from handlers.community import CommunityConfig
from handlers.parsing.report_parser import ReportParser
from handlers.reports import IntakeResult, take_report
from storage.database import AsyncSession
from storage.inbound import get_processed_message
from storage.models import TicketStatus
from storage.people import get_person
from storage.tickets import list_attachments, ticket_history
from tests.conftest import START, MessageFactory

Sessions = async_sessionmaker[AsyncSession]


async def intake(
    sessions: Sessions, community: CommunityConfig, message, pieces=()
) -> IntakeResult:  # type: ignore[no-untyped-def]
    verdict = ReportParser(community).parse(message)
    assert verdict.is_report, verdict.reasons
    async with sessions() as session, session.begin():
        return await take_report(
            session,
            community=community,
            message=message,
            verdict=verdict,
            now=message.sent_at,
            pieces=pieces,
        )


async def test_a_photo_report_becomes_a_ticket_for_the_grid_worker(
    session_factory: Sessions, sample_community: CommunityConfig, make_message: MessageFactory
) -> None:
    message = make_message("一期3栋门口的快递柜屏幕黑了，麻烦物业看下", photos=1)
    result = await intake(session_factory, sample_community, message)
    ticket = result.ticket
    assert result.created and ticket is not None
    assert (ticket.number, ticket.category, ticket.grid_id) == (1, "facility_damage", "G2")
    assert ticket.status is TicketStatus.ASSIGNED
    assert ticket.ack_due_at == START + timedelta(minutes=120)
    assert ticket.resolve_due_at == START + timedelta(minutes=2880)
    async with session_factory() as session:
        assignee = await get_person(session, person_id=ticket.assignee_id)  # type: ignore[arg-type]
        assert assignee is not None and assignee.display_name == "李强"
        attachments = await list_attachments(session, ticket_id=ticket.id)
        assert [a.file_id for a in attachments] == ["photo-0"]
        history = await ticket_history(session, ticket_id=ticket.id)
        assert [event.action for event in history] == ["created"]


async def test_the_same_message_twice_makes_one_ticket(
    session_factory: Sessions, sample_community: CommunityConfig, make_message: MessageFactory
) -> None:
    message = make_message("夜市南门的广告牌松了，快来人！")
    first = await intake(session_factory, sample_community, message)
    again = await intake(session_factory, sample_community, message)
    assert first.created and not again.created
    assert again.ticket is not None and first.ticket is not None
    assert again.ticket.id == first.ticket.id
    assert first.ticket.urgent
    assert first.ticket.ack_due_at == START + timedelta(minutes=15)


async def test_pieces_are_linked_and_their_media_and_pin_kept(
    session_factory: Sessions, sample_community: CommunityConfig, make_message: MessageFactory
) -> None:
    pin = make_message(location=(28.1968, 113.0372))
    photo = make_message(photos=1, seconds=5)
    text = make_message("就这个位置，电线垂下来了，快来人！", seconds=30)
    result = await intake(session_factory, sample_community, text, pieces=(pin, photo))
    assert result.ticket is not None
    assert result.ticket.latitude == 28.1968
    async with session_factory() as session:
        record = await get_processed_message(
            session, platform="tg", chat_id=pin.chat_id, message_id=pin.message_id
        )
        assert record is not None and record.ticket_id == result.ticket.id
        assert len(await list_attachments(session, ticket_id=result.ticket.id)) == 1


async def test_a_report_without_a_grid_waits_for_staff(
    session_factory: Sessions, sample_community: CommunityConfig, make_message: MessageFactory
) -> None:
    result = await intake(
        session_factory, sample_community, make_message("楼道灯又坏了，晚上黑漆漆的，没人来换")
    )
    assert result.ticket is not None
    assert result.ticket.grid_id is None
    assert result.ticket.assignee_id is None
    assert result.ticket.status is TicketStatus.REPORTED
    assert result.assignee is None
