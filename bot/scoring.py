"""Score detected reports against a labelled export, as examples/corpus/README.md describes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIELDS = ("category", "urgent", "grid")


class LabelsError(ValueError):
    """A labels file that cannot be used; names the file and the field."""


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    field_hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    missed: list[int] = field(default_factory=list)
    spurious: list[int] = field(default_factory=list)
    wrong_fields: list[tuple[int, str, Any, Any]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 0.0

    @property
    def recall(self) -> float:
        relevant = self.true_positives + self.false_negatives
        return self.true_positives / relevant if relevant else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def accuracy(self, name: str) -> float:
        return self.field_hits[name] / self.true_positives if self.true_positives else 0.0

    def summary(self) -> dict[str, Any]:
        """The figures as a flat dict, rounded for printing."""
        return {
            "units_found": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "f1": round(self.f1, 3),
            **{f"{name}_accuracy": round(self.accuracy(name), 3) for name in FIELDS},
        }


def load_labels(path: str | Path) -> dict[int, Mapping[str, Any]]:
    """Labels by message id from a labels.json file."""
    source = Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabelsError(f"{source}: file not found") from None
    except json.JSONDecodeError as exc:
        raise LabelsError(f"{source}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelsError(f"{source}: cannot read file ({exc})") from None
    labels = document.get("labels") if isinstance(document, Mapping) else None
    if not isinstance(labels, Mapping):
        raise LabelsError(f"{source}: labels: missing or not an object")
    return {
        _label_id(source, key): _checked_label(source, key, value) for key, value in labels.items()
    }


def _label_id(source: Path, key: str) -> int:
    if not str(key).lstrip("-").isdigit():
        raise LabelsError(f"{source}: labels.{key}: keys must be message ids")
    return int(key)


def _checked_label(source: Path, key: str, label: Any) -> Mapping[str, Any]:
    if not isinstance(label, Mapping):
        raise LabelsError(f"{source}: labels.{key}: not an object")
    part_of = label.get("part_of")
    if part_of is not None and not isinstance(part_of, int):
        raise LabelsError(f"{source}: labels.{key}.part_of: not a message id: {part_of!r}")
    return label


def report_units(labels: Mapping[int, Mapping[str, Any]]) -> dict[int, set[int]]:
    """Each labelled report's id with the ids of the messages that are part of it."""
    units = {mid: {mid} for mid, label in labels.items() if label.get("is_report")}
    for mid, label in labels.items():
        owner = label.get("part_of")
        if owner is not None and int(owner) in units:
            units[int(owner)].add(mid)
    return units


def score_reports(
    rows: Iterable[Mapping[str, Any]], labels: Mapping[int, Mapping[str, Any]]
) -> Score:
    """Detection and field accuracy of parser rows (the `parse` command's JSON) against labels."""
    units = report_units(labels)
    unit_of = {member: owner for owner, members in units.items() for member in members}
    predictions: dict[int, tuple[int, Mapping[str, Any]]] = {}
    score = Score()
    for row in rows:
        flagged = [int(i) for i in row.get("message_ids") or [row["message_id"]]]
        owners = {unit_of[m] for m in flagged if m in unit_of}
        if not owners:
            score.false_positives += 1
            score.spurious.append(int(row["message_id"]))
        for owner in owners:
            rank = 0 if int(row["message_id"]) == owner else 1
            if owner not in predictions or rank < predictions[owner][0]:
                predictions[owner] = (rank, row)
    for owner in units:
        if owner not in predictions:
            score.false_negatives += 1
            score.missed.append(owner)
            continue
        score.true_positives += 1
        _score_fields(score, owner, labels[owner], predictions[owner][1])
    return score


def _score_fields(
    score: Score, owner: int, label: Mapping[str, Any], row: Mapping[str, Any]
) -> None:
    for name in FIELDS:
        if row.get(name) == label.get(name):
            score.field_hits[name] += 1
        else:
            score.wrong_fields.append((owner, name, row.get(name), label.get(name)))
