"""Decide whether a message reports an issue, and of what kind, how urgent and where."""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers.categories import FALLBACK_CODE, Category, load_categories
from handlers.community import CommunityConfig, Role
from handlers.geo import wgs84
from handlers.messages import Incoming
from handlers.parsing import lexicon
from handlers.parsing.places import PlaceMatcher, PlaceResult
from handlers.parsing.text import CleanText, clean_text, mask_figurative

MIN_PROBLEM = 1.5
MIN_EVIDENCE = 2.5
CONFIDENT_EVIDENCE = 3.0
UNSURE_CONFIDENCE = 0.35


@dataclass(frozen=True, slots=True)
class ParsedReport:
    """The parser's verdict on one message (or one message with its photos and pin)."""

    is_report: bool
    confidence: float
    category: str | None = None
    urgent: bool = False
    grid_id: str | None = None
    place_text: str | None = None
    reasons: tuple[str, ...] = field(default=())

    @property
    def confident(self) -> bool:
        return self.is_report and self.confidence >= CONFIDENT_EVIDENCE / 6

    @property
    def needs_place(self) -> bool:
        return self.is_report and self.grid_id is None and self.place_text is None


def _not_report(reason: str) -> ParsedReport:
    return ParsedReport(is_report=False, confidence=0.0, reasons=(reason,))


class ReportParser:
    """Parser bound to one community: its places, people and service vocabulary."""

    def __init__(
        self, community: CommunityConfig, categories: dict[str, Category] | None = None
    ) -> None:
        self.community = community
        self.categories = categories or load_categories()
        self.places = PlaceMatcher(community)

    def parse(self, message: Incoming) -> ParsedReport:
        """Classify one neutral message; pieces of a split report should be merged first."""
        clean = clean_text(message.text)
        text = mask_figurative(clean.text)
        explicit = clean.has_report_hashtag or message.mentions_bot or message.command == "report"
        scores = {code: lexicon.score(text, table) for code, table in lexicon.CATEGORY_CUES.items()}
        category = max(scores, key=lambda code: scores[code])
        problem = scores[category]
        veto = self._veto(message, clean, text, explicit, problem)
        if veto:
            return _not_report(veto)
        if lexicon.ATTENTION_ONLY.match(text) and message.media_count:
            return self._unsure_media_report(message)
        place = self._locate(message)
        evidence = problem + self._support(message, text, explicit, place)
        if problem < MIN_PROBLEM or evidence < MIN_EVIDENCE:
            return _not_report(f"too little evidence ({problem:.1f}/{evidence:.1f})")
        if category not in self.categories:
            category = FALLBACK_CODE
        return ParsedReport(
            is_report=True,
            confidence=round(min(1.0, evidence / 6), 2),
            category=category,
            urgent=self._urgent(text, category),
            grid_id=place.grid_id,
            place_text=place.place_text,
            reasons=tuple(f"{code}={value:g}" for code, value in scores.items() if value),
        )

    def _veto(
        self, message: Incoming, clean: CleanText, text: str, explicit: bool, problem: float
    ) -> str | None:
        """Why the message cannot be a report, or None."""
        if not text and not message.media_count:
            return "no text"
        if not explicit and self._is_staff(message):
            return "staff or grid worker speaking"
        if _looks_like_ad(text, clean.has_link):
            return "advertisement"
        still_asking = problem >= 3 and lexicon.EXPLICIT_ASK.search(text)
        if lexicon.ALREADY_FIXED.search(text) and not _recurs(text) and not still_asking:
            return "already fixed"
        if _personal_trouble(text):
            return "personal matter"
        if lexicon.QUESTION.search(text) and lexicon.EVENT_TALK.search(text) and problem < 2.5:
            return "question about an event"
        return None

    def _is_staff(self, message: Incoming) -> bool:
        role = self.community.role_of(message.platform.value, message.sender.user_id)
        return role in {Role.GRID_WORKER, Role.STAFF, Role.SECRETARY}

    def _locate(self, message: Incoming) -> PlaceResult:
        if message.location is None:
            return self.places.locate(message.text)
        lon, lat = wgs84(message.location)
        return self.places.locate(message.text, longitude=lon, latitude=lat)

    @staticmethod
    def _support(message: Incoming, text: str, explicit: bool, place: PlaceResult) -> float:
        """Evidence besides the problem words: a request, a complaint, a place, a trigger."""
        return (
            (1.0 if lexicon.REQUEST.search(text) else 0.0)
            + (0.5 if lexicon.COMPLAINT.search(text) else 0.0)
            + (0.5 if place.grid_id or place.place_text or message.location else 0.0)
            + (1.0 if explicit else 0.0)
            + (0.5 if message.media_count else 0.0)
        )

    def _urgent(self, text: str, category: str) -> bool:
        if lexicon.NOT_URGENT.search(text):
            return False
        if lexicon.URGENT.search(text):
            return True
        known = self.categories.get(category)
        return bool(known and known.urgent_by_default)

    def _unsure_media_report(self, message: Incoming) -> ParsedReport:
        place = self._locate(message)
        return ParsedReport(
            is_report=True,
            confidence=UNSURE_CONFIDENCE,
            category=FALLBACK_CODE,
            urgent=False,
            grid_id=place.grid_id,
            place_text=place.place_text,
            reasons=("media with only a pointing caption",),
        )


def _looks_like_ad(text: str, has_link: bool) -> bool:
    hits = sum(1 for _ in lexicon.AD.finditer(text))
    return hits >= 2 or (hits >= 1 and has_link)


def _recurs(text: str) -> bool:
    return bool(lexicon.RECURRENCE.search(text))


def _personal_trouble(text: str) -> bool:
    """Own belongings or lost items: for neighbours to help with, not the community."""
    if lexicon.PERSON_AT_RISK.search(text) or lexicon.ADDRESSES_COMMUNITY.search(text):
        return False
    seeking = lexicon.PERSONAL_SEEKING.search(text)
    return bool(seeking and (lexicon.PERSONAL_OWNER.search(text) or lexicon.LOST_ITEM.search(text)))
