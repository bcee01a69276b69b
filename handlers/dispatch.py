"""The one place that routes neutral input to feature handlers (one module per feature)."""

from __future__ import annotations

from handlers.actions import ButtonPress
from handlers.commands import handle_command
from handlers.event_wizard import BUTTON_PREFIX as WIZARD_PREFIX
from handlers.event_wizard import answer_event_wizard, press_wizard_button
from handlers.events import BUTTON_PREFIX, press_event_button
from handlers.group_intake import answer_confirmation, handle_chat_message
from handlers.messages import Incoming
from handlers.runtime import Runtime
from handlers.texts import text
from handlers.ticket_actions import press_ticket_button


async def handle_incoming(runtime: Runtime, message: Incoming) -> None:
    """A message from any platform."""
    if message.command:
        await handle_command(runtime, message)
    elif not await answer_event_wizard(runtime, message):  # a private answer to /event's questions
        await handle_chat_message(runtime, message)


async def handle_press(runtime: Runtime, press: ButtonPress) -> str:
    """A button press from any platform; returns the short answer to show the presser."""
    parts = press.data.split(":")
    if parts[0] == "t" and len(parts) >= 3:
        argument = parts[3] if len(parts) > 3 else None
        return await press_ticket_button(runtime, press, parts[1], parts[2], argument)
    if parts[0] == BUTTON_PREFIX and len(parts) == 3:
        return await press_event_button(runtime, press, parts[1], parts[2])
    if parts[0] == WIZARD_PREFIX and len(parts) == 3 and parts[1].isdigit():
        return await press_wizard_button(runtime, press, parts[1], parts[2])
    if parts[0] == "r" and len(parts) == 3 and parts[1].isdigit():
        async with runtime.sessions() as session, session.begin():
            key = await answer_confirmation(
                runtime,
                session,
                int(parts[1]),
                parts[2] == "y",
                platform=press.platform,
                user_id=press.sender.user_id,
            )
        runtime.outbox_changed()
        return text(key, press.sender.language)
    return text("press.unknown", press.sender.language)
