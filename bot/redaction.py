"""Secrets never reach the logs: every record is scrubbed of the values registered here."""

from __future__ import annotations

import logging

MASK = "***"


class SecretRedactor(logging.Filter):
    """Replaces registered secrets in each record's final message (whoever logged it)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = message
        for secret in self.secrets:
            scrubbed = scrubbed.replace(secret, MASK)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in self.secrets:
                record.exc_text = record.exc_text.replace(secret, MASK)
        return True


_REDACTOR = SecretRedactor()


def redact(*secrets: str | None) -> None:
    """Register secrets (tokens, keys, passwords) and make sure every handler scrubs them."""
    _REDACTOR.secrets.update(s for s in secrets if s and len(s) >= 4)
    for handler in logging.getLogger().handlers:
        if _REDACTOR not in handler.filters:
            handler.addFilter(_REDACTOR)
