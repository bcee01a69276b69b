"""The parser scored on the bundled labelled chat, as examples/corpus/README.md describes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.export import read_export
from bot.reports_from_export import detect_reports
from bot.scoring import load_labels, score_reports
from handlers.community import load_community
from handlers.parsing.report_parser import ReportParser
from tests.conftest import PARSER_SCORES, REPO_ROOT, SAMPLE_COMMUNITY, SAMPLE_EXPORT, SAMPLE_LABELS

HELDOUT_CHATS = sorted((REPO_ROOT / "tests" / "data").glob("heldout*/labels.json"))


def score_chat(export: Path, labels: Path, community: Path) -> dict[str, float]:
    parser = ReportParser(load_community(community))
    rows = [r.as_json_row() for r in detect_reports(read_export(export), parser)]
    summary = score_reports(rows, load_labels(labels)).summary()
    PARSER_SCORES[export.parent.name] = summary
    return summary


def test_sample_corpus_meets_the_targets() -> None:
    summary = score_chat(SAMPLE_EXPORT, SAMPLE_LABELS, SAMPLE_COMMUNITY)
    assert summary["f1"] >= 0.90
    assert summary["category_accuracy"] >= 0.85
    assert summary["grid_accuracy"] >= 0.85
    assert summary["urgent_accuracy"] >= 0.85


@pytest.mark.parametrize("labels", HELDOUT_CHATS, ids=lambda path: path.parent.name)
def test_heldout_chats_of_other_communities_stay_usable(labels: Path) -> None:
    """Chats written without looking at the parser: a floor that catches overfitting."""
    chat = labels.parent
    summary = score_chat(chat / "result.json", labels, chat / "community.yaml")
    assert summary["f1"] >= 0.85
    assert summary["category_accuracy"] >= 0.80
    assert summary["grid_accuracy"] >= 0.80
    assert summary["urgent_accuracy"] >= 0.80


def test_scoring_counts_units_once_and_spurious_rows() -> None:
    labels = load_labels(SAMPLE_LABELS)
    rows = [
        {
            "message_id": 20428,
            "message_ids": [20428],
            "category": "safety_hazard",
            "urgent": True,
            "grid": "G4",
        },
        {
            "message_id": 20429,
            "message_ids": [20429],
            "category": "safety_hazard",
            "urgent": True,
            "grid": "G4",
        },
        {
            "message_id": 20419,
            "message_ids": [20419],
            "category": "other",
            "urgent": False,
            "grid": None,
        },
    ]
    score = score_reports(rows, labels)
    assert score.true_positives == 1
    assert score.false_positives == 1
    assert score.false_negatives == 78
    assert score.field_hits == {"category": 1, "urgent": 1, "grid": 1}
