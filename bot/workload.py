"""Synthetic load: copies of the sample community and distinct report texts.

Used by the burst test, the benchmarks and the fault drills, so they all measure the same thing.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml

from handlers.community import CommunityConfig

SAMPLE_COMMUNITY = Path(__file__).resolve().parent.parent / "examples" / "community.yaml"
TEMPLATES = (
    "{place}的路灯坏了，晚上黑漆漆的，麻烦修一下",
    "{place}的垃圾堆了两天没人收，臭得很",
    "{place}门口有辆货车乱停，把路堵死了",
    "{place}半夜还有人在装修打电钻，吵得睡不着",
    "{place}的草坪被人挖了种菜，麻烦管一下",
    "{place}的广告牌松了，风一吹就晃，下面有人，很危险",
)


def residents_group_id(index: int) -> int:
    """The Telegram residents' group of community copy `index`."""
    return -1002000000000 - index


def staff_group_id(index: int) -> int:
    """The Telegram staff group of community copy `index`."""
    return -1002900000000 - index


def write_community_copies(directory: Path, count: int) -> list[Path]:
    """`count` copies of the sample community, each with its own groups, staff and workers."""
    sample = yaml.safe_load(SAMPLE_COMMUNITY.read_text(encoding="utf-8"))
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        copy = yaml.safe_load(yaml.safe_dump(sample))
        copy["community"]["id"] = f"burst{index}"
        copy["chats"] = [
            {
                "id": f"tg:{residents_group_id(index)}",
                "title": f"第{index + 1}社区骑手群",
                "kind": "residents",
            },
            {
                "id": f"tg:{staff_group_id(index)}",
                "title": f"第{index + 1}社区工作群",
                "kind": "staff",
            },
        ]
        for offset, person in enumerate(copy["staff"]):
            person["telegram_id"] = 5100000 + index * 100 + offset
            person["wecom_userid"] = f"staff{index}_{offset}"
        workers = [w for grid in copy["grids"] for w in grid["workers"]]
        for offset, worker in enumerate(workers):
            worker["telegram_id"] = 6100000 + index * 100 + offset
            worker["wecom_userid"] = f"worker{index}_{offset}"
        path = directory / f"community{index}.yaml"
        path.write_text(yaml.safe_dump(copy, allow_unicode=True), encoding="utf-8")
        paths.append(path)
    return paths


def distinct_reports(community: CommunityConfig, count: int | None = None) -> list[str]:
    """`count` (default all) reports of distinct (place, problem): none duplicates another."""
    by_grid = [
        [f"{n}栋" for n in grid.buildings] + [m for m in grid.landmarks if not m.isascii()]
        for grid in community.grids
    ]
    # Grid by grid in turn, so consecutive reports reach different workers.
    places = [p for row in itertools.zip_longest(*by_grid) for p in row if p is not None]
    pairs = list(itertools.islice(itertools.product(TEMPLATES, places), count))
    if count is not None and len(pairs) < count:
        raise ValueError(f"the sample community has only {len(pairs)} distinct reports")
    return [template.format(place=place) for template, place in pairs]
