"""`python -m bot run` with a token: serve Telegram until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from bot.service import BotService, TelegramOptions
from bot.settings import Settings, mask_url_password
from handlers.community import load_communities

log = logging.getLogger(__name__)


def telegram_options(settings: Settings) -> TelegramOptions:
    """Telegram connection settings from the environment."""
    assert settings.telegram_bot_token is not None
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


async def serve_telegram(settings: Settings) -> int:
    """Run the bot until asked to stop; returns the exit code."""
    communities = load_communities([str(p) for p in settings.community_config_paths])
    service = BotService(
        telegram=telegram_options(settings),
        communities=communities,
        database_url=settings.database_url,
        media_dir=Path(settings.media_dir),
        media_max_bytes=settings.media_max_bytes,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await service.start()
    mode = "webhook" if settings.telegram_webhook_url else "polling"
    log.warning(
        "serving @%s by %s; database %s; %d communities",
        service.bot_username,
        mode,
        mask_url_password(settings.database_url),
        len(communities),
    )
    try:
        await stop.wait()
    finally:
        await service.stop()
    return 0
