"""Settings: defaults, environment and .env overrides, secrets kept out of every rendering."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError

from bot.settings import Settings, describe_settings_error, load_settings, mask_url_password

ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"
TOKEN = "123456:AAF-very-secret-token"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Hide the developer's environment and .env: run in an empty directory."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.telegram_bot_token is None
    # The defaults point at the real platforms (only compared here, never contacted).
    assert urlsplit(settings.telegram_api_base_url)[:2] == ("https", "api.telegram.org")
    assert settings.telegram_webhook_url is None
    assert settings.telegram_webhook_listen == "127.0.0.1"
    assert settings.telegram_webhook_port == 8443
    assert settings.database_url == "sqlite+aiosqlite:///./data/bot.db"
    assert settings.community_config_paths == [Path("examples/community.yaml")]
    assert settings.media_dir == Path("data/media")
    assert settings.media_max_bytes == 20 * 1024 * 1024
    assert settings.log_level == "INFO"
    assert urlsplit(settings.wecom_api_base_url)[:2] == ("https", "qyapi.weixin.qq.com")
    assert (settings.wecom_callback_listen, settings.wecom_callback_port) == ("127.0.0.1", 8080)
    assert not settings.telegram_enabled
    assert not settings.wecom_enabled


def test_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_PORT", "9443")
    monkeypatch.setenv("COMMUNITY_CONFIG", " a.yaml, conf/b.yaml ,")
    monkeypatch.setenv("MEDIA_MAX_BYTES", "1000")
    monkeypatch.setenv("log_level", "debug")
    monkeypatch.setenv("WECOM_AGENT_ID", "1000002")
    settings = load_settings(env_file=None)
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == TOKEN
    assert settings.telegram_enabled
    assert settings.telegram_api_base_url == "http://127.0.0.1:8081"
    assert settings.telegram_base_url == "http://127.0.0.1:8081/bot"
    assert settings.telegram_base_file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.telegram_webhook_port == 9443
    assert settings.community_config_paths == [Path("a.yaml"), Path("conf/b.yaml")]
    assert settings.media_max_bytes == 1000
    assert settings.log_level == "DEBUG"
    assert settings.wecom_agent_id == 1000002


def test_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "TELEGRAM_BOT_TOKEN=from-file\nLOG_LEVEL=WARNING\nUNRELATED=1\n", encoding="utf-8"
    )
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    settings = load_settings()
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "from-file"
    assert settings.log_level == "ERROR"  # the real environment wins over the file
    assert load_settings(env_file=None).telegram_bot_token is None


def test_env_example_gives_the_defaults() -> None:
    assert load_settings(env_file=str(ENV_EXAMPLE)) == load_settings(env_file=None)


def test_env_example_lists_every_setting() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    names = {line.split("=", 1)[0] for line in text.splitlines() if line and line[0] != "#"}
    assert names == {name.upper() for name in Settings.model_fields}


def _secret_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "hook-secret-42")
    _wecom_app(monkeypatch)
    monkeypatch.setenv("WECOM_AI_BOT_TOKEN", "ai-bot-token-7")
    monkeypatch.setenv("WECOM_AI_BOT_AES_KEY", "a" * 43)
    monkeypatch.setenv("WECOM_ROBOT_KEYS", "wrResidents01=robot-key-1111")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://bot:db-pass-9@db:5432/bot")
    return load_settings(env_file=None)


def _wecom_app(monkeypatch: pytest.MonkeyPatch, *, but: str = "") -> None:
    """Every setting the WeCom app needs (except the one named by `but`)."""
    values = {
        "WECOM_CORP_ID": "ww0123",
        "WECOM_AGENT_ID": "1000002",
        "WECOM_SECRET": "wecom-app-secret",
        "WECOM_TOKEN": "wecom-callback-token",
        "WECOM_AES_KEY": "k" * 43,
    }
    for name, value in values.items():
        if name != but:
            monkeypatch.setenv(name, value)


SECRETS = [
    TOKEN,
    "hook-secret-42",
    "wecom-app-secret",
    "wecom-callback-token",
    "k" * 43,
    "ai-bot-token-7",
    "a" * 43,
    "robot-key-1111",
]


def test_secrets_never_rendered(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _secret_settings(monkeypatch)
    assert settings.wecom_enabled
    assert settings.wecom_ai_bot_enabled
    secrets = SECRETS
    renderings = [
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        str(settings.model_dump(mode="json")),
        str(settings.redacted()),
    ]
    for text in renderings:
        for secret in [*secrets, "db-pass-9"]:
            assert secret not in text
    assert "postgresql+asyncpg://bot:" in settings.redacted()["database_url"]
    assert settings.database_url.endswith("db-pass-9@db:5432/bot")  # the real value stays usable


def test_every_secret_is_scrubbed_from_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _secret_settings(monkeypatch)
    assert set(settings.secret_values()) == {*SECRETS, "db-pass-9"}


def test_wecom_robot_keys_map_group_chats_to_webhook_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _wecom_app(monkeypatch)
    monkeypatch.setenv("WECOM_ROBOT_KEYS", " wrGroupA=key-a , wecom:wrGroupB=key-b=x,")
    settings = load_settings(env_file=None)
    assert settings.wecom_robot_key_map == {"wrGroupA": "key-a", "wrGroupB": "key-b=x"}
    assert not settings.wecom_ai_bot_enabled


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("wrGroupA", "WECOM_ROBOT_KEYS: pair 1 is not chatid=key"),
        ("wrGroupA=secret-key-1,=secret-key-2", "WECOM_ROBOT_KEYS: pair 2 is not chatid=key"),
        ("wrGroupA=secret-key-1,wrGroupB=", "WECOM_ROBOT_KEYS: pair 2 is not chatid=key"),
        (
            "wrGroupA=secret-key-1,wecom:wrGroupA=secret-key-2",
            "WECOM_ROBOT_KEYS: pair 2: chat wrGroupA is listed twice",
        ),
    ],
)
def test_bad_robot_keys_are_named_without_the_keys(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    _wecom_app(monkeypatch)
    monkeypatch.setenv("WECOM_ROBOT_KEYS", value)
    with pytest.raises(ValidationError) as info:
        load_settings(env_file=None)
    description = describe_settings_error(info.value)
    assert description == message
    assert "secret-key" not in description + str(info.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"but": "WECOM_AGENT_ID"},
            "WECOM_AGENT_ID: required when WeCom is enabled (WECOM_CORP_ID is set)",
        ),
        (
            {"but": "WECOM_TOKEN"},
            "WECOM_TOKEN: required when WeCom is enabled (WECOM_CORP_ID is set)",
        ),
        (
            {"only": "WECOM_ROBOT_KEYS"},
            "WECOM_CORP_ID: required when WeCom is enabled (WECOM_ROBOT_KEYS is set); also "
            "missing: WECOM_AGENT_ID, WECOM_SECRET, WECOM_TOKEN, WECOM_AES_KEY",
        ),
        (
            {"ai_bot": "WECOM_AI_BOT_TOKEN"},
            "WECOM_AI_BOT_AES_KEY: the AI bot callback needs WECOM_AI_BOT_TOKEN and "
            "WECOM_AI_BOT_AES_KEY",
        ),
    ],
)
def test_half_configured_wecom_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    if "only" in env:
        monkeypatch.setenv(env["only"], "wrGroupA=secret-key-1")
    else:
        _wecom_app(monkeypatch, but=env.get("but", ""))
    if "ai_bot" in env:
        monkeypatch.setenv(env["ai_bot"], "ai-bot-token-7")
    with pytest.raises(ValidationError) as info:
        load_settings(env_file=None)
    assert describe_settings_error(info.value) == message


def test_wecom_agent_id_alone_leaves_wecom_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECOM_AGENT_ID", "1000002")
    assert not load_settings(env_file=None).wecom_enabled
    _wecom_app(monkeypatch)
    assert load_settings(env_file=None).wecom_enabled


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql+asyncpg://u:p@ss@h/db", "postgresql+asyncpg://u:**********@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite+aiosqlite:///./data/bot.db", "sqlite+aiosqlite:///./data/bot.db"),
    ],
)
def test_mask_url_password(url: str, masked: str) -> None:
    assert mask_url_password(url) == masked


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: not a log level: 'LOUD'"),
        ("TELEGRAM_WEBHOOK_PORT", "70000", "TELEGRAM_WEBHOOK_PORT: "),
        ("WECOM_CALLBACK_PORT", "http", "WECOM_CALLBACK_PORT: "),
        ("MEDIA_MAX_BYTES", "0", "MEDIA_MAX_BYTES: "),
        ("TELEGRAM_API_BASE_URL", "api.telegram.org", "TELEGRAM_API_BASE_URL: must start with"),
        ("TELEGRAM_WEBHOOK_SECRET", "has spaces", "TELEGRAM_WEBHOOK_SECRET: must be 1-256"),
        ("WECOM_AES_KEY", "short", "WECOM_AES_KEY: an EncodingAESKey is exactly 43"),
        ("WECOM_AI_BOT_AES_KEY", "short", "WECOM_AI_BOT_AES_KEY: an EncodingAESKey is exactly"),
        ("WECOM_AGENT_ID", "0", "WECOM_AGENT_ID: "),
        ("COMMUNITY_CONFIG", " , ", "COMMUNITY_CONFIG: needs at least one"),
    ],
)
def test_invalid_value_names_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        load_settings(env_file=None)
    description = describe_settings_error(info.value)
    assert description.startswith(message)
    if name.endswith(("SECRET", "KEY")):
        assert value not in description
        assert value not in str(info.value)


def test_several_errors_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    monkeypatch.setenv("WECOM_AGENT_ID", "abc")
    with pytest.raises(ValidationError) as info:
        load_settings(env_file=None)
    lines = describe_settings_error(info.value).splitlines()
    assert [line.split(":", 1)[0] for line in lines] == ["LOG_LEVEL", "WECOM_AGENT_ID"]


def test_logs_never_show_a_registered_secret(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from bot.redaction import redact

    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        redact("987654:SECRET-TOKEN")
        with caplog.at_level(logging.INFO):
            logging.getLogger("telegram.ext.ExtBot").info(
                "Set Bot API URL: %s", "http://127.0.0.1:8081/bot987654:SECRET-TOKEN"
            )
        assert handler.filters, "the redactor is attached to every root handler"
        record = caplog.records[-1]
        handler.filter(record)
        assert "987654:SECRET-TOKEN" not in record.getMessage()
        assert "***" in record.getMessage()
    finally:
        logging.getLogger().removeHandler(handler)
