"""Ticket categories: codes, display names and default urgency, from the bundled YAML."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    zh: str
    en: str
    urgent_by_default: bool
    covers: str

    def name(self, language: str) -> str:
        """Display name in the given language (zh by default)."""
        return self.en if language.lower().startswith("en") else self.zh


FALLBACK_CODE = "other"


@cache
def load_categories() -> dict[str, Category]:
    """All categories by code, in the order of categories.yaml."""
    raw = yaml.safe_load(resources.files("handlers").joinpath("categories.yaml").read_text("utf-8"))
    return {
        item["code"]: Category(
            code=item["code"],
            zh=item["zh"],
            en=item["en"],
            urgent_by_default=bool(item.get("urgent_by_default", False)),
            covers=" ".join(str(item.get("covers", "")).split()),
        )
        for item in raw["categories"]
    }
