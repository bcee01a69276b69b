"""Garbage in, ExportError out: the chat export reader and `python -m bot parse/score`.

Hypothesis writes export files of every kind: arbitrary JSON, the sample export with fields
dropped or replaced by garbage (wrong types, huge numbers, NaN, lone surrogates, nesting), and
bytes that are no JSON at all. Each must read as well-formed messages or raise ExportError
naming the file; the CLI exits 0, or 2 with one "error: file: field: problem" line. No
database plays a part; only one case runs the CLI as a separate process (slow).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.__main__ import EXIT_BAD_INPUT, main
from bot.export import ExportError, read_export
from handlers.messages import AttachmentKind, Incoming, Platform
from tests.conftest import SAMPLE_COMMUNITY, SAMPLE_EXPORT, SAMPLE_LABELS
from tests.garbage import json_values
from tests.test_cli import run_cli

SAMPLE_BYTES = SAMPLE_EXPORT.read_bytes()
SAMPLE = json.loads(SAMPLE_BYTES)
MESSAGE_FIELDS = sorted({key for message in SAMPLE["messages"] for key in message})
DOCUMENT_FIELDS = ["name", "type", "id", "messages"]
DEEP_NESTING = b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
MANY_DIGITS = b'{"messages": [], "id": ' + b"7" * 5_000 + b"}"  # past Python's 4300-digit limit
HUGE_LATITUDE = {
    "messages": [
        {
            "id": 1,
            "date_unixtime": "1688947200",
            "text": "3栋楼下的井盖没了",
            "location_information": {"latitude": 10**400, "longitude": 113.0},
        }
    ]
}
LONE_SURROGATE = {  # "\ud800" survives json.loads; printing it as UTF-8 fails
    "messages": [
        {
            "id": 1,
            "date_unixtime": "1688947200",
            "from_id": "user7000001",
            "text": "3栋\ud800夜市南门的井盖没了，很危险，麻烦处理",
        }
    ]
}


@st.composite
def mutated(draw: st.DrawFn, original: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """A copy with a few fields dropped or replaced by any JSON value."""
    changed = dict(original)
    for field in draw(st.lists(st.sampled_from(fields), unique=True, min_size=1, max_size=4)):
        if draw(st.booleans()):
            changed.pop(field, None)
        else:
            changed[field] = draw(json_values)
    return changed


SAMPLE_HEADER = {key: value for key, value in SAMPLE.items() if key != "messages"}
sample_messages = st.sampled_from(SAMPLE["messages"])
broken_messages = sample_messages.flatmap(lambda message: mutated(message, MESSAGE_FIELDS))


@st.composite
def broken_exports(draw: st.DrawFn) -> dict[str, Any]:
    """The sample's header, maybe broken, over a few sample, broken or garbage messages."""
    messages = draw(st.lists(st.one_of(sample_messages, broken_messages, json_values), max_size=6))
    document = {**SAMPLE_HEADER, "messages": messages}
    return draw(mutated(document, DOCUMENT_FIELDS)) if draw(st.booleans()) else document


export_files = st.one_of(
    st.one_of(json_values, broken_exports()).map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=64),
    st.integers(0, len(SAMPLE_BYTES)).map(lambda cut: SAMPLE_BYTES[:cut]),  # a cut-off download
)
PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)


@pytest.fixture(scope="module")
def export_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file each example overwrites (function-scoped tmp_path does not mix with @given)."""
    return tmp_path_factory.mktemp("exports") / "result.json"


def expected_count(content: bytes) -> int:
    """How many user messages a readable export holds (service messages are skipped)."""
    document = json.loads(content)
    return sum(1 for raw in document["messages"] if raw.get("type", "message") == "message")


def assert_well_formed(message: Incoming) -> None:
    """Every field has the type and range Incoming promises to the parser and the database."""
    assert message.platform is Platform.TELEGRAM
    assert re.fullmatch(r"tg:-?\d+", message.chat_id)
    assert re.fullmatch(r"-?\d+", message.message_id)
    assert message.sent_at.utcoffset() is not None
    for text in (message.text, message.sender.user_id, message.sender.display_name):
        assert isinstance(text, str)
    message.text.encode("utf-8")  # no lone surrogate that would break printing or storing
    for attachment in message.attachments:
        assert attachment.kind in AttachmentKind and isinstance(attachment.file_id, str)
        assert attachment.file_name is None or isinstance(attachment.file_name, str)
        assert attachment.size_bytes is None or isinstance(attachment.size_bytes, int)
    if message.location is not None:
        assert -90 <= message.location.latitude <= 90
        assert -180 <= message.location.longitude <= 180
    for optional in (message.reply_to, message.album_id, message.command):
        assert optional is None or isinstance(optional, str)
    assert all(isinstance(tag, str) for tag in message.hashtags)


@PROPERTY_SETTINGS
@given(content=export_files)
@example(content=DEEP_NESTING)
@example(content=MANY_DIGITS)
@example(content=json.dumps(HUGE_LATITUDE).encode())
@example(content=json.dumps(LONE_SURROGATE).encode())
@example(content=json.dumps({"id": True, "messages": [{"id": False}]}).encode())
def test_any_file_reads_as_well_formed_messages_or_an_export_error(
    export_path: Path, content: bytes
) -> None:
    export_path.write_bytes(content)
    try:
        messages = read_export(export_path)
    except ExportError as error:
        assert str(error).startswith(f"{export_path}: ")
        return
    assert len(messages) == expected_count(content)
    for message in messages:
        assert_well_formed(message)


def run_main(arguments: list[str]) -> tuple[int, str, str]:
    """`python -m bot` in this process, writing to strict UTF-8 streams as a terminal would."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(arguments)
    return code, out.buffer.getvalue().decode("utf-8"), err.buffer.getvalue().decode("utf-8")


@settings(PROPERTY_SETTINGS, max_examples=25)  # each run loads the community: ~20 ms
@given(content=export_files, command=st.sampled_from(["parse", "score"]))
@example(content=json.dumps(LONE_SURROGATE).encode(), command="parse")
@example(content=DEEP_NESTING, command="score")
def test_parse_and_score_exit_0_or_2_with_one_line_naming_the_file(
    export_path: Path, content: bytes, command: str
) -> None:
    export_path.write_bytes(content)
    extra = ["--labels", str(SAMPLE_LABELS)] if command == "score" else ["--explain"]
    arguments = [command, str(export_path), "--community", str(SAMPLE_COMMUNITY), *extra]
    code, output, errors = run_main(arguments)
    if code == EXIT_BAD_INPUT:
        assert errors.startswith(f"error: {export_path}: ") and errors.count("\n") == 1
        return
    assert code == 0 and errors == ""
    if command == "parse":
        for line in output.splitlines():
            row = json.loads(line)
            assert math.isfinite(row["confidence"]) and row["category"]


def test_the_cli_turns_a_garbage_export_into_exit_2_without_a_traceback(tmp_path: Path) -> None:
    export = tmp_path / "export.json"
    export.write_bytes(DEEP_NESTING)
    result = run_cli("parse", str(export), "--community", str(SAMPLE_COMMUNITY))
    assert result.returncode == EXIT_BAD_INPUT
    assert result.stderr.startswith(f"error: {export}: ")
    assert "Traceback" not in result.stderr
