"""The baseline of the intake benchmark: a minimal python-telegram-bot echo bot.

It replies to every message with its text (or "ok" for a photo without caption), by long
polling, with python-telegram-bot's defaults. Configured by TELEGRAM_BOT_TOKEN and
TELEGRAM_API_BASE_URL like the real bot.
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the message's text."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(message.text or message.caption or "ok")


def main() -> None:
    root = os.environ["TELEGRAM_API_BASE_URL"].rstrip("/")
    application = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
