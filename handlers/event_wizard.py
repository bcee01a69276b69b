"""The guided /event conversation: one question at a time, in the organiser's private chat.

title → start → place (skip) → capacity (skip) → repeat → audience → reminders → summary with
publish / cancel. Started in a group, it moves to the private chat (with a note in the group if
the bot cannot message the organiser there). The state lives in a ConversationQuestion
(kind "event_draft", payload JSON), so it survives a restart. Each answer opens a new question,
which makes buttons under older ones stale; the draft lapses 30 minutes after the last question.
Button data: "w:<question id>:<choice>".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import Button, ButtonPress, Mention, Outgoing
from handlers.community import ChatAudience, CommunityConfig
from handlers.event_form import (
    DEFAULT_REMINDER_OFFSETS_MINUTES,
    EventDraft,
    EventFormError,
    check_place,
    check_repeat_weekday,
    check_title,
    choose_audience,
    find_building,
    find_grid,
    parse_capacity,
    parse_local_time,
    parse_reminders,
    parse_repeat,
    serves_grid,
    split_list,
)
from handlers.events import publish_event, when_text
from handlers.messages import ChatKind, Incoming
from handlers.runtime import Runtime, queue
from handlers.texts import normalise_language, text
from handlers.ticket_texts import grid_name
from storage import conversations
from storage.events import audience_of
from storage.inbound import claim_inbound_message
from storage.models import ConversationQuestion
from storage.people import find_person_by_account

KIND = "event_draft"
BUTTON_PREFIX = "w"
LIFETIME = timedelta(minutes=30)
SKIP_WORDS = frozenset({"跳过", "略过", "无", "没有", "不限", "skip", "none", "no", "-"})
YES_WORDS = frozenset({"确认", "发布", "是", "好", "好的", "yes", "y", "ok", "publish"})
CANCEL_WORDS = frozenset({"取消", "cancel"})
ALL_WORDS = frozenset({"全部", "所有", "所有群", "所有居民群", "all", "everyone"})
DEFAULT_WORDS = frozenset({"默认", "default"})
REPEAT_CHOICES = {
    "none": "",
    "daily": "FREQ=DAILY",
    "weekly": "FREQ=WEEKLY",
    "monthly": "FREQ=MONTHLY",
}
QUESTION_KEYS = {
    "title": "wizard.ask_title",
    "start": "wizard.ask_start",
    "place": "wizard.ask_place",
    "capacity": "wizard.ask_capacity",
    "repeat": "wizard.ask_repeat",
    "audience": "wizard.ask_audience",
    "reminders": "wizard.ask_reminders",
}
# When publishing fails, the step whose answer caused it is asked again.
STEP_OF_PROBLEM = {
    "event.in_past": "start",
    "audience.no_group_for_grid": "audience",
    "audience.no_group_for_building": "audience",
    "audience.unknown_grid": "audience",
    "audience.unknown_building": "audience",
}


@dataclass(frozen=True, slots=True)
class Wizard:
    """Where one guided conversation is: the step to answer and the answers so far."""

    step: str
    language: str
    community_id: str
    title: str = ""
    starts_local: datetime | None = None
    place: str | None = None
    capacity: int | None = None
    rrule: str | None = None
    grids: tuple[str, ...] = ()
    buildings: tuple[str, ...] = ()
    reminders: tuple[int, ...] = DEFAULT_REMINDER_OFFSETS_MINUTES

    def to_json(self) -> str:
        """The payload kept in the question row."""
        data = asdict(self)
        data["starts_local"] = self.starts_local.isoformat() if self.starts_local else None
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Wizard:
        """Rebuild from the question row."""
        data = json.loads(raw)
        starts = data.get("starts_local")
        return cls(
            step=str(data["step"]),
            language=str(data["language"]),
            community_id=str(data["community_id"]),
            title=str(data.get("title", "")),
            starts_local=datetime.fromisoformat(starts) if starts else None,
            place=data.get("place"),
            capacity=data.get("capacity"),
            rrule=data.get("rrule"),
            grids=tuple(data.get("grids", ())),
            buildings=tuple(data.get("buildings", ())),
            reminders=tuple(int(m) for m in data.get("reminders", ())),
        )

    def draft(self) -> EventDraft:
        """The answers as an event draft (once the start is known)."""
        assert self.starts_local is not None
        return EventDraft(
            self.title,
            self.starts_local,
            place=self.place,
            capacity=self.capacity,
            rrule=self.rrule or None,
            audience_grids=self.grids,
            audience_buildings=self.buildings,
            reminder_offsets_minutes=self.reminders,
        )


# --------------------------------------------------------------------------- entry points


async def start_event_wizard(
    runtime: Runtime, session: AsyncSession, community: CommunityConfig, message: Incoming
) -> str:
    """/event alone: ask the first question privately; returns the reply to the command."""
    language = normalise_language(message.sender.language or community.community.language)
    wizard = Wizard("title", language, community.community.id)
    user_id = message.sender.user_id
    if message.chat_kind is ChatKind.PRIVATE:
        await _open(runtime, session, message.chat_id, user_id, wizard)
        return text("wizard.ask_title", language)  # the command's reply is the first question
    name = message.sender.display_name or user_id
    private_chat = f"{message.platform.value}:{user_id}"
    await _open(runtime, session, private_chat, user_id, wizard)
    first = Outgoing(
        chat_id=private_chat,
        text=text("wizard.ask_title", language),
        fallback_chat_id=message.chat_id,
        fallback_text=text("wizard.private_fallback", community.community.language, name=name),
        mentions=(Mention(user_id=user_id, name=name),),
    )
    await queue(runtime, session, first)
    return text("wizard.moved_private", community.community.language)


async def answer_event_wizard(runtime: Runtime, message: Incoming) -> bool:
    """A private text answer to the organiser's open draft; False when there is none."""
    if message.chat_kind is not ChatKind.PRIVATE or message.edited or not message.text.strip():
        return False
    async with runtime.sessions() as session, session.begin():
        question = await conversations.current_question(
            session,
            chat_id=message.chat_id,
            user_id=message.sender.user_id,
            kind=KIND,
            now=runtime.clock.now(),
        )
        if question is None:
            return False
        claimed = await claim_inbound_message(
            session,
            platform=message.platform.value,
            chat_id=message.chat_id,
            message_id=message.message_id,
            now=runtime.clock.now(),
        )
        if claimed:
            await _take_answer(runtime, session, question, typed=message.text.strip())
    runtime.outbox_changed()
    return True


