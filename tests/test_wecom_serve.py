"""`python -m bot run`'s serve() with WeCom settings and no Telegram token, as configured by env."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from bot.fake_wecom import CallbackResponse, FakeWeCom
from bot.serve import serve
from bot.settings import load_settings
from bot.simulation import free_port
from bot.wecom_callback import APP_PATH
from bot.wecom_simulation import RIDER_WECOM, populate_wecom
from handlers.community import CommunityConfig
from storage.database import create_engine, create_session_factory
from storage.models import Ticket
from tests.conftest import SAMPLE_COMMUNITY

SECONDS = 20.0  # real time allowed for each wait (each takes well under a second)


def _environment(fake: FakeWeCom, robot_keys: dict[str, str], tmp_path: Path, port: int) -> dict:
    """The operator's environment: WeCom only (no Telegram token), a fresh SQLite file."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TELEGRAM_", "WECOM_"))
    }
    return {
        **inherited,
        "COMMUNITY_CONFIG": str(SAMPLE_COMMUNITY),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "MEDIA_DIR": str(tmp_path / "media"),
        "LOG_LEVEL": "INFO",
        "WECOM_CORP_ID": fake.corp_id,
        "WECOM_AGENT_ID": str(fake.agent_id),
        "WECOM_SECRET": fake.secret,
        "WECOM_TOKEN": fake.app_signer.token,
        "WECOM_AES_KEY": fake.app_signer.encoding_aes_key,
        "WECOM_AI_BOT_TOKEN": fake.ai_bot_signer.token,
        "WECOM_AI_BOT_AES_KEY": fake.ai_bot_signer.encoding_aes_key,
        "WECOM_ROBOT_KEYS": ",".join(f"{chat}={key}" for chat, key in robot_keys.items()),
        "WECOM_API_BASE_URL": fake.base_url,
        "WECOM_CALLBACK_PORT": str(port),
    }


async def _until_listening(fake: FakeWeCom, url: str) -> tuple[CallbackResponse, str]:
    """WeCom's URL check, repeated until the bot's callback server is up."""
    async with asyncio.timeout(SECONDS):
        while True:
            try:
                return await fake.verify_callback_url(url)
            except ConnectionRefusedError:
                await asyncio.sleep(0.02)


async def _until(condition: Callable[[], object]) -> None:
    """Wait until the bot's sender has delivered (the fake only records; it signals nothing)."""
    async with asyncio.timeout(SECONDS):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def _tickets(database: Path) -> list[Ticket]:
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with create_session_factory(engine)() as session:
            return list(await session.exec(select(Ticket)))
    finally:
        await engine.dispose()


async def test_run_serves_wecom_alone_and_stops_on_sigterm(
    sample_community: CommunityConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeWeCom() as fake:
        robot_keys = populate_wecom(fake, sample_community)
        port = free_port()
        for name, value in _environment(fake, robot_keys, tmp_path, port).items():
            monkeypatch.setenv(name, value)
        running = asyncio.create_task(serve(load_settings(env_file=None)))
        url = f"http://127.0.0.1:{port}{APP_PATH}"
        with caplog.at_level(logging.INFO):
            try:
                verified, echo = await _until_listening(fake, url)
                callback = fake.text_callback(
                    RIDER_WECOM, "夜市门楼上的广告牌松了，风一吹就晃，很危险"
                )
                [answer] = await fake.deliver_app_callback(url, callback)
                await _until(lambda: fake.messages_to("zhangmin"))  # the grid worker's card
                assert not running.done()  # else SIGTERM would reach pytest itself
                signal.raise_signal(signal.SIGTERM)  # serve() handles it: a clean stop
                async with asyncio.timeout(SECONDS):
                    exit_code = await running
            finally:
                running.cancel()

    assert exit_code == 0
    assert verified.text == echo  # the URL check WeCom makes when the URL is saved
    assert answer.status == 200
    [ticket] = await _tickets(tmp_path / "bot.db")
    assert ticket.source_platform == "wecom" and ticket.grid_id == "G1"
    assert fake.messages_to("zhangmin")[0].msgtype == "template_card"
    logged = caplog.text
    [serving] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("serving")]
    assert "WeCom corp" in serving and "/wecom/app and /wecom/aibot" in serving
    assert "Telegram" not in serving
    assert "Telegram is not configured" in logged  # the sample's Telegram chats are not served
    for secret in (fake.secret, fake.app_signer.encoding_aes_key, *robot_keys.values()):
        assert secret not in logged
