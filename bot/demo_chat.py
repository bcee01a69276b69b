"""The no-token demo: a whole day in simulated Telegram and WeCom chats, printed as a transcript."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.simulation import (
    OUTSIDER,
    RESIDENTS,
    RIDER,
    RIDER_2,
    STAFF,
    WORKER_G1,
    WORKER_G2,
    WORKER_G4,
    World,
)
from bot.wecom_simulation import RESIDENTS_WECOM, RIDER_WECOM, WeComWorld, wecom_world
from handlers.community import CommunityConfig
from handlers.ticket_texts import local_time, status_name
from storage.models import TicketAction
from storage.people import get_person
from storage.tickets import get_ticket_by_number, ticket_history, tickets_of_community

Printer = Callable[[str], None]

PHOTO = b"\xff\xd8\xff\xe0demo photo"
WORKER_G1_WECOM = "zhangmin"  # 张敏's WeCom userid in the sample community
PLATFORM_NAMES = {"tg": "Telegram", "wecom": "企业微信"}


class Narrator:
    """Prints each step's heading and the chat lines it produced, on both platforms."""

    def __init__(self, wecom: WeComWorld, echo: Printer) -> None:
        self.wecom = wecom
        self.echo = echo
        self.shown = 0
        self.shown_wecom = 0
        self._said: list[str] = []
        chats = wecom.world.service.communities[0].chats
        self._titles = {c.id.partition(":")[2]: c.title for c in chats if c.id.startswith("wecom:")}

    def said_on_wecom(self, chat: str, who: str, what: str) -> None:
        """A person's WeCom message (the fake WeCom records only what the bot says)."""
        self._said.append(f"[企业微信 {self._titled(chat)}] {who}: {what}")

    async def step(self, heading: str) -> None:
        await self.wecom.settle()
        lines = self.wecom.world.fake.transcript()
        wecom_lines = self.wecom.fake.transcript()
        self.echo(f"\n── {heading}")
        new = [*self._said, *lines[self.shown :]]
        new += ["[企业微信 " + self._titled(line[1:]) for line in wecom_lines[self.shown_wecom :]]
        for line in new:
            self.echo("   " + line.replace("\n", "\n      "))
        self.shown, self.shown_wecom, self._said = len(lines), len(wecom_lines), []

    def _titled(self, line: str) -> str:
        """The fake WeCom names group chats by id; show their titles from the community file."""
        head, bracket, rest = line.partition("]")
        for chat_id, title in self._titles.items():
            head = head.replace(chat_id, title)
        return head + bracket + rest


async def play_demo(
    community: CommunityConfig, database_url: str, media_dir: Path, echo: Printer = print
) -> int:
    """Run the scenario against the embedded fake Telegram and WeCom; returns the exit code."""
    async with wecom_world(community, database_url, media_dir) as wecom:
        world = wecom.world
        story = Narrator(wecom, echo)
        name = community.community.name
        echo(f"演示 / demo：模拟的 Telegram 群聊与企业微信（{name}），数据库 {database_url}")
        await _reports(world, story)
        await _handling(world, story)
        await _wecom(wecom, story)
        await _questions(world, story)
        await _staff(world, story)
        echo(
            f"\n共 {len(world.fake.sent_messages())} 条 Telegram 机器人消息、"
            f"{_wecom_sent(wecom)} 条企业微信机器人消息，429 次数："
            f"{world.fake.too_many_requests()}"
        )
    return 0


def _wecom_sent(wecom: WeComWorld) -> int:
    fake = wecom.fake
    sent = [*fake.app_messages, *fake.chat_messages, *fake.robot_messages, *fake.ai_bot_replies]
    return len(sent)


async def _reports(world: World, story: Narrator) -> None:
    world.send(
        RESIDENTS,
        RIDER,
        video=b"demo video",
        caption="夜市南门门楼西侧那块广告牌被风刮得哐哐响，螺丝松脱了，下面全是人和车，快点来人处理！",
    )
    await story.step("骑手发视频报事 → 建单、群内回复、私信网格员张敏")
    world.clock.advance(180)
    world.send(RESIDENTS, RIDER_2, "夜市南门那块广告牌我刚也看到了，晃得好厉害")
    await story.step("另一位骑手报同一件事 → 关联到已有工单，不重复建单")
    world.clock.advance(600)
    world.send(
        RESIDENTS,
        RIDER_2,
        photo=PHOTO,
        media_group_id="album-1",
        caption="一期儿童乐园那个滑滑梯有块板子翘起来了，钉子都露出来了，好危险",
    )
    world.send(RESIDENTS, RIDER_2, photo=PHOTO + b"2", media_group_id="album-1")
    await story.step("两张照片的相册，说明写在第一张 → 一张工单带两张照片，私信网格员李强")
    world.fake.set_started(WORKER_G4, False)
    world.clock.advance(600)
    world.send(RESIDENTS, RIDER, photo=PHOTO + b"3")
    world.clock.advance(30)
    world.send(RESIDENTS, RIDER, "远大路公交站旁边那个井盖没了，晚上要摔人的")
    await story.step("先发照片、再发文字 → 合成一张工单；网格员孙浩没启动机器人 → 在工作群里@他")


