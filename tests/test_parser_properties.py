"""Garbage in, a consistent verdict out: the report parser and the piece grouping on any input.

Hypothesis feeds the parser every kind of text (any code point but surrogates, control
characters, CJK, emoji sequences, RTL marks, characters that NFKC folds to more or fewer
characters) mixed with the community's place names and the lexicon's cue words, so that
places, categories and vetoes really fire; messages come with any media, pins and triggers,
and a few are far longer than any chat allows. The verdict must keep every promise of
ParsedReport. The grouping of photos, pins and albums with their description, a pure function,
gets whole chats of such messages. No database plays a part.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.reports_from_export import detect_reports
from handlers.community import CommunityConfig, load_community
from handlers.geo import wgs84
from handlers.grouping import PIECE_WINDOW, assign_pieces, merge_pieces, message_key
from handlers.messages import (
    Attachment,
    AttachmentKind,
    ChatKind,
    Datum,
    GeoPoint,
    Incoming,
    Platform,
    Sender,
)
from handlers.parsing.report_parser import ParsedReport, ReportParser
from handlers.parsing.text import fold_width
from tests.conftest import SAMPLE_COMMUNITY

START = datetime(2023, 7, 10, 8, 0, tzinfo=UTC)
RIDER = "7000001"
GRID_WORKER = "6000001"  # 张敏 in examples/community.yaml: her words alone are no report
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
CHAT_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=50)  # a chat is many messages

# Text that breaks naive code: direction marks, joiners, controls, astral planes, and
# characters NFKC folds to several ("Ⅻ" → "XII", "ﬁ" → "fi") or joins ("ｶﾞ" → "ガ").
TRICKY = [
    "\u200f",
    "\u200e",
    "\u202e",
    "\u2066",
    "\u200d",
    "\ufeff",
    "\x00",
    "\x1b[31m",
    "\r\n",
    "\t",
    "\x85",
    "🔥",
    "👨\u200d👩\u200d👧",
    "🇨🇳",
    "ｶﾞ",
    "Ⅻ",
    "ﬁ",
    "İ",
    "e\u0301",
    "１２栋",
    "①",
    "𠀀",
    "\U0010ffff",
    "]]>",
    "<xml>",
    "%s{0}",
]
# What makes the parser do something: places, building numbers, problems, asks, triggers.
CUES = [
    "扬帆夜市",
    "夜市南门",
    "门楼",
    "小区东门",
    "二期",
    "篮球场",
    "扬帆公园",
    "Yangfan park",
    "night market",
    "3栋",
    "十二栋",
    "第7栋",
    "9#楼",
    "3-2-101",
    "Building 14",
    "No. 5 building",
    "楼下",
    "门口",
    "和",
    "之间",
    "路灯坏了",
    "井盖没了",
    "广告牌松了",
    "垃圾满出来了",
    "漏水",
    "很危险",
    "麻烦处理一下",
    "又坏了",
    "已经修好了",
    "笑得要死",
    "出售二手",
    "加微信",
    "我的钥匙丢了",
    "活动几点开始？",
    "看这里",
    "#报事",
    "#report",
    "@yangfan_ticket_bot",
    "https://example.com/x",
    "the street light is broken",
    "urgent",
    "not urgent",
]

any_text = st.text(st.characters(codec="utf-8"))  # every code point except surrogates
cue_soup = st.lists(
    st.one_of(st.sampled_from(CUES), st.sampled_from(TRICKY), st.text(max_size=4)), max_size=16
).map("".join)
texts = st.one_of(any_text, cue_soup)


COMMUNITY = load_community(SAMPLE_COMMUNITY)


@pytest.fixture(scope="module")
def parser() -> ReportParser:
    return ReportParser(COMMUNITY)


def bounding_box(community: CommunityConfig) -> tuple[float, float, float, float]:
    """(west, south, east, north) around every grid, a little wider."""
    points = [point for grid in community.grids for point in grid.polygon]
    lons, lats = [lon for lon, _ in points], [lat for _, lat in points]
    return min(lons) - 0.01, min(lats) - 0.01, max(lons) + 0.01, max(lats) + 0.01


def locations(community: CommunityConfig) -> st.SearchStrategy[GeoPoint | None]:
    """No pin, a pin near (or inside) the grids in either datum, or a pin anywhere on Earth."""
    west, south, east, north = bounding_box(community)
    near = st.builds(
        GeoPoint,
        latitude=st.floats(south, north),
        longitude=st.floats(west, east),
        datum=st.sampled_from(Datum),
    )
    anywhere = st.builds(
        GeoPoint,
        latitude=st.floats(-90, 90),
        longitude=st.floats(-180, 180),
        datum=st.sampled_from(Datum),
    )
    return st.one_of(st.none(), near, anywhere)


attachments = st.lists(
    st.builds(Attachment, kind=st.sampled_from(AttachmentKind), file_id=st.text(max_size=8)),
    max_size=3,
).map(tuple)


def messages(community: CommunityConfig) -> st.SearchStrategy[Incoming]:
    """A group or private message with any text, media, pin, mention, command and hashtags."""
    return st.builds(
        Incoming,
        platform=st.sampled_from(Platform),
        chat_id=st.sampled_from(["tg:-1001000000001", "wecom:wrOgQhDgAAyangfan01"]),
        chat_kind=st.sampled_from(ChatKind),
        sender=st.builds(
            Sender, user_id=st.one_of(st.sampled_from([RIDER, GRID_WORKER]), any_text)
        ),
        message_id=st.just("1"),
        sent_at=st.just(START),
        text=texts,
        attachments=attachments,
        location=locations(community),
        mentions_bot=st.booleans(),
        command=st.one_of(st.none(), st.sampled_from(["report", "help", "start"]), any_text),
        hashtags=st.lists(st.one_of(st.just("报事"), any_text), max_size=2).map(tuple),
    )


def text_message(text: str) -> Incoming:
    return Incoming(
        platform=Platform.TELEGRAM,
        chat_id="tg:-1001000000001",
        chat_kind=ChatKind.GROUP,
        sender=Sender(user_id=RIDER),
        message_id="1",
        sent_at=START,
        text=text,
    )


def assert_consistent(parser: ReportParser, message: Incoming, verdict: ParsedReport) -> None:
    """Everything a ParsedReport promises, whatever the message was."""
    assert 0.0 <= verdict.confidence <= 1.0
    assert verdict.reasons and all(isinstance(why, str) and why for why in verdict.reasons)
    grids = {grid.id for grid in parser.community.grids}
    if not verdict.is_report:
        assert verdict == ParsedReport(False, 0.0, reasons=verdict.reasons)
        assert not verdict.confident and not verdict.needs_place
        return
    assert verdict.confidence > 0.0
    assert verdict.category in parser.categories
    assert verdict.grid_id is None or verdict.grid_id in grids
    assert verdict.needs_place == (verdict.grid_id is None and verdict.place_text is None)
    if verdict.place_text is not None:
        assert_names_a_place(parser, message.text, verdict.place_text)
    if message.location is not None:
        pinned = parser.community.grid_at(*wgs84(message.location))
        assert pinned is None or verdict.grid_id == pinned.id  # a pin inside a grid wins


def assert_names_a_place(parser: ReportParser, text: str, place_text: str) -> None:
    """The place is a trimmed stretch of the message (or of its folded form) naming a place."""
    assert place_text == place_text.strip() and place_text
    assert place_text in text or place_text in fold_width(text).lower()
    assert parser.places.find(place_text), f"{place_text!r} names no place"


@PROPERTY_SETTINGS
@given(text=texts)
@example(text="ｶﾞ扬帆夜市路灯坏了ｶﾞⅫ")  # folding shifted the place span: "ﾞ扬帆夜"
@example(text="")
def test_any_text_gets_a_consistent_verdict(parser: ReportParser, text: str) -> None:
    message = text_message(text)
    verdict = parser.parse(message)
    assert_consistent(parser, message, verdict)
    assert parser.parse(message) == verdict  # no state carried between messages


@PROPERTY_SETTINGS
@given(message=messages(COMMUNITY))
def test_any_message_with_media_pins_and_triggers_gets_a_consistent_verdict(
    parser: ReportParser, message: Incoming
) -> None:
    assert_consistent(parser, message, parser.parse(message))


@pytest.mark.parametrize(
    "unit",
    [
        "3栋",  # every pair is a building mention: overlap checks were quadratic
        "夜市南门3-2-101和12栋之间",
        "路灯坏了很危险，麻烦处理 🔥\u202e ",
        "building 5 ",
        "\x00\u200f",
    ],
)
def test_a_message_far_longer_than_any_chat_allows_is_parsed_quickly(
    parser: ReportParser, unit: str
) -> None:
    text = unit * (20_000 // len(unit))  # five times Telegram's 4096-character limit
    message = text_message(text)
    started = time.perf_counter()
    verdict = parser.parse(message)
    assert time.perf_counter() - started < 2.0  # about 0.1 s; seconds when it was quadratic
    assert_consistent(parser, message, verdict)


def chat_messages() -> st.SearchStrategy[list[Incoming]]:
    """A few minutes of two chats: worded messages and wordless photos and pins, any order."""
    one = st.builds(
        Incoming,
        platform=st.just(Platform.TELEGRAM),
        chat_id=st.sampled_from(["tg:-1", "tg:-2"]),
        chat_kind=st.just(ChatKind.GROUP),
        sender=st.builds(Sender, user_id=st.sampled_from([RIDER, "7000002", ""])),
        message_id=st.just(""),
        sent_at=st.integers(0, 600).map(lambda s: START + timedelta(seconds=s)),
        text=st.one_of(st.just(""), st.just(" \n"), cue_soup),
        attachments=attachments,
        location=st.one_of(st.none(), st.just(GeoPoint(28.19, 113.03))),
        album_id=st.sampled_from([None, "album-1", "album-2"]),
    )
    return st.lists(one, max_size=12).map(
        lambda chat: [replace(message, message_id=str(n)) for n, message in enumerate(chat)]
    )


@CHAT_SETTINGS
@given(chat=chat_messages())
def test_each_wordless_piece_joins_at_most_one_nearby_message_of_its_author(
    chat: list[Incoming],
) -> None:
    by_key = {message_key(message): message for message in chat}
    pieces = assign_pieces(chat)
    joined = [message_key(piece) for owned in pieces.values() for piece in owned]
    assert len(joined) == len(set(joined))
    for owner_key, owned in pieces.items():
        owner = by_key[owner_key]
        assert not owner.is_media_only
        for piece in owned:
            assert piece.is_media_only and piece.sender.user_id
            assert (piece.chat_id, piece.sender.user_id) == (owner.chat_id, owner.sender.user_id)
            same_album = piece.album_id is not None and piece.album_id == owner.album_id
            assert same_album or abs(piece.sent_at - owner.sent_at) <= PIECE_WINDOW
        merged = merge_pieces(owner, owned)
        assert merged.attachments == owner.attachments + tuple(
            attachment for piece in owned for attachment in piece.attachments
        )
        pins = [owner.location, *(piece.location for piece in owned)]
        assert merged.location == next((pin for pin in pins if pin), None)
        assert merged.text == owner.text and merged.message_id == owner.message_id


@CHAT_SETTINGS
@given(chat=chat_messages())
def test_an_export_pipeline_reports_each_message_at_most_once(
    parser: ReportParser, chat: list[Incoming]
) -> None:
    reports = list(detect_reports(chat, parser))
    used = [message_id for report in reports for message_id in report.message_ids]
    assert len(used) == len(set(used))
    for report in reports:
        assert report.verdict.is_report and not report.message.is_media_only
        assert report.as_json_row()["category"] in parser.categories
