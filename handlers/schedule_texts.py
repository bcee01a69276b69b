"""Texts of escalations and daily digests (zh-CN and English); merged into CATALOG."""

from __future__ import annotations

SCHEDULE_TEXTS: dict[str, dict[str, str]] = {
    # --- escalations ---
    "escalation.notice": {
        "zh": "⏰ 工单超时未{stage}：{summary}\n已超时 {late}（时限 {due}）\n负责人：{handler}",
        "en": "⏰ Overdue {stage}: {summary}\n{late} late (due {due})\nResponsible: {handler}",
    },
    "escalation.stage.acknowledge": {"zh": "确认接单", "en": "acknowledgement"},
    "escalation.stage.resolve": {"zh": "办结", "en": "resolution"},
    "escalation.nobody": {"zh": "无人负责（未分派）", "en": "nobody assigned"},
    # --- durations ---
    "duration.minutes": {"zh": "{minutes} 分钟", "en": "{minutes} min"},
    "duration.hours": {"zh": "{hours} 小时 {minutes} 分钟", "en": "{hours} h {minutes} min"},
    "duration.days": {"zh": "{days} 天 {hours} 小时", "en": "{days} d {hours} h"},
    # --- daily digest ---
    "digest.header": {
        "zh": "📋 {community} 每日简报（{day}）",
        "en": "📋 {community} daily digest ({day})",
    },
    "digest.grid": {
        "zh": "{grid}：新增 {new}，未办结 {open}，超时 {overdue}，当日办结 {resolved}，"
        "确认用时中位数 {median}",
        "en": "{grid}: {new} new, {open} open, {overdue} overdue, {resolved} resolved, "
        "median time to acknowledge {median}",
    },
}
