"""Periodic jobs: escalation every minute, each community's digest at its local time.

Jobs live in memory and are rebuilt from the config at every start; the database flags
(escalation timestamps, digest notices) make every run idempotent, even across instances.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from handlers.community import CommunityConfig
from handlers.runtime import Runtime
from schedules.digest import send_daily_digest
from schedules.escalation import escalate_overdue
from schedules.reminders import send_due_reminders

log = logging.getLogger(__name__)

PASS_SECONDS = 60  # how often escalations and reminders are checked
ESCALATION_JOB = "escalation"
REMINDER_JOB = "reminders"
DIGEST_MISFIRE_SECONDS = 3600  # a bot down at digest time still sends it within the hour


def digest_job_id(community: CommunityConfig) -> str:
    """The scheduler id of a community's digest job."""
    return f"digest:{community.community.id}"


def build_scheduler(runtime: Runtime) -> AsyncIOScheduler:
    """A scheduler (not started): escalation and reminder passes, one digest per community.

    The database is the source of truth (escalation flags, reminder claims, digest notices),
    so the jobs need no store of their own: rebuilt at start, they pick up what is due.
    """
    scheduler = AsyncIOScheduler(timezone=UTC)
    for job_id, task in ((ESCALATION_JOB, escalate_overdue), (REMINDER_JOB, send_due_reminders)):
        scheduler.add_job(
            run_pass,
            IntervalTrigger(seconds=PASS_SECONDS, timezone=UTC),
            args=[runtime, job_id, task],
            id=job_id,
            max_instances=1,
            coalesce=True,
        )
    for community in runtime.communities:
        hour, minute = community.community.digest_hour_minute
        scheduler.add_job(
            run_digest,
            CronTrigger(hour=hour, minute=minute, timezone=community.timezone_info),
            args=[runtime, community],
            id=digest_job_id(community),
            coalesce=True,
            misfire_grace_time=DIGEST_MISFIRE_SECONDS,
        )
    return scheduler


async def run_pass(runtime: Runtime, name: str, task: Callable[[Runtime], Awaitable[int]]) -> None:
    """One pass of a periodic job; a failure is logged and the next pass tries again."""
    try:
        await task(runtime)
    except Exception as error:  # a failed pass must not stop the schedule
        log.error("%s failed: %s", name, type(error).__name__)


async def run_digest(runtime: Runtime, community: CommunityConfig) -> None:
    """The digest for the community's current local date."""
    day = runtime.clock.now().astimezone(community.timezone_info).date()
    try:
        await send_daily_digest(runtime, community, day=day)
    except Exception as error:  # logged; the once-only claim rolled back with the failure
        log.error("digest failed for %s: %s", community.community.id, type(error).__name__)
