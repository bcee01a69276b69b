"""Deployment settings from environment variables and an optional ``.env`` file.

Every field reads the upper-case environment variable of the same name
(``telegram_bot_token`` ← ``TELEGRAM_BOT_TOKEN``). Secrets are ``SecretStr`` and
never appear in ``repr``, ``str`` or JSON dumps; the database password is masked too.
"""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "Settings",
    "describe_settings_error",
    "load_settings",
    "mask_url_password",
    "robot_key_map",
]

_MASK = "**********"
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_DB_PASSWORD = re.compile(r"(?P<head>://[^:/@]*:)(?P<password>[^/]*)(?P<tail>@)")


def _url_password(url: str) -> str | None:
    match = _DB_PASSWORD.search(url)
    return match.group("password") if match else None


def mask_url_password(url: str) -> str:
    """Hide the password in a URL such as ``postgresql://user:pw@host/db``."""
    return _DB_PASSWORD.sub(rf"\g<head>{_MASK}\g<tail>", url)


class Settings(BaseSettings):
    """Secrets, endpoints and paths for one bot process."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = Field(default=8443, ge=1, le=65535)

    # Storage
    database_url: str = "sqlite+aiosqlite:///./data/bot.db"

    # Community
    community_config: str = "examples/community.yaml"

    # Media
    media_dir: Path = Path("./data/media")
    media_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)

    # Logging
    log_level: str = "INFO"

    # Instances: each running bot sharing one database needs its own name (outbox leases)
    bot_instance: str = Field(default_factory=socket.gethostname, min_length=1, max_length=100)

    # WeCom (企业微信)
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = Field(default=None, gt=0)
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_base_url: str = "https://qyapi.weixin.qq.com"
    wecom_callback_listen: str = "127.0.0.1"
    wecom_callback_port: int = Field(default=8080, ge=1, le=65535)
    wecom_ai_bot_token: SecretStr | None = None
    wecom_ai_bot_aes_key: SecretStr | None = None
    wecom_robot_keys: SecretStr | None = None  # "chatid=key,chatid=key"

    @field_validator("telegram_api_base_url", "wecom_api_base_url", "telegram_webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://: {value!r}")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        name = value.strip().upper()
        if name not in logging.getLevelNamesMapping():
            raise ValueError(f"not a log level: {value!r}")
        return name

    @field_validator("community_config")
    @classmethod
    def _some_config(cls, value: str) -> str:
        if not _split(value):
            raise ValueError("needs at least one community YAML path")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("wecom_aes_key", "wecom_ai_bot_aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) != 43:
            raise ValueError("an EncodingAESKey is exactly 43 characters")
        return value

    @field_validator("wecom_robot_keys")
    @classmethod
    def _robot_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            robot_key_map(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _wecom_complete(self) -> Settings:
        """WeCom is all or nothing: a half-configured WeCom would be silently ignored."""
        problem = self._wecom_app_problem() or self._ai_bot_problem()
        if problem:
            raise ValueError(problem)
        return self

    def _wecom_app_problem(self) -> str | None:
        app = {
            "WECOM_CORP_ID": self.wecom_corp_id,
            "WECOM_AGENT_ID": self.wecom_agent_id,
            "WECOM_SECRET": self.wecom_secret,
            "WECOM_TOKEN": self.wecom_token,
            "WECOM_AES_KEY": self.wecom_aes_key,
        }
        # WECOM_AGENT_ID alone does not turn WeCom on: it is no secret and may be left set.
        turned_on = {
            **{name: value for name, value in app.items() if name != "WECOM_AGENT_ID"},
            "WECOM_AI_BOT_TOKEN": self.wecom_ai_bot_token,
            "WECOM_AI_BOT_AES_KEY": self.wecom_ai_bot_aes_key,
            "WECOM_ROBOT_KEYS": self.wecom_robot_keys,
        }
        by = next((name for name, value in turned_on.items() if value is not None), None)
        missing = [name for name, value in app.items() if value is None]
        if by is None or not missing:
            return None
        also = f"; also missing: {', '.join(missing[1:])}" if missing[1:] else ""
        return f"{missing[0]}: required when WeCom is enabled ({by} is set){also}"

    def _ai_bot_problem(self) -> str | None:
        if (self.wecom_ai_bot_token is None) == (self.wecom_ai_bot_aes_key is None):
            return None
        missing = (
            "WECOM_AI_BOT_TOKEN" if self.wecom_ai_bot_token is None else "WECOM_AI_BOT_AES_KEY"
        )
        return f"{missing}: the AI bot callback needs WECOM_AI_BOT_TOKEN and WECOM_AI_BOT_AES_KEY"

    @field_serializer("database_url")
    def _masked_database_url(self, value: str) -> str:
        return mask_url_password(value)

    @property
    def community_config_paths(self) -> list[Path]:
        """The community YAML files, from the comma-separated ``COMMUNITY_CONFIG``."""
        return [Path(item) for item in _split(self.community_config)]

    @property
    def telegram_base_url(self) -> str:
        """Bot API method root; the token is appended (``<root>/bot<token>/getMe``)."""
        return f"{self.telegram_api_base_url}/bot"

    @property
    def telegram_base_file_url(self) -> str:
        """Bot API file root; the token is appended (``<root>/file/bot<token>/<path>``)."""
        return f"{self.telegram_api_base_url}/file/bot"

    @property
    def telegram_enabled(self) -> bool:
        """True when a bot token is set (otherwise the bot runs the offline demo)."""
        return self.telegram_bot_token is not None

    @property
    def wecom_enabled(self) -> bool:
        """True when every value the WeCom callback and API need is set."""
        needed = (
            self.wecom_corp_id,
            self.wecom_agent_id,
            self.wecom_secret,
            self.wecom_token,
            self.wecom_aes_key,
        )
        return all(item is not None for item in needed)

    @property
    def wecom_ai_bot_enabled(self) -> bool:
        """True when the AI bot callback has its own token and key."""
        return self.wecom_ai_bot_token is not None and self.wecom_ai_bot_aes_key is not None

    @property
    def wecom_robot_key_map(self) -> dict[str, str]:
        """Group chat id (no "wecom:" prefix) → its group robot's webhook key."""
        if self.wecom_robot_keys is None:
            return {}
        return robot_key_map(self.wecom_robot_keys.get_secret_value())

    def secret_values(self) -> list[str]:
        """The plain values of every secret, for scrubbing logs (never print these)."""
        secrets = [
            self.telegram_bot_token,
            self.telegram_webhook_secret,
            self.wecom_secret,
            self.wecom_token,
            self.wecom_aes_key,
            self.wecom_ai_bot_token,
            self.wecom_ai_bot_aes_key,
        ]
        values = [s.get_secret_value() for s in secrets if s is not None]
        values += self.wecom_robot_key_map.values()
        password = _url_password(self.database_url)
        return values + ([password] if password else [])

    def redacted(self) -> dict[str, Any]:
        """All settings as plain values, with secrets and the DB password masked."""
        return self.model_dump(mode="json")

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, mask_url_password(value) if name == "database_url" else value