async def press_wizard_button(
    runtime: Runtime, press: ButtonPress, question_key: str, choice: str
) -> str:
    """A button under one of the wizard's questions; returns the toast."""
    language = press.sender.language
    async with runtime.sessions() as session, session.begin():
        question = await conversations.get_question(
            session, question_id=int(question_key), now=runtime.clock.now()
        )
        if question is None or question.kind != KIND or question.user_id != press.sender.user_id:
            return text("wizard.expired", language)
        language = Wizard.from_json(question.payload or "{}").language
        if not await _take_answer(runtime, session, question, choice=choice):
            return text("wizard.expired", language)
    runtime.outbox_changed()
    return text("press.done", language)


async def cancel_event_wizard(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    message: Incoming,
    language: str,
    argument: str,
) -> str:
    """/cancel: drop the sender's open event draft, wherever they send it from."""
    question = await conversations.current_question(
        session,
        chat_id=f"{message.platform.value}:{message.sender.user_id}",
        user_id=message.sender.user_id,
        kind=KIND,
        now=runtime.clock.now(),
    )
    if question is None or question.id is None:
        return text("wizard.nothing_to_cancel", language)
    await conversations.close_question(session, question_id=question.id)
    return text("wizard.cancelled", language)


# --------------------------------------------------------------------------- one answer


async def _take_answer(
    runtime: Runtime,
    session: AsyncSession,
    question: ConversationQuestion,
    *,
    typed: str | None = None,
    choice: str | None = None,
) -> bool:
    """Apply a typed answer or a button choice; ask the next (or the same) question."""
    assert question.id is not None and question.payload is not None
    once = f"{KIND}:{question.id}"  # two quick presses must not publish twice
    if not await conversations.first_notice(session, key=once, now=runtime.clock.now()):
        return False
    wizard = Wizard.from_json(question.payload)
    community = next(
        (c for c in runtime.communities if c.community.id == wizard.community_id), None
    )
    chat_id, user_id = question.chat_id, question.user_id
    if community is None or _is_cancel(typed, choice):
        await conversations.close_question(session, question_id=question.id)
        await _say(runtime, session, chat_id, text("wizard.cancelled", wizard.language))
        return True
    try:
        following = _advance(runtime, community, wizard, typed, choice)
    except EventFormError as problem:
        note = text(problem.key, wizard.language, **problem.values)
        await _ask(runtime, session, community, chat_id, user_id, wizard, note=note)
        return True
    if following is not None:
        await _ask(runtime, session, community, chat_id, user_id, following)
        return True
    await conversations.close_question(session, question_id=question.id)
    await _publish(runtime, session, community, chat_id, user_id, wizard)
    return True


