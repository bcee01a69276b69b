"""The no-token demo: a whole day in a simulated group chat, printed as a transcript."""

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
    telegram_world,
)
from handlers.community import CommunityConfig

Printer = Callable[[str], None]

PHOTO = b"\xff\xd8\xff\xe0demo photo"


class Narrator:
    """Prints each step's heading and the chat lines it produced."""

    def __init__(self, world: World, echo: Printer) -> None:
        self.world = world
        self.echo = echo
        self.shown = 0

    async def step(self, heading: str) -> None:
        await self.world.settle()
        lines = self.world.fake.transcript()
        self.echo(f"\n── {heading}")
        for line in lines[self.shown :]:
            self.echo("   " + line.replace("\n", "\n      "))
        self.shown = len(lines)


async def play_demo(
    community: CommunityConfig, database_url: str, media_dir: Path, echo: Printer = print
) -> int:
    """Run the scenario against the embedded fake Telegram; returns the exit code."""
    async with telegram_world(community, database_url, media_dir) as world:
        story = Narrator(world, echo)
        name = community.community.name
        echo(f"演示 / demo：模拟的 Telegram 群聊（{name}），数据库 {database_url}")
        await _reports(world, story)
        await _handling(world, story)
        await _questions(world, story)
        await _staff(world, story)
        echo(
            f"\n共 {len(world.fake.sent_messages())} 条机器人消息，429 次数："
            f"{world.fake.too_many_requests()}"
        )
    return 0


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