def _split(value: str) -> list[str]:
    """Split a comma-separated list, dropping blanks."""
    return [item.strip() for item in value.split(",") if item.strip()]


def robot_key_map(value: str) -> dict[str, str]:
    """Parse ``chatid=key,chatid=key``; errors name the pair by position, never the key."""
    keys: dict[str, str] = {}
    for position, pair in enumerate(_split(value), start=1):
        chat_id, equals, key = (part.strip() for part in pair.partition("="))
        chat_id = chat_id.removeprefix("wecom:")
        if not equals or not chat_id or not key:
            raise ValueError(f"pair {position} is not chatid=key")
        if chat_id in keys:
            raise ValueError(f"pair {position}: chat {chat_id} is listed twice")
        keys[chat_id] = key
    return keys


def load_settings(env_file: str | None = ".env") -> Settings:
    """Read settings from the environment and ``env_file`` (None: environment only)."""
    return Settings(_env_file=env_file)


def describe_settings_error(exc: ValidationError) -> str:
    """One line per problem, naming the environment variable, e.g. ``LOG_LEVEL: ...``."""
    lines = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        # A check across settings names its variable at the start of the message.
        lines.append(f"{str(error['loc'][0]).upper()}: {message}" if error["loc"] else message)
    return "\n".join(lines)
