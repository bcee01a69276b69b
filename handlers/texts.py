"""Every text the bot shows, in zh-CN (default) and English."""

from __future__ import annotations

from typing import Final

DEFAULT_LANGUAGE: Final = "zh"
LANGUAGES: Final = ("zh", "en")

CATALOG: Final[dict[str, dict[str, str]]] = {
    "demo.header": {
        "zh": "演示：没有设置 TELEGRAM_BOT_TOKEN，回放 {export}（{count} 条消息）到 {database}；"
        "不会向任何平台发送消息。",
        "en": "Demo: no TELEGRAM_BOT_TOKEN set, replaying {export} ({count} messages) into "
        "{database}; nothing is sent to any platform.",
    },
    "demo.community": {
        "zh": "社区 {name}，{grids} 个网格",
        "en": "Community {name}, {grids} grids",
    },
    "demo.ticket": {
        "zh": "   → 工单 #{number} [{state}] {category} · {urgency} · {grid}{place}{media}"
        " · 处理人 {handler} · 确认时限 {due}",
        "en": "   → ticket #{number} [{state}] {category} · {urgency} · {grid}{place}{media}"
        " · handled by {handler} · acknowledge by {due}",
    },
    "demo.summary": {
        "zh": "{messages} 条消息 → {reports} 条报事（新建 {created}，已存在 {existing}；"
        "紧急 {urgent}，网格未知 {no_grid}）；其余 {others} 条为闲聊、问答或通知。",
        "en": "{messages} messages → {reports} reports ({created} new, {existing} already known; "
        "{urgent} urgent, {no_grid} without a grid); the other {others} are chat, questions "
        "or notices.",
    },
    "demo.missing_ticket": {
        "zh": "   （此前已处理，但找不到对应工单）",
        "en": "   (processed earlier, but its ticket could not be found)",
    },
    "ticket.state.new": {"zh": "新建", "en": "new"},
    "ticket.state.known": {"zh": "已存在，未重复建单", "en": "already known, not created again"},
    "ticket.urgent": {"zh": "紧急", "en": "urgent"},
    "ticket.normal": {"zh": "普通", "en": "normal"},
    "ticket.no_grid": {"zh": "网格未知 → 工作群分派", "en": "grid unknown → staff group decides"},
    "ticket.unassigned": {"zh": "待分派", "en": "to be assigned"},
    "ticket.place": {"zh": " · 地点「{place}」", "en": " · place “{place}”"},
    "ticket.media": {"zh": " · {count} 个附件", "en": " · {count} attachment(s)"},
}


def normalise_language(language: str | None) -> str:
    """ "en", "en-US" → "en"; anything not English → the default, zh."""
    if language and language.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def text(key: str, language: str | None = None, **values: object) -> str:
    """The catalog text for key in the language, with the values filled in."""
    return CATALOG[key][normalise_language(language)].format(**values)
