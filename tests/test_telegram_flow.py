"""End to end on Telegram: the real bot (PTB over HTTP) against the fake Bot API, as users act."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from bot.simulation import (
    OUTSIDER,
    RESIDENTS,
    RIDER,
    RIDER_2,
    STAFF,
    STAFF_GROUP,
    WORKER_G1,
    WORKER_G3,
    WORKER_G4,
    World,
)
from storage.models import Ticket, TicketAttachment, TicketEvent, TicketStatus
from tests.conftest import all_tickets

PHOTO = b"\xff\xd8\xff\xe0 fake jpeg bytes of a loose billboard"


async def attachments_of(world: World, ticket: Ticket) -> list[TicketAttachment]:
    async with world.service.runtime.sessions() as session:
        statement = select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
        return list(await session.exec(statement))


async def test_a_video_report_becomes_a_ticket_with_a_group_reply_and_a_worker_ping(
    world: World,
) -> None:
    report = world.send(
        RESIDENTS,
        RIDER,
        video=b"video bytes",
        caption="夜市南门门楼西侧那块广告牌被风刮得哐哐响，螺丝松脱了，下面全是人，快点来人处理！",
    )
    await world.settle()
    [ticket] = await all_tickets(world)
    assert (ticket.category, ticket.urgent, ticket.grid_id) == ("safety_hazard", True, "G1")
    assert ticket.status is TicketStatus.ASSIGNED
    reply = world.messages_to(RESIDENTS)[-1]
    assert reply["reply_to_message"]["message_id"] == report["message_id"]
    assert "#1" in reply["text"] and "张敏" in reply["text"]
    [ping] = world.messages_to(WORKER_G1)
    assert "video" in ping and "#1" in ping["caption"]
    labels = [b["text"] for row in ping["reply_markup"]["inline_keyboard"] for b in row]
    assert any("确认" in label for label in labels)


async def test_an_album_with_one_caption_makes_one_ticket_with_every_photo(world: World) -> None:
    world.send(
        RESIDENTS,
        RIDER,
        photo=PHOTO,
        caption="12幢楼下的垃圾堆了两天没人收，臭死了",
        media_group_id="album-1",
    )
    world.send(RESIDENTS, RIDER, photo=PHOTO + b"2", media_group_id="album-1")
    world.send(RESIDENTS, RIDER, photo=PHOTO + b"3", media_group_id="album-1")
    await world.settle()
    [ticket] = await all_tickets(world)
    assert (ticket.category, ticket.grid_id) == ("sanitation", "G3")
    stored = await attachments_of(world, ticket)
    assert len(stored) == 3
    assert all(a.sha256 and a.media_path for a in stored)
    assert {Path(a.media_path or "").read_bytes() for a in stored} == {  # noqa: ASYNC240
        PHOTO,
        PHOTO + b"2",
        PHOTO + b"3",
    }


async def test_a_photo_then_its_description_make_one_ticket(world: World) -> None:
    world.send(RESIDENTS, RIDER, photo=PHOTO)
    world.clock.advance(40)
    world.send(RESIDENTS, RIDER, "远大路公交站旁边那个井盖没了，晚上要摔人的")
    await world.settle()
    [ticket] = await all_tickets(world)
    assert ticket.grid_id == "G4"
    assert len(await attachments_of(world, ticket)) == 1
    assert "photo" in world.messages_to(WORKER_G4)[0]


async def test_a_duplicate_is_linked_and_its_reporter_told(world: World) -> None:
    world.send(RESIDENTS, RIDER, "夜市停车场的充电桩在冒烟，有股烧焦味，紧急！")
    await world.settle()
    world.clock.advance(120)
    world.send(RESIDENTS, RIDER_2, "夜市停车场那个充电桩真的在冒烟！")
    await world.settle()
    first, second = await all_tickets(world)
    assert second.status is TicketStatus.DUPLICATE and second.duplicate_of_id == first.id
    assert "#1" in world.texts_to(RESIDENTS)[-1]
    assert len(world.messages_to(WORKER_G1)) == 1  # no second ping


async def test_the_worker_acknowledges_and_resolves_with_a_photo(world: World) -> None:
    report = world.send(RESIDENTS, RIDER, "二期篮球场的铁丝网破了个大洞，麻烦修一下")
    await world.settle()
    message_id, data = world.button_data(WORKER_G3, "确认")
    world.press(WORKER_G3, message_id, data, user_id=WORKER_G3)
    await world.settle()
    message_id, data = world.button_data(WORKER_G3, "已处理")
    world.press(WORKER_G3, message_id, data, user_id=WORKER_G3)
    await world.settle()
    world.send(WORKER_G3, WORKER_G3, photo=b"after photo")
    await world.settle()
    [ticket] = await all_tickets(world)
    assert ticket.status is TicketStatus.RESOLVED
    assert ticket.acknowledged_at is not None and ticket.resolved_at is not None
    assert len(await attachments_of(world, ticket)) == 1  # the after photo
    thread = [
        m
        for m in world.messages_to(RESIDENTS)
        if (m.get("reply_to_message") or {}).get("message_id") == report["message_id"]
    ]
    assert any("确认受理" in m["text"] for m in thread)
    assert any("已处理" in m["text"] for m in thread)
    async with world.service.runtime.sessions() as session:
        events = list(
            await session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
        )
    assert [e.to_status for e in events if e.to_status] == [
        TicketStatus.ASSIGNED,
        TicketStatus.ACKNOWLEDGED,
        TicketStatus.RESOLVED,
    ]


async def test_an_outsider_pressing_a_button_is_refused_and_nothing_changes(world: World) -> None:
    world.send(RESIDENTS, RIDER, "二期篮球场的铁丝网破了个大洞，麻烦修一下")
    await world.settle()
    message_id, data = world.button_data(WORKER_G3, "确认")
    world.press(WORKER_G3, message_id, data, user_id=OUTSIDER)
    await world.settle()
    [ticket] = await all_tickets(world)
    assert ticket.status is TicketStatus.ASSIGNED
    assert "抱歉" in world.fake.callback_answers[-1]["text"]


async def test_a_worker_who_never_started_the_bot_is_mentioned_in_the_staff_group(
    world: World,
) -> None:
    world.fake.set_started(WORKER_G4, False)
    world.send(RESIDENTS, RIDER, "扬帆公园南门进去那张长椅坐板断了，麻烦修一下")
    await world.settle()
    assert world.messages_to(WORKER_G4) == []
    notice = world.messages_to(STAFF_GROUP)[-1]
    assert "孙浩" in notice["text"]
    assert any(
        e["type"] == "text_mention" and e["user"]["id"] == WORKER_G4
        for e in notice.get("entities", [])
    )


async def test_the_same_update_delivered_twice_makes_one_ticket(world: World) -> None:
    world.send(RESIDENTS, RIDER, "13栋楼下的消防通道被一辆白色私家车堵死了")
    await world.settle()
    world.fake.redeliver(world.fake.last_update_id())
    world.updates += 1
    await world.settle()
    assert len(await all_tickets(world)) == 1


async def test_staff_commands_and_a_stranger_group(world: World) -> None:
    world.send(RESIDENTS, RIDER, "二期篮球场的铁丝网破了个大洞，麻烦修一下")
    await world.settle()
    world.send(STAFF, STAFF, "/open G3")
    world.send(STAFF, STAFF, "/ticket 1")
    world.send(RIDER, RIDER, "/open")
    await world.settle()
    open_list, detail = world.texts_to(STAFF)[-2:]
    assert "#1" in open_list and "#1" in detail
    assert "抱歉" in world.texts_to(RIDER)[-1]
    world.fake.add_group(-1009999, "别的群", member_ids=[RIDER])
    world.send(-1009999, RIDER, "这里的路灯坏了")
    await world.settle()
    assert "没有在社区登记" in world.texts_to(-1009999)[-1]
    assert "别的群" in world.texts_to(STAFF_GROUP)[-1]
    assert len(await all_tickets(world)) == 1


async def test_an_edit_updates_the_description_and_keeps_the_old_text(world: World) -> None:
    report = world.send(RESIDENTS, RIDER, "5号楼单元门的门禁坏了")
    await world.settle()
    world.edit(RESIDENTS, report["message_id"], "5号楼单元门的门禁坏了，门也关不上")
    await world.settle()
    [ticket] = await all_tickets(world)
    assert ticket.description.endswith("门也关不上")
    async with world.service.runtime.sessions() as session:
        notes = [
            e.note
            for e in await session.exec(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
            )
            if e.note
        ]
    assert any("5号楼单元门的门禁坏了" in note for note in notes)
