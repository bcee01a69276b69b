"""Reading Telegram Desktop chat exports into neutral messages, and rejecting broken ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.export import ExportError, read_export
from handlers.messages import AttachmentKind
from tests.conftest import SAMPLE_EXPORT


def write_export(tmp_path: Path, messages: list[Any], **top: Any) -> Path:
    document = {"name": "t", "type": "private_supergroup", "id": 42, "messages": messages, **top}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def message(**fields: Any) -> dict[str, Any]:
    base = {
        "id": 1,
        "type": "message",
        "date": "2023-07-10T08:00:00",
        "date_unixtime": "1688947200",
        "from": "骑手",
        "from_id": "user123",
        "text": "",
    }
    return base | fields


def test_the_sample_export_reads_every_user_message() -> None:
    messages = read_export(SAMPLE_EXPORT)
    assert len(messages) == 189
    assert all(m.chat_id == "tg:-1001000000001" for m in messages)
    by_id = {m.message_id: m for m in messages}
    assert by_id["20465"].attachments[0].kind is AttachmentKind.VIDEO
    assert by_id["20455"].location is not None and by_id["20455"].is_media_only
    assert by_id["20423"].edited
    assert by_id["20422"].reply_to == "20421"
    assert by_id["20418"].sender.user_id == "5000001"
    assert by_id["20418"].sent_at.utcoffset() is not None


def test_list_text_keeps_mentions_hashtags_and_commands(tmp_path: Path) -> None:
    text = [
        {"type": "mention", "text": "@yangfan_ticket_bot"},
        " 夜市北门有摊子占道 ",
        {"type": "hashtag", "text": "#报事"},
    ]
    entities = [
        {"type": "mention", "text": "@yangfan_ticket_bot"},
        {"type": "plain", "text": " 夜市北门有摊子占道 "},
        {"type": "hashtag", "text": "#报事"},
    ]
    path = write_export(
        tmp_path,
        [
            message(text=text, text_entities=entities),
            message(
                id=2, text=[{"type": "bot_command", "text": "/report@x_bot"}], text_entities=[]
            ),
        ],
    )
    first, second = read_export(path)
    assert first.text == "@yangfan_ticket_bot 夜市北门有摊子占道 #报事"
    assert first.mentions_bot
    assert first.hashtags == ("报事",)
    assert second.command == "report"


def test_a_mention_of_a_person_is_not_a_mention_of_the_bot(tmp_path: Path) -> None:
    text = [{"type": "mention", "text": "@zhangmin_yf"}, " 快去看看"]
    path = write_export(tmp_path, [message(text=text)])
    assert not read_export(path)[0].mentions_bot
    named = write_export(tmp_path, [message(text=[{"type": "mention", "text": "@helper_bot"}])])
    assert not read_export(named, bot_username="yangfan_ticket_bot")[0].mentions_bot


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON (line 1"),
        ("[]", "top level is not a JSON object"),
        ('{"chats": {"list": []}}', "messages: missing (this is a whole-account export"),
        ('{"messages": {}}', "messages: not a list"),
        ('{"messages": [{"id": "x", "type": "message"}]}', "messages[0].id: not an integer"),
        (
            '{"messages": [{"id": 1, "type": "message", "text": ""}]}',
            "messages[0].date_unixtime: missing",
        ),
        (
            '{"messages": [{"id": 1, "type": "message", "text": 5, "date_unixtime": "1"}]}',
            "messages[0].text: neither a string nor a list",
        ),
        (
            '{"messages": [{"id": 1, "type": "message", "text": "", "date_unixtime": "1",'
            ' "location_information": {"latitude": 999, "longitude": 1}}]}',
            "messages[0].location_information: out of range",
        ),
    ],
)
def test_malformed_exports_name_the_file_and_field(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ExportError) as raised:
        read_export(path)
    assert str(raised.value).startswith(str(path))
    assert expected in str(raised.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="file not found"):
        read_export(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ('{"labels": {"1": "x"}}', "labels.1: not an object"),
        ('{"labels": {"1": {"part_of": "abc"}}}', "labels.1.part_of: not a message id"),
        ('{"labels": {"one": {}}}', "labels.one: keys must be message ids"),
    ],
)
def test_malformed_labels_name_the_field(tmp_path: Path, labels: str, expected: str) -> None:
    from bot.scoring import LabelsError, load_labels

    path = tmp_path / "labels.json"
    path.write_text(labels, encoding="utf-8")
    with pytest.raises(LabelsError, match=expected):
        load_labels(path)
    with pytest.raises(LabelsError, match="cannot read file"):
        load_labels(tmp_path)
