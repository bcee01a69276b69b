"""Shared test setup for the WeCom API and the fake: a corp with two members and a staff chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.fake_wecom import FakeWeCom
from handlers.clock import FakeClock

STAFF_CHAT = "wrStaff01"


@asynccontextmanager
async def corp_with_members(clock: FakeClock) -> AsyncIterator[FakeWeCom]:
    """The fake WeCom with 张敏 and 李伟, both in the app chat wrStaff01."""
    async with FakeWeCom(clock=clock) as fake:
        fake.add_member("zhangmin", "张敏")
        fake.add_member("liwei", "李伟")
        fake.add_app_chat(STAFF_CHAT, ["zhangmin", "liwei"])
        yield fake
