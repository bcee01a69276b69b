"""Turn a chat export into detected reports: group the pieces, parse, describe as JSON rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from handlers.grouping import assign_pieces, merge_pieces, message_key
from handlers.messages import Incoming
from handlers.parsing.report_parser import ParsedReport, ReportParser


@dataclass(frozen=True, slots=True)
class DetectedReport:
    """A report found in an export: the described message, its pieces and the verdict."""

    message: Incoming
    pieces: tuple[Incoming, ...]
    verdict: ParsedReport

    @property
    def message_ids(self) -> tuple[str, ...]:
        ids = [self.message.message_id, *(p.message_id for p in self.pieces)]
        return tuple(sorted(ids, key=_sort_key))

    @property
    def attachment_count(self) -> int:
        return self.message.media_count + sum(p.media_count for p in self.pieces)

    def as_json_row(self) -> dict[str, Any]:
        """The row `python -m bot parse` prints for this report."""
        return {
            "message_id": _as_id(self.message.message_id),
            "message_ids": [_as_id(i) for i in self.message_ids],
            "category": self.verdict.category,
            "urgent": self.verdict.urgent,
            "grid": self.verdict.grid_id,
            "location": self.verdict.place_text,
            "attachments": self.attachment_count,
        }


def _as_id(message_id: str) -> int | str:
    return int(message_id) if message_id.lstrip("-").isdigit() else message_id


def detect_reports(messages: Sequence[Incoming], parser: ReportParser) -> Iterator[DetectedReport]:
    """Reports in a chat, in message order, each with the pieces posted beside it."""
    pieces = assign_pieces(messages)
    for message in messages:
        if message.is_media_only:
            continue
        own_pieces = tuple(pieces.get(message_key(message), ()))
        verdict = parser.parse(merge_pieces(message, own_pieces))
        if verdict.is_report:
            yield DetectedReport(message, own_pieces, verdict)


def _sort_key(message_id: str) -> tuple[int, str]:
    return (int(message_id), "") if message_id.lstrip("-").isdigit() else (0, message_id)
