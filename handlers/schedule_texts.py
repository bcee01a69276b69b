"""Texts of escalations and daily digests (zh-CN and English); merged into CATALOG."""

from __future__ import annotations

SCHEDULE_TEXTS: dict[str, dict[str, str]] = {}