def _is_cancel(typed: str | None, choice: str | None) -> bool:
    return choice == "cancel" or (typed or "").strip().lower() in CANCEL_WORDS


def _advance(
    runtime: Runtime,
    community: CommunityConfig,
    wizard: Wizard,
    typed: str | None,
    choice: str | None,
) -> Wizard | None:
    """The wizard at its next step with this answer kept; None once the summary is confirmed."""
    answer = (typed or "").strip()
    skipped = choice == "skip" or answer.lower() in SKIP_WORDS
    if wizard.step == "title" and typed:
        return replace(wizard, step="start", title=check_title(answer))
    if wizard.step == "start" and typed:
        starts = parse_local_time(answer)
        _check_future(runtime, community, starts)
        return replace(wizard, step="place", starts_local=starts)
    if wizard.step == "place" and (skipped or typed):
        return replace(wizard, step="capacity", place=None if skipped else check_place(answer))
    if wizard.step == "capacity" and (skipped or typed):
        capacity = None if skipped else parse_capacity(answer)
        return replace(wizard, step="repeat", capacity=capacity)
    if wizard.step == "repeat":
        return replace(wizard, step="audience", rrule=_repeat(wizard, typed, choice))
    if wizard.step == "audience":
        grids, buildings = _audience(community, typed, choice)
        chosen = replace(wizard, step="reminders", grids=grids, buildings=buildings)
        choose_audience(community, chosen.draft(), runtime.serves)  # raises if nobody gets it
        return chosen
    if wizard.step == "reminders":
        return replace(wizard, step="confirm", reminders=_reminders(typed, choice))
    if wizard.step == "confirm" and (choice == "ok" or answer.lower() in YES_WORDS):
        return None
    raise EventFormError("wizard.choose_button")


def _check_future(runtime: Runtime, community: CommunityConfig, starts_local: datetime) -> None:
    starts_at = starts_local.replace(tzinfo=community.timezone_info)
    if starts_at <= runtime.clock.now():
        raise EventFormError("event.in_past", when=when_text(community, starts_at))


def _repeat(wizard: Wizard, typed: str | None, choice: str | None) -> str:
    """The RRULE value ('' for none) from a button or a phrase such as 每周五."""
    if choice in REPEAT_CHOICES:
        return REPEAT_CHOICES[choice]
    if not typed:
        raise EventFormError("wizard.choose_button")
    rule = parse_repeat(typed)
    assert wizard.starts_local is not None
    check_repeat_weekday(rule, typed, wizard.starts_local)
    return rule


