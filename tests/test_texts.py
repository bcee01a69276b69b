"""The text catalog: every text in zh-CN and English, with the same placeholders."""

from __future__ import annotations

from string import Formatter

import pytest

from handlers.texts import CATALOG, LANGUAGES, normalise_language, text


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_every_text_exists_in_both_languages_with_the_same_placeholders(key: str) -> None:
    assert set(CATALOG[key]) == set(LANGUAGES)
    assert placeholders(CATALOG[key]["zh"]) == placeholders(CATALOG[key]["en"])
    assert all(CATALOG[key][language].strip() for language in LANGUAGES)


def test_language_falls_back_to_chinese() -> None:
    assert normalise_language("en-US") == "en"
    assert normalise_language("ru") == "zh"
    assert normalise_language(None) == "zh"
    assert text("ticket.urgent", "fr") == "紧急"
    assert text("ticket.urgent", "en") == "urgent"
