"""The bot of the intake benchmark: `python -m bot run`'s own service, with flood control off.

The benchmark measures the pipeline (update → parse → ticket → ping and reply), not Telegram's
limits, so the bot's pacing is lifted; everything else is configured from the environment
exactly as `python -m bot run` is.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from common import ROOT  # noqa: F401  (puts the repository on sys.path)

from bot.redaction import redact
from bot.serve import build_service
from bot.settings import Settings
from handlers.community import load_communities
from schedules.flood_control import FloodLimits

UNLIMITED = FloodLimits(
    per_second_overall=1_000_000, per_minute_per_group=1_000_000, per_second_per_private=1e6
)


async def serve_without_pacing() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level)
    redact(*settings.secret_values())
    communities = load_communities([str(p) for p in settings.community_config_paths])
    service = build_service(settings, communities)
    service.flood_limits = UNLIMITED
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await service.start()
    try:
        await stop.wait()
    finally:
        await service.stop()


if __name__ == "__main__":
    asyncio.run(serve_without_pacing())