def _audience(
    community: CommunityConfig, typed: str | None, choice: str | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(grids, buildings) from a button (all, or one grid) or typed grids and buildings."""
    if choice == "all" or (typed or "").strip().lower() in ALL_WORDS:
        return (), ()
    if choice and choice.startswith("g") and choice[1:].isdigit():
        index = int(choice[1:])
        if index < len(community.grids):
            return (community.grids[index].id,), ()
    if not typed:
        raise EventFormError("wizard.choose_button")
    grids: list[str] = []
    buildings: list[str] = []
    for item in split_list(typed):
        grid = find_grid(community, item)
        if grid is not None:
            grids.append(grid.id)
        elif find_building(community, item) is not None:
            buildings.append(item)
        else:
            raise EventFormError("wizard.unknown_audience", value=item)
    return tuple(grids), tuple(buildings)


def _reminders(typed: str | None, choice: str | None) -> tuple[int, ...]:
    if choice == "default" or (typed or "").strip().lower() in DEFAULT_WORDS:
        return DEFAULT_REMINDER_OFFSETS_MINUTES
    if choice == "off":
        return ()
    if not typed:
        raise EventFormError("wizard.choose_button")
    return parse_reminders(typed)


async def _publish(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    chat_id: str,
    user_id: str,
    wizard: Wizard,
) -> None:
    """Publish the confirmed draft; on a problem, ask again the step that caused it."""
    platform = chat_id.partition(":")[0]
    organiser = await find_person_by_account(session, platform=platform, platform_user_id=user_id)
    try:
        event = await publish_event(
            runtime,
            session,
            community,
            wizard.draft(),
            organiser_id=organiser.id if organiser else None,
        )
    except EventFormError as problem:
        note = text(problem.key, wizard.language, **problem.values)
        step = STEP_OF_PROBLEM.get(problem.key)
        if step is None:
            await _say(
                runtime, session, chat_id, note + "\n" + text("wizard.expired", wizard.language)
            )
            return
        back = replace(wizard, step=step)
        await _ask(runtime, session, community, chat_id, user_id, back, note=note)
        return
    created = text(
        "event.created",
        wizard.language,
        title=event.title,
        when=when_text(community, event.starts_at),
        chats=len(audience_of(event)),
    )
    await _say(runtime, session, chat_id, created)


# --------------------------------------------------------------------------- questions


async def _open(
    runtime: Runtime, session: AsyncSession, chat_id: str, user_id: str, wizard: Wizard
) -> ConversationQuestion:
    """Keep the wizard's state as the open question of this chat (closing the previous one)."""
    return await conversations.open_question(
        session,
        chat_id=chat_id,
        user_id=user_id,
        kind=KIND,
        payload=wizard.to_json(),
        now=runtime.clock.now(),
        expires_at=runtime.clock.now() + LIFETIME,
    )


async def _ask(
    runtime: Runtime,
    session: AsyncSession,
    community: CommunityConfig,
    chat_id: str,
    user_id: str,
    wizard: Wizard,
    *,
    note: str | None = None,
) -> None:
    """Store the wizard and send its current question, after a note on the last answer."""
    question = await _open(runtime, session, chat_id, user_id, wizard)
    assert question.id is not None
    body = _question_text(runtime, community, wizard)
    buttons = _buttons(runtime, community, wizard, question.id)
    await queue(
        runtime,
        session,
        Outgoing(chat_id=chat_id, text=f"{note}\n{body}" if note else body, buttons=buttons),
    )


async def _say(runtime: Runtime, session: AsyncSession, chat_id: str, body: str) -> None:
    await queue(runtime, session, Outgoing(chat_id=chat_id, text=body))


def _question_text(runtime: Runtime, community: CommunityConfig, wizard: Wizard) -> str:
    language = wizard.language
    if wizard.step != "confirm":
        return text(QUESTION_KEYS[wizard.step], language, zone=community.community.timezone)
    assert wizard.starts_local is not None
    chats = choose_audience(community, wizard.draft(), runtime.serves)
    titles = [chat.title for chat in community.chats if chat.id in chats]
    return text(
        "wizard.summary",
        language,
        title=wizard.title,
        when=wizard.starts_local.strftime("%Y-%m-%d %H:%M"),
        place=wizard.place or text("event.no_place", language),
        capacity=wizard.capacity or text("wizard.no_limit", language),
        repeat=_repeat_text(wizard.rrule, language),
        audience=("、" if language == "zh" else ", ").join(titles),
        reminders=_reminders_text(wizard.reminders, language),
    )


def _repeat_text(rrule: str | None, language: str) -> str:
    """'每周' for the wizard's own rules; any other RRULE as written."""
    frequency = (rrule or "").split(";")[0].removeprefix("FREQ=").lower()
    if not rrule:
        return text("wizard.repeat.none", language)
    if frequency in {"daily", "weekly", "monthly"}:
        return text(f"wizard.repeat.{frequency}", language)
    return rrule


def _reminders_text(minutes: tuple[int, ...], language: str) -> str:
    if not minutes:
        return text("wizard.no_reminders", language)
    parts = [
        text("wizard.reminder_hours", language, hours=value // 60)
        if value % 60 == 0
        else text("wizard.reminder_minutes", language, minutes=value)
        for value in minutes
    ]
    return ("、" if language == "zh" else ", ").join(parts)


def _buttons(
    runtime: Runtime, community: CommunityConfig, wizard: Wizard, question_id: int
) -> tuple[tuple[Button, ...], ...]:
    """The step's buttons; data "w:<question id>:<choice>"."""
    language = wizard.language

    def button(label: str, choice: str) -> Button:
        return Button(label, f"{BUTTON_PREFIX}:{question_id}:{choice}")

    if wizard.step in {"place", "capacity"}:
        return ((button(text("button.wizard_skip", language), "skip"),),)
    if wizard.step == "repeat":
        return (tuple(button(text(f"wizard.repeat.{c}", language), c) for c in REPEAT_CHOICES),)
    if wizard.step == "audience":
        rows = [(button(text("button.wizard_all_groups", language), "all"),)]
        residents = [
            chat
            for chat in community.chats
            if chat.kind is ChatAudience.RESIDENTS and runtime.serves(chat.id)
        ]
        for index, grid in enumerate(community.grids):
            if any(serves_grid(chat, grid) for chat in residents):
                rows.append((button(grid_name(community, grid.id, language), f"g{index}"),))
        return tuple(rows)
    if wizard.step == "reminders":
        default = button(text("button.wizard_default_reminders", language), "default")
        return ((default, button(text("button.wizard_no_reminders", language), "off")),)
    if wizard.step == "confirm":
        publish = button(text("button.wizard_publish", language), "ok")
        return ((publish, button(text("button.wizard_cancel", language), "cancel")),)
    return ()
