"""Secrets never reach the logs: every record is scrubbed of the values registered here."""

from __future__ import annotations

import logging
import re

MASK = "***"
# Query parameters that carry secrets in WeCom URLs (httpx logs every request URL): the access
# token changes every two hours and a robot's webhook key is never in the settings.
_SECRET_QUERY = re.compile(r"(?i)\b(access_token|corpsecret|key)=([^&\s\"'<>]+)")


def scrub(text: str, secrets: set[str]) -> str:
    """The text with registered secrets and secret query parameters masked."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return _SECRET_QUERY.sub(rf"\1={MASK}", text)


class SecretRedactor(logging.Filter):
    """Replaces registered secrets in each record's final message (whoever logged it)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub(message, self.secrets)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self.secrets)
        return True


_REDACTOR = SecretRedactor()


def redact(*secrets: str | None) -> None:
    """Register secrets (tokens, keys, passwords) and make sure every handler scrubs them."""
    _REDACTOR.secrets.update(s for s in secrets if s and len(s) >= 4)
    for handler in logging.getLogger().handlers:
        if _REDACTOR not in handler.filters:
            handler.addFilter(_REDACTOR)
