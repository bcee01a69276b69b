"""Find where a report is: landmarks, building numbers and location shares, mapped to grids."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pypinyin import lazy_pinyin

from handlers.community import CommunityConfig, GridConfig
from handlers.parsing.text import chinese_number, fold_width

FULL_NAME = 2
PARTIAL_NAME = 1

# Generic place words and their usual English renderings, longest Chinese first at use.
GENERIC_PLACE_WORDS: dict[str, tuple[str, ...]] = {
    "儿童乐园": ("playground", "children's playground", "kids playground"),
    "地下车库": ("underground garage", "basement garage", "underground car park", "garage"),
    "停车场": ("parking lot", "car park"),
    "篮球场": ("basketball court",),
    "足球场": ("football field", "soccer field"),
    "菜市场": ("wet market", "vegetable market", "food market"),
    "公交站": ("bus stop", "bus station"),
    "美食街": ("food street",),
    "快递柜": ("parcel locker", "parcel lockers", "delivery locker"),
    "垃圾站": ("garbage station", "waste station"),
    "夜市": ("night market",),
    "公园": ("park",),
    "广场": ("square", "plaza"),
    "物业": ("property office", "property management"),
    "驿站": ("station",),
    "商铺": ("shops", "stores"),
    "车库": ("garage",),
    "东门": ("east gate",),
    "西门": ("west gate",),
    "南门": ("south gate",),
    "北门": ("north gate",),
    "后门": ("back gate", "rear gate"),
    "门楼": ("gate tower", "gatehouse"),
    "一期": ("phase 1", "phase one", "phase i"),
    "二期": ("phase 2", "phase two", "phase ii"),
    "三期": ("phase 3", "phase three", "phase iii"),
    "小区": ("estate", "compound", "complex"),
    "沿街": ("street front",),
    "大道": ("avenue", "boulevard"),
    "路": ("road", "rd"),
    "街": ("street", "st"),
    "巷": ("lane", "alley"),
    "门": ("gate",),
}

# A landmark's tail that people use on its own ("西门" for "小区西门").
_STANDALONE_TAILS = (
    "东门",
    "西门",
    "南门",
    "北门",
    "后门",
    "前门",
    "停车场",
    "车库",
    "篮球场",
    "球场",
    "物业",
    "驿站",
    "乐园",
    "广场",
    "菜场",
    "门楼",
    "美食街",
)

_LOCATIVE_SUFFIX = re.compile(
    r"(?:那个|那边|这边|的)?(?:门口|楼下|楼上|楼顶|楼道|旁边|边上|后面|前面|附近|里面|对面|"
    r"入口|出口|中间|之间|西侧|东侧|南侧|北侧|(?:\d+|[一二三四五六七八九十])单元)"
)

_CN_NUMERAL = "[一二三四五六七八九十百]{1,4}"
_BUILDING_PATTERNS = (
    re.compile(rf"(?<![这那每哪有整])第?(\d{{1,3}}|{_CN_NUMERAL})\s*(?:号楼|号栋|栋|幢|座|#)"),
    re.compile(r"(?<![\d-])(\d{1,3})-\d{1,2}-(?!19\d\d|20\d\d)\d{3,4}(?![\d-])"),
    re.compile(r"\b(?:building|bldg|block|blk|tower)\.?\s*(?:no\.?\s*)?#?\s*(\d{1,3})\b"),
    re.compile(r"\bno\.?\s*(\d{1,3})\s+(?:building|bldg|block)\b"),
    re.compile(r"\b(\d{1,3})(?:st|nd|rd|th)?\s+(?:building|bldg|block)\b"),
)


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    start: int
    end: int
    text: str
    grid_ids: frozenset[str]
    strength: int
    keys: frozenset[str] = frozenset()  # canonical places named: "扬帆公园", "building:12"


@dataclass(frozen=True, slots=True)
class PlaceResult:
    grid_id: str | None
    place_text: str | None
    matches: tuple[PlaceMatch, ...] = ()


NO_PLACE = PlaceResult(grid_id=None, place_text=None)


def _pinyin(chinese: str) -> str:
    return "".join(lazy_pinyin(chinese)).lower()


def _english_renderings(name: str) -> set[str]:
    """English spellings of a Chinese landmark: generic words translated, names in pinyin."""
    pieces: list[tuple[str, ...]] = []
    rest = name
    generic = sorted(GENERIC_PLACE_WORDS, key=len, reverse=True)
    proper = ""
    while rest:
        word = next((g for g in generic if rest.startswith(g)), None)
        if word is None:
            proper += rest[0]
            rest = rest[1:]
            continue
        if proper:
            pieces.append((_pinyin(proper),))
            proper = ""
        pieces.append(GENERIC_PLACE_WORDS[word])
        rest = rest[len(word) :]
    if proper:
        pieces.append((_pinyin(proper),))
    renderings = {""}
    for options in pieces:
        renderings = {f"{done} {option}".strip() for done in renderings for option in options}
    renderings.add(_pinyin(name))
    return {r for r in renderings if _is_latin(r) and re.search(r"[a-z]", r)}


def _is_latin(text: str) -> bool:
    return bool(re.fullmatch(r"[\x00-\x7f]+", text))


class PlaceMatcher:
    """Matches place names of one community; built once per community, reused per message."""

    def __init__(self, community: CommunityConfig) -> None:
        self._community = community
        self._aliases: dict[str, tuple[frozenset[str], int]] = {}
        self._canonical: dict[str, frozenset[str]] = {}
        self._buildings: dict[str, str] = {}
        for grid in community.grids:
            self._add_grid(grid)
        names = sorted(self._aliases, key=len, reverse=True)
        alternatives = [
            rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])" if _is_latin(n) else re.escape(n)
            for n in names
        ]
        self._landmark_pattern = re.compile("|".join(alternatives)) if alternatives else None

    def _add_grid(self, grid: GridConfig) -> None:
        stem = self._community_stem()
        for landmark in grid.landmarks:
            name = fold_width(landmark).lower().strip()
            self._add_alias(name, grid.id, FULL_NAME, name)
            for partial in self._partials(name, stem):
                self._add_alias(partial, grid.id, PARTIAL_NAME, name)
            if not _is_latin(name):
                for english in _english_renderings(name):
                    self._add_alias(english, grid.id, FULL_NAME, name)
        for building in grid.buildings:
            name = fold_width(str(building)).strip().lower()
            if name.isdigit():
                self._buildings[str(int(name))] = grid.id
            else:  # named blocks ("A座", "Block C") are matched like landmarks
                self._add_alias(name, grid.id, FULL_NAME, name)

    def _community_stem(self) -> str:
        name = fold_width(self._community.community.name)
        return re.sub(r"(社区|街道|小区|村)$", "", name).lower()

    @staticmethod
    def _partials(name: str, stem: str) -> Iterable[str]:
        if stem and name.startswith(stem) and len(name) - len(stem) >= 2:
            yield name[len(stem) :]
        for tail in _STANDALONE_TAILS:
            if name.endswith(tail) and name != tail:
                yield tail
                yield from (e for e in GENERIC_PLACE_WORDS.get(tail, ()) if " " in e)

    def _add_alias(self, alias: str, grid_id: str, strength: int, canonical: str) -> None:
        if len(alias) < 2:
            return
        self._canonical[alias] = self._canonical.get(alias, frozenset()) | {canonical}
        grids, best = self._aliases.get(alias, (frozenset(), 0))
        if strength > best:
            self._aliases[alias] = (frozenset({grid_id}), strength)
        elif strength == best:
            self._aliases[alias] = (grids | {grid_id}, strength)

    def find(self, text: str) -> list[PlaceMatch]:
        """Every place mention in the text, in order of appearance."""
        folded = fold_width(text).lower()
        found = self._landmark_matches(folded) + self._building_matches(folded)
        return sorted(_drop_overlapped(found), key=lambda m: m.start)

    def _landmark_matches(self, folded: str) -> list[PlaceMatch]:
        if self._landmark_pattern is None:
            return []
        matches = []
        for hit in self._landmark_pattern.finditer(folded):
            alias = hit.group(0)
            grids, strength = self._aliases[alias]
            matches.append(
                PlaceMatch(hit.start(), hit.end(), alias, grids, strength, self._canonical[alias])
            )
        return matches

    def _building_matches(self, folded: str) -> list[PlaceMatch]:
        matches = []
        for pattern in _BUILDING_PATTERNS:
            for hit in pattern.finditer(folded):
                measure_word = hit.group(1) == "一" and not hit.group(0).startswith("第")
                if measure_word:  # "一栋楼", "一座雕像": a count, not building 1
                    continue
                number = _building_number(hit.group(1))
                grid_id = self._buildings.get(number) if number else None
                grids = frozenset({grid_id}) if grid_id else frozenset()
                keys = frozenset({f"building:{number}"}) if number else frozenset()
                matches.append(
                    PlaceMatch(hit.start(), hit.end(), hit.group(0), grids, FULL_NAME, keys)
                )
        return matches

    def locate(
        self, text: str, *, longitude: float | None = None, latitude: float | None = None
    ) -> PlaceResult:
        """The grid and place text of a report; a location share inside a grid wins."""
        folded = fold_width(text).lower()
        matches = self.find(text)
        place_text = _place_span(folded, text, matches)
        if longitude is not None and latitude is not None:
            grid = self._community.grid_at(longitude, latitude)
            if grid is not None:
                return PlaceResult(grid.id, place_text, tuple(matches))
        return PlaceResult(_choose_grid(folded, matches), place_text, tuple(matches))


def _building_number(raw: str) -> str | None:
    if raw.isdigit():
        return str(int(raw))
    if raw == "两":
        return None
    value = chinese_number(raw)
    return str(value) if value is not None else None


def _drop_overlapped(matches: Sequence[PlaceMatch]) -> list[PlaceMatch]:
    """Keep the longest of overlapping mentions, in order of appearance."""
    # Kept mentions never overlap, so ordered by start they are ordered by end too: a new one
    # can only overlap the last kept one starting before it ends (one bisect, not a full scan;
    # a long message of "3栋3栋…" took minutes with the scan).
    kept: list[PlaceMatch] = []
    starts: list[int] = []
    for match in sorted(matches, key=lambda m: (-(m.end - m.start), m.start)):
        at = bisect_left(starts, match.end)
        if at and kept[at - 1].end > match.start:
            continue
        kept.insert(at, match)
        starts.insert(at, match.start)
    return kept


def _choose_grid(folded: str, matches: Sequence[PlaceMatch]) -> str | None:
    """The grid of the strongest, earliest unambiguous mention; None when all are ambiguous.

    Two places of different grids joined as one spot ("3栋和12栋之间") name no single grid.
    """
    unambiguous = [m for m in matches if len(m.grid_ids) == 1]
    if not unambiguous:
        return None
    strongest = max(m.strength for m in unambiguous)
    first = next(m for m in unambiguous if m.strength == strongest)
    for other in unambiguous:
        if other.grid_ids != first.grid_ids and _joined_as_one_spot(folded, first, other):
            return None
    return next(iter(first.grid_ids))


_BETWEEN = re.compile(r"^\s*(和|与|跟|到|至|and|&)\s*$")


def _joined_as_one_spot(folded: str, first: PlaceMatch, other: PlaceMatch) -> bool:
    """True for "A和B(之间)", where the report sits on the border of two grids."""
    left, right = sorted((first, other), key=lambda m: m.start)
    return bool(_BETWEEN.match(folded[left.end : right.start]))


def _place_span(folded: str, original: str, matches: Sequence[PlaceMatch]) -> str | None:
    """The shortest stretch of the original text naming the place: adjacent mentions joined."""
    if not matches:
        return None
    named = [m for m in matches if m.grid_ids] or list(matches)
    start, end = named[0].start, named[0].end
    for match in matches:
        if match.start >= end and match.start - end <= 1:
            end = match.end
    suffix = _LOCATIVE_SUFFIX.match(folded, end)
    if suffix:
        end = suffix.end()
    source = original if _folds_in_place(original, folded) else folded
    return source[start:end].strip() or None


def _folds_in_place(original: str, folded: str) -> bool:
    """True when folding kept every character at its offset, so spans map back to the original."""
    # Equal lengths alone can hide a shift: "ｶﾞ" folds to one character, "Ⅻ" to three.
    if len(original) != len(folded):
        return False
    return all(len(fold_width(char).lower()) == 1 for char in original)
