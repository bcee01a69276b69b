"""What every feature handler needs: communities, parsers, the database, the clock, the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import Outgoing
from handlers.clock import Clock
from handlers.community import ChatAudience, CommunityConfig, PersonConfig, Role
from handlers.parsing.report_parser import ReportParser
from handlers.texts import normalise_language
from storage.models import Person
from storage.outbox import enqueue_outgoing
from storage.people import find_person_by_account, upsert_person


@dataclass
class Runtime:
    """Shared state of one running bot; built once by the wiring in bot/, passed to handlers."""

    communities: Sequence[CommunityConfig]
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    outbox_changed: Callable[[], None] = lambda: None
    parsers: dict[str, ReportParser] = field(default_factory=dict)
    platforms: frozenset[str] = frozenset({"tg"})  # platforms this bot has a messenger for

    def serves(self, chat_id: str) -> bool:
        """Whether messages to this chat can be sent by this bot."""
        return chat_id.partition(":")[0] in self.platforms

    def parser_for(self, community: CommunityConfig) -> ReportParser:
        """The community's parser, built on first use."""
        key = community.community.id
        if key not in self.parsers:
            self.parsers[key] = ReportParser(community)
        return self.parsers[key]

    def community_of_chat(self, chat_id: str) -> CommunityConfig | None:
        """The community that lists this group chat."""
        return next((c for c in self.communities if c.chat(chat_id)), None)

    def community_of_user(self, platform: str, user_id: str) -> CommunityConfig | None:
        """The community where this account is staff or a worker; else the only community."""
        for community in self.communities:
            if community.role_of(platform, user_id) is not None:
                return community
        return self.communities[0] if len(self.communities) == 1 else None

    @cached_property
    def default_community(self) -> CommunityConfig:
        return self.communities[0]


def role_in(community: CommunityConfig, platform: str, user_id: str) -> Role:
    """A configured role, or resident for everyone else."""
    return community.role_of(platform, user_id) or Role.RESIDENT


def staff_chat_id(community: CommunityConfig, platform: str) -> str | None:
    """The community's staff group on this platform (first listed)."""
    prefix = f"{platform}:"
    return next(
        (c.id for c in community.chats if c.kind is ChatAudience.STAFF and c.id.startswith(prefix)),
        None,
    )


async def remember_person(
    session: AsyncSession,
    community: CommunityConfig,
    *,
    platform: str,
    user_id: str,
    display_name: str = "",
    language: str | None = None,
) -> Person:
    """The stored person behind an account, with their configured role, name and other accounts.

    A configured staff member or grid worker is one person on every platform they are listed
    on, under their configured name; anyone else is a resident named as the platform shows them.
    """
    configured = community.person_of(platform, user_id)
    return await upsert_person(
        session,
        community_id=community.community.id,
        display_name=configured.name if configured else (display_name or user_id),
        role=role_in(community, platform, user_id),
        platform=platform,
        platform_user_id=user_id,
        language=language,
        linked_accounts=tuple(configured.ids()) if configured else (),
    )


def account_of(person: PersonConfig, platform: str) -> str | None:
    """The person's user id on a platform, if configured."""
    return dict(person.ids()).get(platform)


async def language_of(session: AsyncSession, platform: str, user_id: str, fallback: str) -> str:
    """The language a person last used with us, else the fallback."""
    person = await find_person_by_account(session, platform=platform, platform_user_id=user_id)
    return normalise_language(person.language if person and person.language else fallback)


async def queue(
    runtime: Runtime,
    session: AsyncSession,
    message: Outgoing,
    *,
    ticket_id: uuid.UUID | None = None,
) -> None:
    """Put a message in the outbox, in the caller's transaction."""
    await enqueue_outgoing(
        session,
        chat_id=message.chat_id,
        payload=message.to_json(),
        now=runtime.clock.now(),
        coalesce_key=message.coalesce_key,
        ticket_id=ticket_id,
    )
