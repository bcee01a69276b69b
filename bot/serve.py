"""`python -m bot run` with platform settings: serve Telegram, WeCom or both until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from pathlib import Path

from bot.redaction import redact
from bot.service import BotService, TelegramOptions
from bot.settings import Settings, mask_url_password
from bot.wecom_callback import AI_BOT_PATH, APP_PATH
from bot.wecom_channel import WeComOptions
from handlers.community import CommunityConfig, load_communities

log = logging.getLogger(__name__)


def telegram_options(settings: Settings) -> TelegramOptions | None:
    """Telegram connection settings from the environment; None without a bot token."""
    if settings.telegram_bot_token is None:
        return None
    secret = settings.telegram_webhook_secret
    return TelegramOptions(
        token=settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_base_file_url,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=secret.get_secret_value() if secret else None,
        webhook_listen=settings.telegram_webhook_listen,
        webhook_port=settings.telegram_webhook_port,
    )


def wecom_options(settings: Settings) -> WeComOptions | None:
    """WeCom app, AI bot and group robot settings from the environment; None when not set."""
    if not settings.wecom_enabled:
        return None
    assert settings.wecom_corp_id is not None and settings.wecom_agent_id is not None
    assert settings.wecom_secret and settings.wecom_token and settings.wecom_aes_key
    ai_bot_token, ai_bot_key = settings.wecom_ai_bot_token, settings.wecom_ai_bot_aes_key
    return WeComOptions(
        corp_id=settings.wecom_corp_id,
        agent_id=settings.wecom_agent_id,
        secret=settings.wecom_secret.get_secret_value(),
        token=settings.wecom_token.get_secret_value(),
        encoding_aes_key=settings.wecom_aes_key.get_secret_value(),
        api_base_url=settings.wecom_api_base_url,
        callback_listen=settings.wecom_callback_listen,
        callback_port=settings.wecom_callback_port,
        ai_bot_token=ai_bot_token.get_secret_value() if ai_bot_token else None,
        ai_bot_encoding_aes_key=ai_bot_key.get_secret_value() if ai_bot_key else None,
        robot_keys=settings.wecom_robot_key_map,
    )


def build_service(settings: Settings, communities: Sequence[CommunityConfig]) -> BotService:
    """The bot for every platform the settings configure."""
    return BotService(
        telegram=telegram_options(settings),
        wecom=wecom_options(settings),
        communities=communities,
        database_url=settings.database_url,
        media_dir=Path(settings.media_dir),
        media_max_bytes=settings.media_max_bytes,
        sender_owner=settings.bot_instance,
    )


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Run the bot until SIGINT, SIGTERM or `stop`; returns the exit code."""
    redact(*settings.secret_values())  # before anything can log a URL with a key in it
    communities = load_communities([str(p) for p in settings.community_config_paths])
    service = build_service(settings, communities)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await service.start()
        try:
            _warn_about_unserved_chats(communities, service.platforms)
            log.warning(
                "serving %s; database %s; %d communities",
                "; ".join(_describe_platforms(settings, service)),
                mask_url_password(settings.database_url),
                len(communities),
            )
            await stop.wait()
        finally:
            await service.stop()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return 0


def _describe_platforms(settings: Settings, service: BotService) -> list[str]:
    """One phrase per platform served, e.g. "Telegram @bot by polling" (never a secret)."""
    served = []
    if service.telegram is not None:
        mode = "webhook" if settings.telegram_webhook_url else "polling"
        served.append(f"Telegram @{service.bot_username} by {mode}")
    if service.wecom_channel is not None:
        server = service.wecom_channel.server
        paths = APP_PATH + (f" and {AI_BOT_PATH}" if settings.wecom_ai_bot_enabled else "")
        robots = len(settings.wecom_robot_key_map)
        served.append(
            f"WeCom corp {settings.wecom_corp_id} app {settings.wecom_agent_id} with callbacks "
            f"on {server.base_url} ({paths}) and {robots} group robots"
        )
    return served


def _warn_about_unserved_chats(communities: Sequence[CommunityConfig], served: list[str]) -> None:
    """Chats on a platform without settings get nothing: say so once at start."""
    names = {"tg": "Telegram", "wecom": "WeCom"}
    for community in communities:
        unserved: dict[str, list[str]] = {}
        for chat in community.chats:
            platform = chat.id.partition(":")[0]
            if platform not in served:
                unserved.setdefault(platform, []).append(chat.title)
        for platform, titles in unserved.items():
            log.warning(
                "%s: %s is not configured, so these chats are not served: %s",
                community.community.id,
                names.get(platform, platform),
                ", ".join(titles),
            )
