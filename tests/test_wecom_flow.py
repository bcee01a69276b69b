"""WeCom end to end: reports over the app and the AI bot become tickets; cards acknowledge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.wecom_simulation import RESIDENTS_WECOM, RIDER_WECOM, WeComWorld, wecom_world
from handlers.community import CommunityConfig
from storage.models import TicketStatus
from tests.conftest import all_tickets

PHOTO = b"\xff\xd8\xff\xe0" + b"billboard" * 50


@pytest.fixture
async def wecom(
    sample_community: CommunityConfig, database_url: str, tmp_path: Path
) -> AsyncIterator[WeComWorld]:
    async with wecom_world(sample_community, database_url, tmp_path / "media") as world:
        yield world


async def test_a_riders_photo_report_over_the_app_becomes_a_ticket_for_the_grid(
    wecom: WeComWorld,
) -> None:
    statuses = await wecom.app_callback(wecom.fake.image_callback(RIDER_WECOM, PHOTO))
    statuses += await wecom.app_callback(
        wecom.fake.text_callback(RIDER_WECOM, "夜市门楼上的广告牌松了，风一吹就晃，很危险")
    )
    await wecom.settle()

    assert statuses == [200, 200]
    [ticket] = await all_tickets(wecom.world)
    assert ticket.source_platform == "wecom"
    print(wecom.fake.transcript())
    assert ticket.grid_id is not None
