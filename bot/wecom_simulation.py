"""A simulated world with WeCom beside Telegram: both fakes, the real bot, one virtual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.fake_wecom import FakeWeCom, WeComLimits
from bot.redaction import redact
from bot.simulation import World, fake_telegram, service_for
from bot.wecom_callback import AI_BOT_PATH, APP_PATH
from bot.wecom_channel import WeComChannel, WeComOptions
from handlers.clock import FakeClock
from handlers.community import ChatAudience, CommunityConfig

RIDER_WECOM = "rider_hu"  # a rider who writes to the app, known to no configuration
RESIDENTS_WECOM = "wrOgQhDgAAyangfan01"
STAFF_WECOM = "wrOgQhDgAAyangfan09"


@dataclass
class WeComWorld:
    """The Telegram world plus the fake WeCom; callbacks go to the bot's callback server."""

    world: World
    fake: FakeWeCom
    robot_keys: dict[str, str]

    @property
    def channel(self) -> WeComChannel:
        channel = self.world.service.wecom_channel
        assert channel is not None
        return channel

    @property
    def app_url(self) -> str:
        return f"{self.channel.server.base_url}{APP_PATH}"

    @property
    def ai_bot_url(self) -> str:
        return f"{self.channel.server.base_url}{AI_BOT_PATH}"

    async def app_callback(self, xml: str, *, times: int = 1) -> list[int]:
        """WeCom delivers an app callback (`times` deliveries); returns the HTTP statuses."""
        answers = await self.fake.deliver_app_callback(self.app_url, xml, times=times)
        await self.channel.server.drain()
        return [answer.status for answer in answers]

    async def ai_bot_callback(self, chat_id: str, user_id: str, text: str, **kwargs: object) -> int:
        """Someone @-mentions the AI bot in a WeCom group."""
        message = self.fake.ai_bot_message(chat_id=chat_id, user_id=user_id, text=text, **kwargs)  # type: ignore[arg-type]
        [answer] = await self.fake.deliver_ai_bot_callback(self.ai_bot_url, message)
        await self.channel.server.drain()
        return answer.status

    async def settle(self) -> None:
        """Let callbacks finish and the outbox drain (on both platforms)."""
        await self.channel.server.drain()
        await self.world.settle()


def populate_wecom(fake: FakeWeCom, community: CommunityConfig) -> dict[str, str]:
    """Members, app chats for staff groups, robots for residents' groups; returns robot keys."""
    fake.add_member(RIDER_WECOM, "美团-胡师傅")
    people = [*community.staff, *(w for g in community.grids for w in g.workers)]
    members = [p.wecom_userid for p in people if p.wecom_userid]
    for person in people:
        if person.wecom_userid:
            fake.add_member(person.wecom_userid, person.name)
    robot_keys: dict[str, str] = {}
    for chat in community.chats:
        platform, _, native = chat.id.partition(":")
        if platform != "wecom":
            continue
        if chat.kind is ChatAudience.STAFF:
            fake.add_app_chat(native, members)
        else:
            robot_keys[native] = f"robot-{native}"
            fake.add_robot(robot_keys[native], chat.title)
    return robot_keys


@asynccontextmanager
async def wecom_world(
    community: CommunityConfig,
    database_url: str,
    media_dir: Path,
    *,
    wecom_limits: WeComLimits | None = None,
) -> AsyncIterator[WeComWorld]:
    """Both fakes and the real bot serving Telegram and WeCom for one community."""
    async with fake_telegram([community]) as telegram:
        clock = telegram.clock
        assert isinstance(clock, FakeClock)
        async with FakeWeCom(clock=clock, limits=wecom_limits or WeComLimits()) as fake:
            robot_keys = populate_wecom(fake, community)
            redact(fake.secret, *robot_keys.values())
            service = service_for(telegram, clock, [community], database_url, media_dir)
            service.wecom = WeComOptions(
                corp_id=fake.corp_id,
                agent_id=fake.agent_id,
                secret=fake.secret,
                token=fake.app_signer.token,
                encoding_aes_key=fake.app_signer.encoding_aes_key,
                api_base_url=fake.base_url,
                callback_port=0,
                ai_bot_token=fake.ai_bot_signer.token,
                ai_bot_encoding_aes_key=fake.ai_bot_signer.encoding_aes_key,
                robot_keys=robot_keys,
            )
            await service.start()
            try:
                yield WeComWorld(World(telegram, service, clock), fake, robot_keys)
            finally:
                await service.stop()