async def _handling(world: World, story: Narrator) -> None:
    message_id, data = world.button_data(WORKER_G1, "确认")
    world.press(WORKER_G1, message_id, data, user_id=OUTSIDER)
    await story.step("路人点了「确认接单」 → 礼貌拒绝，工单不变")
    world.press(WORKER_G1, message_id, data, user_id=WORKER_G1)
    await story.step("张敏确认接单 → 群里的报事消息下收到进展")
    world.clock.advance(1800)
    message_id, data = world.button_data(WORKER_G1, "已处理")
    world.press(WORKER_G1, message_id, data, user_id=WORKER_G1)
    world.send(WORKER_G1, WORKER_G1, photo=PHOTO + b"after")
    await story.step("张敏标记已处理并发处理后照片 → 报事人和重复报事人都收到通知")
    message_id, data = world.button_data(WORKER_G2, "确认")
    world.press(WORKER_G2, message_id, data, user_id=WORKER_G2)
    await story.step("李强确认滑梯工单")


async def _wecom(wecom: WeComWorld, story: Narrator) -> None:
    """WeCom beside Telegram: one ticket, whichever platform each person uses."""
    world, fake = wecom.world, wecom.fake
    world.clock.advance(600)
    rider = "美团-胡师傅"
    await wecom.app_callback(fake.image_callback(RIDER_WECOM, PHOTO + b"wecom"))
    story.said_on_wecom(f"私聊 {rider}", rider, "📷")
    report = "美食街那几个垃圾桶满了，垃圾都溢到路上了，好几天没人清"
    await wecom.app_callback(fake.text_callback(RIDER_WECOM, report))
    story.said_on_wecom(f"私聊 {rider}", rider, report)
    await story.step(
        "企业微信：骑手在应用里私信发照片和文字 → 建单，张敏在企业微信收到带按钮的卡片"
    )
    number = await _newest_ticket_number(wecom)
    world.clock.advance(120)
    world.send(WORKER_G1, WORKER_G1, f"/ticket {number}")
    await story.step(f"张敏这会儿在用 Telegram：/ticket {number} 调出同一张工单和按钮")
    message_id, data = world.button_data(WORKER_G1, "确认")
    world.press(WORKER_G1, message_id, data, user_id=WORKER_G1)
    await story.step("张敏在 Telegram 确认接单 → 企业微信里的报事人收到进展")
    await _show_history(wecom, story, number)
    world.clock.advance(300)
    mention = "@扬帆小助手 12栋楼下的路灯坏了，晚上黑乎乎的"
    await wecom.ai_bot_callback(RESIDENTS_WECOM, "resident_wang", mention)
    story.said_on_wecom(f"群 {RESIDENTS_WECOM}", "resident_wang", mention)
    await story.step("企业微信居民群里@智能机器人报事 → 建单，回复发回群里，私信第三网格的网格员")


async def _newest_ticket_number(wecom: WeComWorld) -> int:
    runtime = wecom.world.service.runtime
    community_id = runtime.communities[0].community.id
    async with runtime.sessions() as session:
        tickets = await tickets_of_community(session, community_id=community_id)
    return max(ticket.number for ticket in tickets)


async def _show_history(wecom: WeComWorld, story: Narrator, number: int) -> None:
    """The ticket's one audit log: made on WeCom, acknowledged on Telegram, by one person."""
    runtime = wecom.world.service.runtime
    community = runtime.communities[0]
    async with runtime.sessions() as session:
        ticket = await get_ticket_by_number(
            session, community_id=community.community.id, number=number
        )
        assert ticket is not None
        story.echo(f"   📒 工单 #{number} 的审计记录（一张工单、一份记录，跨两个平台）：")
        for event in await ticket_history(session, ticket_id=ticket.id):
            created = event.action == TicketAction.CREATED
            # The creation is recorded without an actor: it is the reporter's, on the source.
            actor_id = event.actor_id or (ticket.reporter_id if created else None)
            actor = await get_person(session, person_id=actor_id) if actor_id else None
            platform = event.platform or (ticket.source_platform if created else "")
            statuses = [status_name(s, "zh") for s in (event.from_status, event.to_status) if s]
            what = ("登记 → " if created else "") + " → ".join(statuses)
            story.echo(
                f"      {local_time(community, event.at)}  {what}  · "
                f"{PLATFORM_NAMES.get(platform, platform or '—')} · "
                f"{actor.display_name if actor else '—'}"
            )


async def _questions(world: World, story: Narrator) -> None:
    world.clock.advance(600)
    world.send(RESIDENTS, RIDER, "楼道灯又坏了，晚上黑漆漆的，没人来换")
    await story.step("没说地点 → 建单并请报事人补充位置")
    world.clock.advance(60)
    world.send(RESIDENTS, RIDER, location=(28.1985, 113.0365))
    await story.step("报事人发来位置 → 定位到第三网格，派单并私信网格员")
    world.clock.advance(600)
    world.send(RESIDENTS, RIDER_2, "看这里👀", photo=PHOTO + b"4")
    await story.step("只有一张照片和「看这里」 → 先问是不是要报事")
    message_id, data = world.button_data(RESIDENTS, "登记")
    world.press(RESIDENTS, message_id, data, user_id=RIDER_2)
    await story.step("报事人确认 → 建单（网格未知，工作群选择网格）")


async def _staff(world: World, story: Narrator) -> None:
    world.send(STAFF, STAFF, "/open")
    world.send(STAFF, STAFF, "/stats")
    await story.step("社区工作人员私聊机器人：/open 与 /stats")
