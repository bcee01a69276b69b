"""Texts of events, invitations, RSVPs and reminders (zh-CN and English); merged into CATALOG."""

from __future__ import annotations

EVENT_TEXTS: dict[str, dict[str, str]] = {}
