"""Texts of events, invitations, RSVPs and reminders (zh-CN and English); merged into CATALOG."""

from __future__ import annotations

EVENT_TEXTS: dict[str, dict[str, str]] = {
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
    "event.invitation_cancelled": {
        "zh": "❌ 活动已取消：{title}\n🕒 {when}\n📍 {place}",
        "en": "❌ Event cancelled: {title}\n🕒 {when}\n📍 {place}",
    },
    "event.when_series": {
        "zh": "{when}（下一场）\n🔁 {repeat}",
        "en": "{when} (next)\n🔁 {repeat}",
    },
    "event.bad_rrule": {
        "zh": "看不懂重复规则「{value}」，请写成 FREQ=WEEKLY;BYDAY=FR 这样的 RRULE"
        "（每天、每周、每月或每年）。",
        "en": "I cannot use the repeat rule “{value}”; write an RRULE like FREQ=WEEKLY;BYDAY=FR "
        "(daily, weekly, monthly or yearly).",
    },
    "event.no_such_time": {
        "zh": "当地时间 {value} 不存在（那天时钟拨快了），请换一个时间。",
        "en": "The local time {value} does not exist (the clocks go forward that day); pick "
        "another time.",
    },
    "event.count_capacity": {
        "zh": "已报名 {going}/{capacity}，候补 {waitlist}",
        "en": "Going {going}/{capacity}, waitlist {waitlist}",
    },
    "event.count_open": {"zh": "已报名 {going}", "en": "Going {going}"},
    "event.no_place": {"zh": "地点待定", "en": "place to be announced"},
    "button.event_join": {"zh": "✅ 参加", "en": "✅ Join"},
    "button.event_no": {"zh": "🙅 不能来", "en": "🙅 Can't come"},
    "button.event_ics": {"zh": "📅 加入日历", "en": "📅 Add to calendar"},
    "event.joined": {
        "zh": "已报名「{title}」（{when}），到时见！",
        "en": "You are going to “{title}” ({when}). See you there!",
    },
    "event.waitlisted": {
        "zh": "「{title}」（{when}）名额已满，您在候补第 {rank} 位，有空位会通知您。",
        "en": "“{title}” ({when}) is full; you are number {rank} on the waitlist and will be "
        "told if a place frees up.",
    },
    "event.already_going": {
        "zh": "您已经报名「{title}」（{when}）了。",
        "en": "You are already going to “{title}” ({when}).",
    },
    "event.already_waiting": {
        "zh": "您已在「{title}」（{when}）候补第 {rank} 位。",
        "en": "You are already number {rank} on the waitlist of “{title}” ({when}).",
    },
    "event.join_confirmed": {
        "zh": "✅ 您已报名「{title}」\n🕒 {when}\n📍 {place}\n点下面的按钮可以把活动加入手机日历。",
        "en": "✅ You are going to “{title}”\n🕒 {when}\n📍 {place}\nPress the button below to "
        "add it to your phone's calendar.",
    },
    "event.ics_caption": {
        "zh": "📅「{title}」的日历文件：打开即可加入手机日历。",
        "en": "📅 Calendar file for “{title}”: open it to add the event to your calendar.",
    },
    "event.ics_sent": {
        "zh": "日历文件已私信发给您。",
        "en": "The calendar file was sent to you privately.",
    },
    "event.ics_alarm": {"zh": "活动提醒：{title}", "en": "Reminder: {title}"},
    "event.declined": {
        "zh": "已登记：您不能参加「{title}」。",
        "en": "Noted: you cannot come to “{title}”.",
    },
    "event.promoted": {
        "zh": "🎉 有人退出，您已从候补转为「{title}」的正式报名：{when}，{place}。",
        "en": "🎉 A place freed up: you are now going to “{title}”, {when}, {place}.",
    },
    "event.notice_fallback": {"zh": "{name}：{notice}", "en": "{name}: {notice}"},
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
        "zh": "{number}. {when} {title} · {place} · {count}{repeat}",
        "en": "{number}. {when} {title} · {place} · {count}{repeat}",
    },
    "event.list_repeat": {"zh": " · 🔁 {repeat}", "en": " · 🔁 {repeat}"},
    "event.list_empty": {"zh": "近期没有活动。", "en": "No upcoming events."},
    "event.reminder": {
        "zh": "⏰ 活动提醒：「{title}」{lead}开始（{when}，{place}）。",
        "en": "⏰ Reminder: “{title}” starts {lead} ({when}, {place}).",
    },
    "event.lead_hours": {"zh": "{hours} 小时后", "en": "in {hours} h"},
    "event.lead_minutes": {"zh": "{minutes} 分钟后", "en": "in {minutes} min"},
    "event.repeat_rule": {"zh": "按规则重复：{rule}", "en": "repeats: {rule}"},
    "event.repeat_daily": {"zh": "每天 {time}", "en": "every day {time}"},
    "event.repeat_weekly": {"zh": "每{days} {time}", "en": "every {days} {time}"},
    "event.repeat_monthly_day": {
        "zh": "每月 {day} 日 {time}",
        "en": "monthly on day {day}, {time}",
    },
    "event.repeat_monthly_weekday": {
        "zh": "每月{nth}{weekday} {time}",
        "en": "the {nth} {weekday} of every month, {time}",
    },
    "event.repeat_count": {"zh": "，共 {count} 次", "en": ", {count} times"},
    "event.repeat_until": {"zh": "，至 {until}", "en": ", until {until}"},
    "event.weekday_mo": {"zh": "周一", "en": "Monday"},
    "event.weekday_tu": {"zh": "周二", "en": "Tuesday"},
    "event.weekday_we": {"zh": "周三", "en": "Wednesday"},
    "event.weekday_th": {"zh": "周四", "en": "Thursday"},
    "event.weekday_fr": {"zh": "周五", "en": "Friday"},
    "event.weekday_sa": {"zh": "周六", "en": "Saturday"},
    "event.weekday_su": {"zh": "周日", "en": "Sunday"},
    "event.weekday_separator": {"zh": "、", "en": ", "},
    "event.nth_1": {"zh": "第一个", "en": "first"},
    "event.nth_2": {"zh": "第二个", "en": "second"},
    "event.nth_3": {"zh": "第三个", "en": "third"},
    "event.nth_4": {"zh": "第四个", "en": "fourth"},
    "event.nth_-1": {"zh": "最后一个", "en": "last"},
    "event.manage_staff_only": {
        "zh": "抱歉，只有社区工作人员可以修改或取消活动。",
        "en": "Sorry, only community staff can change or cancel events.",
    },
    "event.cancel_usage": {
        "zh": "用法：/event_cancel 编号（编号见 /events），例如 /event_cancel 1",
        "en": "Usage: /event_cancel N (the number in /events), e.g. /event_cancel 1",
    },
    "event.edit_usage": {
        "zh": "用法：/event_edit 编号 | 字段 | 新值"
        "（编号见 /events；字段：标题、时间、地点、名额），\n"
        "例如 /event_edit 1 | 时间 | 2023-07-26 19:30，"
        "/event_edit 1 | 时间 | 20:00（只改钟点），"
        "/event_edit 1 | 名额 | 不限",
        "en": "Usage: /event_edit N | field | value (N from /events; field: title, time, place, "
        "capacity), e.g. /event_edit 1 | time | 2023-07-26 19:30, /event_edit 1 | time | 20:00 "
        "(only the hour), /event_edit 1 | capacity | unlimited",
    },
    "event.not_listed": {
        "zh": "/events 里没有编号 {reference} 的活动。",
        "en": "There is no event number {reference} in /events.",
    },
    "event.cancel_done": {
        "zh": "已取消活动「{title}」，已通知 {people} 位报名者。",
        "en": "Event “{title}” cancelled; {people} attendee(s) told.",
    },
    "event.cancelled_notice": {
        "zh": "❌ 很抱歉，活动「{title}」（{when}）已取消。",
        "en": "❌ Sorry, “{title}” ({when}) has been cancelled.",
    },
    "event.edit_done": {
        "zh": "已修改活动「{title}」：{change}。已通知 {people} 位报名者。",
        "en": "Event “{title}” changed: {change}. {people} attendee(s) told.",
    },
    "event.changed_notice": {
        "zh": "📝 活动有变动：{change}\n「{title}」\n🕒 {when}\n📍 {place}",
        "en": "📝 Event changed: {change}\n“{title}”\n🕒 {when}\n📍 {place}",
    },
    "event.change_title": {"zh": "名称改为「{new}」", "en": "renamed to “{new}”"},
    "event.change_place": {"zh": "地点改为 {new}", "en": "now at {new}"},
    "event.change_time": {"zh": "时间改为 {new}", "en": "now at {new}"},
    "event.change_capacity": {"zh": "名额改为 {new}", "en": "capacity now {new}"},
    "event.capacity_unlimited": {"zh": "不限", "en": "unlimited"},
    "event.bad_value": {
        "zh": "新的内容不能为空，也不能超过 {limit} 个字。",
        "en": "The new value cannot be empty or longer than {limit} characters.",
    },
}
