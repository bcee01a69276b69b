"""Text clean-up shared by the report parser: width folding, typos, hashtags, mentions, numerals."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from handlers.parsing.dialects import to_mandarin

REPORT_HASHTAGS = frozenset({"报事", "随手拍", "报修", "隐患", "report"})

_HASHTAG = re.compile(r"#([\w\u4e00-\u9fff]+)")
_MENTION = re.compile(r"@([A-Za-z0-9_]{3,32})")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u20e3\U000e0020-\U000e007f]+"
)

# Common homophone typos in chat, rewritten before the lexicon sees the text.
_TYPOS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"拉圾|垃极|辣鸡(?=桶|站|堆)"), "垃圾"),
    (re.compile(r"消防通到"), "消防通道"),
    (re.compile(r"楼到(?=的|里|灯)"), "楼道"),
    (re.compile(r"电[平屏]车"), "电瓶车"),
    (re.compile(r"电[悌梯剃]"), "电梯"),
    (re.compile(r"井[钙概]"), "井盖"),
)

# Degree complements ("笑得我要从车上掉下来", "热得要着火") describe feelings, not hazards.
_FIGURATIVE = (
    re.compile(
        r"(?:笑|哭|热|冷|吓|累|饿|气|困|晒|急|乐|激动|感动|开心|高兴)(?:得|到)[^，。！？!?,;；\n]*"
    ),
    re.compile(r"(?:打|跑|送|忙|笑|哭)(?:得|到)(?:我|人|要|都|快|直)[^，。！？!?,;；\n]*"),
    re.compile(r"气炸了?|炸毛"),
    re.compile(r"(?:笑|热|累|饿|气|困|忙|晒|吓)死(?:了|我了|人了)?"),
    re.compile(r"魂都[^，。！？!?,]*|眼睛都要[^，。！？!?,]*|人都裂开[^，。！？!?,]*|要炸了"),
)

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百]+")


@dataclass(frozen=True, slots=True)
class CleanText:
    """The message text prepared for matching, plus the markers removed from it."""

    original: str
    text: str
    hashtags: tuple[str, ...]
    mentions: tuple[str, ...]
    has_link: bool

    @property
    def has_report_hashtag(self) -> bool:
        return any(tag.lower() in REPORT_HASHTAGS for tag in self.hashtags)


def chinese_number(numeral: str) -> int | None:
    """Value of a Chinese numeral below 1000 (三 → 3, 十二 → 12, 二十 → 20), or None."""
    if not numeral or any(ch not in _CN_DIGITS and ch not in "十百" for ch in numeral):
        return None
    total, current = 0, 0
    for ch in numeral:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = current * 10 + _CN_DIGITS[ch]
    return total + current


def arabic_building_numbers(text: str) -> str:
    """Rewrite Chinese numerals that precede a building word (十二栋 → 12栋)."""

    def replace(match: re.Match[str]) -> str:
        value = chinese_number(match.group(0))
        return str(value) if value is not None else match.group(0)

    return re.sub(
        r"[零〇一二两三四五六七八九十百]+(?=\s*(?:栋|幢|号楼|号栋|座|单元))", replace, text
    )


def fold_width(text: str) -> str:
    """NFKC-fold full-width letters and digits; keep Chinese punctuation meaningful."""
    return unicodedata.normalize("NFKC", text)


def mask_figurative(text: str) -> str:
    """Blank out exaggerated feelings so their hazard words do not count."""
    for pattern in _FIGURATIVE:
        text = pattern.sub(" ", text)
    return text


def clean_text(raw: str) -> CleanText:
    """Prepare a message for the lexicon: fold width, strip tags, fix typos, lower-case."""
    text = fold_width(raw)
    hashtags = tuple(_HASHTAG.findall(text))
    mentions = tuple(_MENTION.findall(text))
    has_link = bool(_URL.search(text))
    text = _URL.sub(" ", text)
    text = _HASHTAG.sub(
        lambda m: " " if m.group(1).lower() in REPORT_HASHTAGS else m.group(1), text
    )
    text = _MENTION.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = to_mandarin(text)
    for pattern, replacement in _TYPOS:
        text = pattern.sub(replacement, text)
    text = arabic_building_numbers(text)
    text = re.sub(r"[ \t\u3000]+", " ", text).strip().lower()
    return CleanText(
        original=raw, text=text, hashtags=hashtags, mentions=mentions, has_link=has_link
    )
