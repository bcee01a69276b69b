"""Texts of the event form, the audience choice and the guided /event conversation (zh-CN and
English); merged into CATALOG."""

from __future__ import annotations

EVENT_FORM_TEXTS: dict[str, dict[str, str]] = {
    # --- the one-line form ---
    "event.usage": {
        "zh": "用法：/event 标题 | 2023-07-25 19:30 | 地点 | 名额 50\n"
        "可选，顺序不限：| 结束 21:00 | 每周五 | 提醒 24h,1h | 网格 G1 | 楼栋 3栋 "
        "| 群 群名 | 说明 …\n"
        "只发 /event，我会一步步问您。",
        "en": "Usage: /event Title | 2023-07-25 19:30 | Place | capacity 50\n"
        "Optional, in any order: | end 21:00 | every Friday | remind 24h, 1h | grid G1 | "
        "building 5 | group Name | note …\nSend just /event and I will ask step by step.",
    },
    "form.unknown_segment": {
        "zh": "看不懂「{segment}」这一段。可以加的有：结束、每周五/每天/每月、提醒、"
        "网格、楼栋、群、说明。",
        "en": "I cannot read the part “{segment}”. You can add: end, every Friday / daily / "
        "monthly, remind, grid, building, group, note.",
    },
    "form.repeated_segment": {
        "zh": "「{segment}」重复了：每一项只写一次。",
        "en": "“{segment}” repeats something already given; write each field once.",
    },
    "form.bad_title": {
        "zh": "标题不能为空，最多 {limit} 个字。",
        "en": "The title must not be empty and may have at most {limit} characters.",
    },
    "form.bad_place": {
        "zh": "地点最多 {limit} 个字。",
        "en": "The place may have at most {limit} characters.",
    },
    "form.bad_description": {
        "zh": "说明最多 {limit} 个字。",
        "en": "The note may have at most {limit} characters.",
    },
    "form.bad_end": {
        "zh": "看不懂结束时间「{value}」，请写成 21:00 或 2023-07-25 21:00。",
        "en": "I cannot read the end time “{value}”; write it like 21:00 or 2023-07-25 21:00.",
    },
    "form.end_before_start": {
        "zh": "结束时间「{value}」不晚于开始时间，请检查。",
        "en": "The end time “{value}” is not after the start; please check it.",
    },
    "form.bad_repeat": {
        "zh": "看不懂重复方式「{value}」，请写「每天」「每周」「每周五」「每月」或「不重复」。",
        "en": "I cannot read the repeat “{value}”; write daily, weekly, every Friday, monthly "
        "or once.",
    },
    "form.bad_rrule": {
        "zh": "RRULE「{value}」格式不对，例如：RRULE FREQ=WEEKLY;BYDAY=FR。",
        "en": "The RRULE “{value}” is not valid; for example: RRULE FREQ=WEEKLY;BYDAY=FR.",
    },
    "form.repeat_weekday": {
        "zh": "开始日期 {date} 与重复方式「{repeat}」不是同一个星期几，请改开始日期或重复方式。",
        "en": "The start date {date} is not on the weekday of “{repeat}”; change the date or "
        "the repeat.",
    },
    "form.bad_reminders": {
        "zh": "看不懂提醒「{value}」，请写成「24h, 1h」「1天」「30分钟」，或「无」"
        "（最多提前 30 天）。",
        "en": "I cannot read the reminders “{value}”; write them like “24h, 1h”, “1 day”, "
        "“30 min”, or “none” (at most 30 days before).",
    },
    # --- audience ---
    "audience.unknown_grid": {
        "zh": "没有网格「{grid}」。",
        "en": "There is no grid “{grid}”.",
    },
    "audience.unknown_building": {
        "zh": "没有楼栋「{building}」（不在任何网格里）。",
        "en": "There is no building “{building}” in any grid.",
    },
    "audience.unknown_group": {
        "zh": "没有居民群「{group}」，请写群名或群号。",
        "en": "There is no residents' group “{group}”; give its title or id.",
    },
    "audience.group_unreachable": {
        "zh": "我在这里无法向「{group}」发消息（那是另一个平台的群）。",
        "en": "I cannot post to “{group}” from here (it is on another platform).",
    },
    "audience.no_group_for_grid": {
        "zh": "没有居民群服务网格「{grid}」，活动没有发布。"
        "请在社区配置里给群标上网格，或改选受众。",
        "en": "No residents' group serves grid “{grid}”, so nothing was announced. Tag a group "
        "with that grid in the community file, or choose another audience.",
    },
    "audience.no_group_for_building": {
        "zh": "没有居民群服务楼栋「{building}」，活动没有发布。"
        "请在社区配置里给群标上楼栋或网格，或改选受众。",
        "en": "No residents' group serves building “{building}”, so nothing was announced. Tag "
        "a group with it (or its grid) in the community file, or choose another audience.",
    },
    # --- the guided conversation ---
    "wizard.moved_private": {
        "zh": "好的，我私信您，一步步填写活动信息。",
        "en": "OK, I will message you privately and ask for the event step by step.",
    },
    "wizard.private_fallback": {
        "zh": "{name}：我无法私信您。请先私聊我并点「开始」，再在私聊里发送 /event。",
        "en": "{name}: I cannot message you privately. Open a chat with me, press Start, "
        "then send /event there.",
    },
    "wizard.ask_title": {
        "zh": "📝 新活动（随时发送 /cancel 取消）\n1/7 活动叫什么名字？",
        "en": "📝 New event (send /cancel at any time to stop)\n1/7 What is the event called?",
    },
    "wizard.ask_start": {
        "zh": "2/7 什么时候开始？请写成 2023-07-25 19:30（{zone} 时间）。",
        "en": "2/7 When does it start? Write it like 2023-07-25 19:30 ({zone} time).",
    },
    "wizard.ask_place": {
        "zh": "3/7 在哪里？还没定可以点「跳过」。",
        "en": "3/7 Where is it? Press Skip if it is not decided yet.",
    },
    "wizard.ask_capacity": {
        "zh": "4/7 限多少人？写一个数字；不限人数点「跳过」。",
        "en": "4/7 How many places? Write a number; press Skip for no limit.",
    },
    "wizard.ask_repeat": {
        "zh": "5/7 是否重复？点选，或写「每周五」这样的规则。",
        "en": "5/7 Does it repeat? Press one, or write a rule such as “every Friday”.",
    },
    "wizard.ask_audience": {
        "zh": "6/7 发到哪些群？点选，或写网格、楼栋，例如「G2, G3」或「3栋」。",
        "en": "6/7 Which groups should get it? Press one, or write grids or buildings, such as "
        "“G2, G3” or “building 3”.",
    },
    "wizard.ask_reminders": {
        "zh": "7/7 提前多久提醒？默认提前 24 小时和 1 小时；也可以写「2h, 30m」。",
        "en": "7/7 When should reminders go out? By default 24 h and 1 h before; or write "
        "“2h, 30m”.",
    },
    "wizard.summary": {
        "zh": "请确认活动：\n📣 {title}\n🕒 {when}\n📍 {place}\n👥 {capacity}\n🔁 {repeat}\n"
        "💬 {audience}\n⏰ {reminders}",
        "en": "Please check the event:\n📣 {title}\n🕒 {when}\n📍 {place}\n👥 {capacity}\n"
        "🔁 {repeat}\n💬 {audience}\n⏰ {reminders}",
    },
    "wizard.no_limit": {"zh": "不限人数", "en": "no limit"},
    "wizard.repeat.none": {"zh": "不重复", "en": "once"},
    "wizard.repeat.daily": {"zh": "每天", "en": "daily"},
    "wizard.repeat.weekly": {"zh": "每周", "en": "weekly"},
    "wizard.repeat.monthly": {"zh": "每月", "en": "monthly"},
    "wizard.reminder_hours": {"zh": "{hours} 小时前", "en": "{hours} h before"},
    "wizard.reminder_minutes": {"zh": "{minutes} 分钟前", "en": "{minutes} min before"},
    "wizard.no_reminders": {"zh": "不提醒", "en": "no reminders"},
    "wizard.choose_button": {
        "zh": "请点下面的按钮，或回复「确认」/「取消」。",
        "en": "Please press a button below, or reply “yes” or “cancel”.",
    },
    "wizard.unknown_audience": {
        "zh": "没有网格或楼栋「{value}」。",
        "en": "There is no grid or building “{value}”.",
    },
    "wizard.cancelled": {
        "zh": "已取消，活动没有发布。",
        "en": "Cancelled; no event was announced.",
    },
    "wizard.nothing_to_cancel": {
        "zh": "现在没有可以取消的操作。",
        "en": "There is nothing to cancel.",
    },
    "wizard.expired": {
        "zh": "这份活动草稿已过期或已结束，请重新发送 /event。",
        "en": "This event draft has expired or is finished; send /event to start again.",
    },
    "button.wizard_skip": {"zh": "跳过", "en": "Skip"},
    "button.wizard_all_groups": {"zh": "所有居民群", "en": "All residents' groups"},
    "button.wizard_default_reminders": {
        "zh": "默认（24 小时、1 小时前）",
        "en": "Default (24 h and 1 h before)",
    },
    "button.wizard_no_reminders": {"zh": "不提醒", "en": "No reminders"},
    "button.wizard_publish": {"zh": "✅ 发布", "en": "✅ Publish"},
    "button.wizard_cancel": {"zh": "✖️ 取消", "en": "✖️ Cancel"},
}
