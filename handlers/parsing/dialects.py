"""Dialect words rewritten to Mandarin before matching: Cantonese, Xiang, Wuhan, Wu, Beijing.

Riders and residents write as they speak. The lexicon is written in Mandarin, so common
dialect function words and verbs are mapped first (咗 → 了, 唔 → 不, 俾风吹 → 被风吹).
Longer phrases come before the single characters they contain.
"""

from __future__ import annotations

import re

_PHRASES: tuple[tuple[str, str], ...] = (
    # Cantonese phrases
    ("唔该", "谢谢"),
    ("唔系", "不是"),
    ("唔使", "不用"),
    ("唔好", "不要"),
    ("唔知", "不知道"),
    ("快啲", "快点"),
    ("差啲", "差点"),
    ("平啲", "便宜点"),
    ("好鬼", "很"),
    ("佢哋", "他们"),
    ("你哋", "你们"),
    ("我哋", "我们"),
    ("乜嘢", "什么"),
    ("边度", "哪里"),
    ("呢度", "这里"),
    ("呢个", "这个"),
    ("嗰度", "那里"),
    ("嗰个", "那个"),
    ("点解", "为什么"),
    ("屋企", "家里"),
    ("头先", "刚才"),
    ("今朝", "今早"),
    ("琴晚", "昨晚"),
    ("好耐", "很久"),
    ("得闲", "有空"),
    ("细路", "小孩"),
    ("嗌交", "吵架"),
    ("郁手", "动手"),
    ("入面", "里面"),
    ("出面", "外面"),
    ("行路", "走路"),
    ("行过", "走过"),
    ("膝头哥", "膝盖"),
    ("水浸", "积水"),
    ("塞死", "堵死"),
    ("塞住", "堵住"),
    ("塞咗", "堵了"),
    ("跌落", "掉下"),
    ("跌咗", "摔了"),
    ("好易", "很容易"),
    ("识得", "认识"),
    ("搞掂", "搞定"),
    ("甩咗", "掉了"),
    ("起唔到身", "起不来"),
    ("认唔到路", "不认得路"),
    ("讲唔清楚", "讲不清楚"),
    ("整下", "修下"),
    ("整返", "修好"),
    ("整好", "修好"),
    # Xiang (Hunan) and Wuhan phrases
    ("么子", "什么"),
    ("么样", "怎么样"),
    ("搞么斯", "干什么"),
    ("咯里", "这里"),
    ("何解", "为什么"),
    ("冇得", "没有"),
    # Wu (Shanghai) phrases
    ("阿拉", "我们"),
    ("迭个", "这个"),
    ("搿个", "这个"),
    ("白相", "玩"),
    ("吓煞", "吓死"),
    ("交关", "很"),
    ("辰光", "时候"),
    ("里厢", "里面"),
    ("一歇", "一会"),
    ("讲不清爽", "讲不清楚"),
    ("弄一弄", "处理一下"),
    ("啥人", "什么人"),
    # Beijing phrases
    ("倍儿", "很"),
)
_CHARACTERS: tuple[tuple[str, str], ...] = (
    ("咗", "了"),
    ("唔", "不"),
    ("嘅", "的"),
    ("啲", "些"),
    ("喺", "在"),
    ("佢", "他"),
    ("睇", "看"),
    ("嚟", "来"),
    ("乜", "什么"),
    ("俾", "被"),
    ("畀", "给"),
    ("揾", "找"),
    ("搵", "找"),
    ("嘢", "东西"),
    ("窿", "洞"),
    ("烂", "坏"),
    ("嗰", "那"),
    ("冇", "没"),
    ("侬", "你"),
    ("勿", "不"),
    ("伊", "他"),
    ("甭", "不用"),
    ("忒", "太"),
)
# 系 is Cantonese for 是, but also part of Mandarin words (联系, 关系, 体系).
_COPULA_XI = re.compile(r"(?<![联关体派维干世谱直])系(?![统列数])")
_SENTENCE_END_HA = re.compile(r"哒(?=[，。！？!?,.\s]|$)")
_SENTENCE_END_FA = re.compile(r"伐(?=[，。！？!?,.~～\s]|$)")  # Wu question particle, not 砍伐
_STILL_ZHONG = re.compile(r"仲(?![裁夏秋春冬])")
_ALL_GONE = re.compile(r"(?<=[\u4e00-\u9fff])晒(?!太阳|衣|被|干)")

_PHRASE_PATTERN = re.compile("|".join(re.escape(p) for p, _ in _PHRASES))
_PHRASE_MAP = dict(_PHRASES)
_CHARACTER_TABLE = str.maketrans({k: v for k, v in _CHARACTERS if len(k) == 1})


def to_mandarin(text: str) -> str:
    """Rewrite dialect words so Mandarin cues match them."""
    text = _PHRASE_PATTERN.sub(lambda m: _PHRASE_MAP[m.group(0)], text)
    text = _SENTENCE_END_HA.sub("了", text)
    text = _SENTENCE_END_FA.sub("吗", text)
    text = _STILL_ZHONG.sub("还", text)
    text = _ALL_GONE.sub("了", text)
    text = _COPULA_XI.sub("是", text)
    return text.translate(_CHARACTER_TABLE)
