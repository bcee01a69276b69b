"""Texts of events, invitations, RSVPs and reminders (zh-CN and English); merged into CATALOG."""

from __future__ import annotations

EVENT_TEXTS: dict[str, dict[str, str]] = {
    "event.usage": {
        "zh": "用法：/event 标题 | 2023-07-25 19:30 | 地点 | 名额 50（地点、名额可省略）",
        "en": "Usage: /event Title | 2023-07-25 19:30 | Place | capacity 50 "
        "(place and capacity optional)",
    },
    "event.bad_time": {
        "zh": "看不懂时间「{value}」，请写成 2023-07-25 19:30。",
        "en": "I cannot read the time “{value}”; write it like 2023-07-25 19:30.",
    },
    "event.bad_capacity": {
        "zh": "看不懂名额「{value}」，请写成「名额 50」。",
        "en": "I cannot read the capacity “{value}”; write it like “capacity 50”.",
    },
    "event.in_past": {
        "zh": "活动时间 {when} 已经过去了，请写一个将来的时间。",
        "en": "{when} has already passed; give a time in the future.",
    },
    "event.staff_only": {
        "zh": "抱歉，只有社区工作人员可以发布活动。想办活动可以联系社区工作人员。",
        "en": "Sorry, only community staff can announce events. Ask the community office to "
        "announce yours.",
    },
    "event.created": {
        "zh": "✅ 已发布活动「{title}」（{when}），邀请已发到 {chats} 个居民群。",
        "en": "✅ Event “{title}” ({when}) announced in {chats} residents' group(s).",
    },
    "event.invitation": {
        "zh": "📣 社区活动：{title}\n🕒 {when}\n📍 {place}\n{count}",
        "en": "📣 Community event: {title}\n🕒 {when}\n📍 {place}\n{count}",
    },
    "event.count_capacity": {
        "zh": "已报名 {going}/{capacity}，候补 {waitlist}",
        "en": "Going {going}/{capacity}, waitlist {waitlist}",
    },
    "event.count_open": {"zh": "已报名 {going}", "en": "Going {going}"},
    "event.no_place": {"zh": "地点待定", "en": "place to be announced"},
    "button.event_join": {"zh": "✅ 参加", "en": "✅ Join"},
    "button.event_no": {"zh": "🙅 不能来", "en": "🙅 Can't come"},
    "event.joined": {
        "zh": "已报名「{title}」，到时见！",
        "en": "You are going to “{title}”. See you there!",
    },
    "event.waitlisted": {
        "zh": "名额已满，您在「{title}」候补第 {rank} 位，有空位会通知您。",
        "en": "“{title}” is full; you are number {rank} on the waitlist and will be told if "
        "a place frees up.",
    },
    "event.already_going": {
        "zh": "您已经报名「{title}」了。",
        "en": "You are already going to “{title}”.",
    },
    "event.already_waiting": {
        "zh": "您已在「{title}」候补第 {rank} 位。",
        "en": "You are already number {rank} on the waitlist of “{title}”.",
    },
    "event.declined": {
        "zh": "已登记：您不能参加「{title}」。",
        "en": "Noted: you cannot come to “{title}”.",
    },
    "event.promoted": {
        "zh": "🎉 有人退出，您已从候补转为「{title}」的正式报名：{when}，{place}。",
        "en": "🎉 A place freed up: you are now going to “{title}”, {when}, {place}.",
    },
    "event.promoted_fallback": {
        "zh": "🎉 {name}：有人退出，您已从候补转为「{title}」的正式报名。",
        "en": "🎉 {name}: a place freed up, you are now going to “{title}”.",
    },
    "event.started": {
        "zh": "「{title}」已经开始，不能再报名或取消了。",
        "en": "“{title}” has already started; answers are closed.",
    },
    "event.gone": {
        "zh": "这个活动已取消或不存在。",
        "en": "This event was cancelled or does not exist.",
    },
    "event.list_header": {"zh": "近期活动：", "en": "Upcoming events:"},
    "event.list_line": {
        "zh": "• {when} {title} · {place} · {count}",
        "en": "• {when} {title} · {place} · {count}",
    },
    "event.list_empty": {"zh": "近期没有活动。", "en": "No upcoming events."},
    "event.reminder": {
        "zh": "⏰ 活动提醒：「{title}」{lead}开始（{when}，{place}）。",
        "en": "⏰ Reminder: “{title}” starts {lead} ({when}, {place}).",
    },
    "event.lead_hours": {"zh": "{hours} 小时后", "en": "in {hours} h"},
    "event.lead_minutes": {"zh": "{minutes} 分钟后", "en": "in {minutes} min"},
}
