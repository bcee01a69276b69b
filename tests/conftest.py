"""Shared fixtures: the bundled sample community and message builders."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select

from bot.simulation import World, telegram_world
from handlers.community import CommunityConfig, load_community
from handlers.messages import (
    Attachment,
    AttachmentKind,
    ChatKind,
    GeoPoint,
    Incoming,
    Platform,
    Sender,
)
from storage.database import AsyncSession, create_engine, create_session_factory, upgrade_database
from storage.models import Ticket
from tests.storage.support import postgres_schema

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_COMMUNITY = REPO_ROOT / "examples" / "community.yaml"
SAMPLE_EXPORT = REPO_ROOT / "examples" / "corpus" / "result.json"
SAMPLE_LABELS = REPO_ROOT / "examples" / "corpus" / "labels.json"
START = datetime(2023, 7, 10, 8, 0, tzinfo=UTC)

MessageFactory = Callable[..., Incoming]

# Filled by tests/test_corpus_score.py, printed at the end of the run.
PARSER_SCORES: dict[str, dict[str, float]] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show the parser's scores on every labelled chat at the end of the test run."""
    if not PARSER_SCORES:
        return
    terminalreporter.section("report parser scores")
    for chat, summary in sorted(PARSER_SCORES.items()):
        figures = ", ".join(f"{name} {value}" for name, value in summary.items())
        terminalreporter.write_line(f"{chat}: {figures}")


@pytest.fixture(autouse=True)
def _no_leaked_ptb_setting() -> Iterator[None]:
    """BotService.start sets PTB_TIMEDELTA for the process; undo it so test order never matters."""
    before = os.environ.get("PTB_TIMEDELTA")
    yield
    if before is None:
        os.environ.pop("PTB_TIMEDELTA", None)
    else:
        os.environ["PTB_TIMEDELTA"] = before


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of an empty, unmigrated database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.db'}"
        return
    async with postgres_schema() as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """Engine on a database migrated to the newest revision."""
    await upgrade_database(database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture(scope="session")
def sample_community() -> CommunityConfig:
    return load_community(SAMPLE_COMMUNITY)


@pytest.fixture
def make_message() -> MessageFactory:
    """Build a group message from a rider; keyword arguments override the defaults."""
    counter = iter(range(1, 10_000))

    def build(
        text: str = "",
        *,
        sender: str = "7000001",
        seconds: int = 0,
        photos: int = 0,
        video: bool = False,
        location: tuple[float, float] | None = None,
        album: str | None = None,
        **overrides: object,
    ) -> Incoming:
        attachments = tuple(
            Attachment(kind=AttachmentKind.PHOTO, file_id=f"photo-{i}") for i in range(photos)
        ) + ((Attachment(kind=AttachmentKind.VIDEO, file_id="video"),) if video else ())
        fields: dict[str, object] = {
            "platform": Platform.TELEGRAM,
            "chat_id": "tg:-1001000000001",
            "chat_kind": ChatKind.GROUP,
            "sender": Sender(user_id=sender, display_name="骑手"),
            "message_id": str(next(counter)),
            "sent_at": START + timedelta(seconds=seconds),
            "text": text,
            "attachments": attachments,
            "location": GeoPoint(latitude=location[0], longitude=location[1]) if location else None,
            "album_id": album,
        }
        fields.update(overrides)
        return Incoming(**fields)  # type: ignore[arg-type]

    return build


@pytest.fixture
async def world(
    sample_community: CommunityConfig, database_url: str, tmp_path: Path
) -> AsyncIterator[World]:
    """The sample community on the fake Telegram, the real bot, on each database backend."""
    async with telegram_world(sample_community, database_url, tmp_path / "media") as world:
        yield world


async def all_tickets(world: World) -> list[Ticket]:
    """Every ticket, by number."""
    async with world.service.runtime.sessions() as session:
        return list(await session.exec(select(Ticket).order_by(col(Ticket.number))))
