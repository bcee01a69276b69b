"""Every text the bot shows, in zh-CN (default) and English."""

from __future__ import annotations

from typing import Final

from handlers.event_form_texts import EVENT_FORM_TEXTS
from handlers.event_texts import EVENT_TEXTS
from handlers.schedule_texts import SCHEDULE_TEXTS

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
    # --- tickets in chats ---
    "ticket.summary": {
        "zh": "#{number} {category}{urgent} · {grid}{place}",
        "en": "#{number} {category}{urgent} · {grid}{place}",
    },
    "ticket.urgent_mark": {"zh": "（紧急）", "en": " (urgent)"},
    "ticket.place_inline": {"zh": " · {place}", "en": " · {place}"},
    "status.reported": {"zh": "待分派", "en": "reported"},
    "status.assigned": {"zh": "已派单", "en": "assigned"},
    "status.acknowledged": {"zh": "处理中", "en": "acknowledged"},
    "status.resolved": {"zh": "已处理", "en": "resolved"},
    "status.closed": {"zh": "已结案", "en": "closed"},
    "status.reopened": {"zh": "已重新打开", "en": "reopened"},
    "status.rejected": {"zh": "不予受理", "en": "rejected"},
    "status.duplicate": {"zh": "重复", "en": "duplicate"},
    "report.created": {
        "zh": "✅ 已登记工单 {summary}\n处理人：{handler}",
        "en": "✅ Ticket {summary} registered\nHandled by: {handler}",
    },
    "report.handler_staff": {
        "zh": "社区工作人员（网格待定）",
        "en": "community staff (grid to be decided)",
    },
    "report.duplicate": {
        "zh": "ℹ️ 这个情况已有工单 #{number}（{status}）在处理，已把您加入通知名单，进展会告诉您。",
        "en": "ℹ️ Ticket #{number} ({status}) already covers this; you will be told of its progress.",
    },
    "report.ask_confirm": {
        "zh": "这条消息是要报事吗？确认后我会登记工单。",
        "en": "Is this a report for the community? Confirm and I will open a ticket.",
    },
    "report.ask_place": {
        "zh": "📍 工单 #{number} 还缺具体位置：请回复这条消息写上楼栋/地点，或发送位置。",
        "en": "📍 Ticket #{number} needs a place: reply to this message with the building or spot, "
        "or share a location.",
    },
    "report.place_filled": {
        "zh": "📍 工单 #{number} 已补充位置：{place} · {grid}",
        "en": "📍 Ticket #{number} place added: {place} · {grid}",
    },
    "report.ask_piece": {
        "zh": "收到照片/位置。这是要报事吗？请补充一句发生了什么、在哪里。",
        "en": "Got your photo/location. Is this a report? Add a line on what happened and where.",
    },
    "button.yes_report": {"zh": "是，登记工单", "en": "Yes, open a ticket"},
    "button.not_report": {"zh": "不是", "en": "No"},
    "button.ack": {"zh": "✅ 确认接单", "en": "✅ Acknowledge"},
    "button.reassign": {"zh": "🔁 转派", "en": "🔁 Reassign"},
    "button.reject": {"zh": "🚫 无效", "en": "🚫 Not valid"},
    "button.resolve": {"zh": "🏁 已处理", "en": "🏁 Resolved"},
    "button.reopen": {"zh": "↩️ 重新打开", "en": "↩️ Reopen"},
    "button.close": {"zh": "🔒 结案", "en": "🔒 Close"},
    "ping.worker": {
        "zh": "🔔 新工单 {summary}\n描述：{description}\n报告人：{reporter}（{time}）\n请在 {due} 前确认接单。",
        "en": "🔔 New ticket {summary}\nDescription: {description}\nReported by {reporter} "
        "({time})\nPlease acknowledge by {due}.",
    },
    "ping.fallback": {
        "zh": "🔔 {name}：新工单 {summary} 派给您，但我无法私信您（请先私聊我并点「开始」）。",
        "en": "🔔 {name}: ticket {summary} is yours, but I cannot message you privately "
        "(open a chat with me and press Start).",
    },
    "staff.no_grid": {
        "zh": "📍 工单 {summary} 无法确定网格，请选择负责网格：",
        "en": "📍 Ticket {summary} has no grid yet; choose the grid in charge:",
    },
    "staff.unknown_chat": {
        "zh": "⚠️ 我被加入了未登记的群「{title}」（{chat_id}）。如需服务该群，请把它加入社区配置。",
        "en": "⚠️ I was added to an unregistered group “{title}” ({chat_id}). Add it to the "
        "community configuration to serve it.",
    },
    "chat.unknown": {
        "zh": "您好！本群还没有在社区登记，我暂时不会在这里受理报事。已通知社区工作人员。",
        "en": "Hello! This group is not registered with the community, so I will not take "
        "reports here yet. Community staff have been told.",
    },
    "update.acknowledged": {
        "zh": "👷 工单 #{number} 已由 {actor} 确认受理。",
        "en": "👷 Ticket #{number} acknowledged by {actor}.",
    },
    "update.resolved": {
        "zh": "🏁 工单 #{number} 已处理（{actor}）。如仍有问题，可点「重新打开」。",
        "en": "🏁 Ticket #{number} resolved by {actor}. Still a problem? Press Reopen.",
    },
    "update.rejected": {
        "zh": "🚫 工单 #{number} 经核实不予受理（{actor}）。",
        "en": "🚫 Ticket #{number} was found not valid ({actor}).",
    },
    "update.reopened": {
        "zh": "↩️ 工单 #{number} 已重新打开（{actor}）。",
        "en": "↩️ Ticket #{number} reopened by {actor}.",
    },
    "update.closed": {
        "zh": "🔒 工单 #{number} 已结案（{actor}）。",
        "en": "🔒 Ticket #{number} closed by {actor}.",
    },
    "update.assigned": {
        "zh": "🔁 工单 #{number} 已派给 {worker}（{actor}）。",
        "en": "🔁 Ticket #{number} assigned to {worker} by {actor}.",
    },
    "press.refused": {
        "zh": "抱歉，只有负责的网格员或社区工作人员可以操作这个工单。",
        "en": "Sorry, only the grid worker in charge or community staff can do that.",
    },
    "press.not_yours": {
        "zh": "抱歉，只有发消息的人或社区工作人员可以确认。",
        "en": "Sorry, only the sender or community staff can answer this.",
    },
    "press.invalid": {
        "zh": "工单 #{number} 现在是「{status}」，不能这样操作。",
        "en": "Ticket #{number} is {status}; that is not possible now.",
    },
    "press.unknown": {"zh": "这个按钮已失效。", "en": "This button has expired."},
    "press.done": {"zh": "好的。", "en": "Done."},
    "press.choose_worker": {"zh": "请选择新的处理人：", "en": "Choose the new handler:"},
    "resolve.ask_photo": {
        "zh": "已标记处理完毕。可以再发一张处理后的照片（可选），我会附在工单 #{number} 上。",
        "en": "Marked resolved. You may send an after photo (optional); I will attach it to "
        "ticket #{number}.",
    },
    "resolve.photo_saved": {
        "zh": "📷 已把处理后照片附到工单 #{number}。",
        "en": "📷 After photo attached to ticket #{number}.",
    },
    # --- commands ---
    "cmd.start": {
        "zh": "您好，{name}！我是{community}的报事机器人。在群里描述问题（可带照片、位置），我会登记工单并通知网格员。{role_line}发送 /help 查看命令。",
        "en": "Hello {name}! I am the {community} report bot. Describe a problem in the group "
        "(photos and locations welcome) and I will open a ticket for the grid worker. "
        "{role_line}Send /help for commands.",
    },
    "cmd.role_line": {"zh": "您的身份：{role}。", "en": "Your role: {role}. "},
    "role.resident": {"zh": "居民/骑手", "en": "resident"},
    "role.grid_worker": {"zh": "网格员", "en": "grid worker"},
    "role.staff": {"zh": "社区工作人员", "en": "community staff"},
    "role.secretary": {"zh": "社区书记", "en": "community secretary"},
    "cmd.help": {
        "zh": "命令：\n/report 描述 — 报事（在群里也可以直接描述，或带 #报事）\n/ticket 编号 — 查看工单\n/mytickets — 我的工单\n/events — 近期活动",
        "en": "Commands:\n/report text — report an issue (or just describe it in the group, "
        "or add #report)\n/ticket N — show a ticket\n/mytickets — my tickets\n/events — coming events",
    },
    "cmd.help_staff": {
        "zh": "\n/open [网格] — 未办结工单（最早的在前）\n/stats — 统计\n/event 标题 | 2023-07-25 19:30 | 地点 | 名额 50 — 发布活动（只发 /event 则一步步填写，/cancel 取消）\n/event_edit 编号 | 字段 | 新值 — 修改活动的标题、时间、地点或名额（编号见 /events）\n/event_cancel 编号 — 取消活动并通知报名者",
        "en": "\n/open [grid] — open tickets, oldest first\n/stats — figures\n/event Title | 2023-07-25 19:30 | Place | capacity 50 — announce an event (just /event to be asked step by step, /cancel to stop)\n/event_edit N | field | value — change an event's title, time, place or capacity (N from /events)\n/event_cancel N — cancel an event and tell its attendees",
    },
    "cmd.ticket_usage": {
        "zh": "用法：/ticket 编号，例如 /ticket 12",
        "en": "Usage: /ticket N, e.g. /ticket 12",
    },
    "cmd.ticket_missing": {"zh": "没有找到工单 #{number}。", "en": "There is no ticket #{number}."},
    "cmd.ticket_detail": {
        "zh": "{summary}\n状态：{status}\n处理人：{handler}\n描述：{description}\n登记：{created}",
        "en": "{summary}\nStatus: {status}\nHandler: {handler}\nDescription: {description}\n"
        "Opened: {created}",
    },
    "cmd.no_tickets": {"zh": "暂时没有工单。", "en": "No tickets."},
    "cmd.staff_only": {
        "zh": "抱歉，这个命令只对社区工作人员和网格员开放。",
        "en": "Sorry, this command is for community staff and grid workers.",
    },
    "cmd.unknown_grid": {"zh": "没有网格「{grid}」。", "en": "There is no grid “{grid}”."},
    "cmd.stats": {
        "zh": "工单统计：共 {total}，未办结 {open}，已处理/结案 {done}，超时未确认 {overdue}\n{per_grid}",
        "en": "Tickets: {total} in all, {open} open, {done} resolved or closed, "
        "{overdue} overdue for acknowledgement\n{per_grid}",
    },
    "cmd.stats_grid": {"zh": "{grid}：未办结 {open}", "en": "{grid}: {open} open"},
    "cmd.report_empty": {
        "zh": "请在 /report 后面写上发生了什么、在哪里，例如：/report 3栋楼道灯坏了",
        "en": "Write what happened and where after /report, e.g. /report stair light out in Building 3",
    },
    "report.not_recognised": {
        "zh": "我没能看出这是要报什么事。请写清楚发生了什么、在哪里。",
        "en": "I could not tell what to report. Please say what happened and where.",
    },
}


CATALOG.update(EVENT_TEXTS)
CATALOG.update(EVENT_FORM_TEXTS)
CATALOG.update(SCHEDULE_TEXTS)


def normalise_language(language: str | None) -> str:
    """ "en", "en-US" → "en"; anything not English → the default, zh."""
    if language and language.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def text(key: str, language: str | None = None, **values: object) -> str:
    """The catalog text for key in the language, with the values filled in."""
    return CATALOG[key][normalise_language(language)].format(**values)
