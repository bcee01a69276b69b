"""The report parser on single messages: detection, category, urgency, place and grid."""

from __future__ import annotations

import pytest

from handlers.community import CommunityConfig
from handlers.parsing.report_parser import ReportParser
from tests.conftest import MessageFactory


@pytest.fixture(scope="module")
def parser(sample_community: CommunityConfig) -> ReportParser:
    return ReportParser(sample_community)


@pytest.mark.parametrize(
    ("text", "grid"),
    [
        ("3栋楼下的路灯坏了好几天了", "G2"),
        ("3号楼门口的路灯坏了好几天了", "G2"),
        ("三栋门口的路灯坏了好几天了", "G2"),
        ("12幢楼下的路灯坏了好几天了", "G3"),
        ("十二栋楼下的路灯坏了好几天了", "G3"),
        ("9#楼下的路灯坏了好几天了", "G3"),
        ("第7栋楼道灯坏了好几天了", "G2"),
        ("The street light outside No. 5 building is broken", "G2"),
        ("The street light next to Bldg 9 is broken, please fix", "G3"),
        ("Street light at Building 14 has been out for days", "G3"),
        ("3-2-101门口的灯坏了好几天了", "G2"),
    ],
)
def test_building_numbers_in_every_common_form_find_the_grid(
    parser: ReportParser, make_message: MessageFactory, text: str, grid: str
) -> None:
    verdict = parser.parse(make_message(text))
    assert verdict.is_report
    assert verdict.grid_id == grid


@pytest.mark.parametrize(
    ("text", "grid"),
    [
        ("夜市北门的垃圾桶满出来了，臭得很", "G1"),
        ("扬帆公园里有棵树倒了压在步道上，很危险", "G4"),
        ("公园里的长椅坏了好几天了", "G4"),  # partial name of 扬帆公园
        ("西门的道闸坏了，车都进不去", "G3"),  # partial name of 小区西门
        ("The bins at the east gate are overflowing and it stinks", "G2"),
        ("Loud drilling from a site on Yuanda Road at midnight again", "G4"),
        ("The hoop at the phase 2 basketball court is hanging loose", "G3"),
    ],
)
def test_landmarks_and_their_partial_or_english_names_find_the_grid(
    parser: ReportParser, make_message: MessageFactory, text: str, grid: str
) -> None:
    verdict = parser.parse(make_message(text))
    assert verdict.is_report, verdict.reasons
    assert verdict.grid_id == grid


@pytest.mark.parametrize(
    "text",
    [
        "南门那根路灯杆歪了，电线在冒火花！",  # 夜市南门 or 公园南门: ambiguous
        "小区里的流浪狗越来越多，到处拉屎，臭得很",  # 小区 spans two grids
        "五一广场那边堵死了，大家绕道走",  # outside the community
        "楼道灯又坏了，晚上黑漆漆的",  # no place at all
        "20栋门口的井盖没了，好危险",  # a building the community does not have
    ],
)
def test_unknown_or_ambiguous_places_give_no_grid(
    parser: ReportParser, make_message: MessageFactory, text: str
) -> None:
    verdict = parser.parse(make_message(text))
    assert verdict.is_report, verdict.reasons
    assert verdict.grid_id is None


def test_a_location_share_inside_a_grid_polygon_sets_the_grid(
    parser: ReportParser, make_message: MessageFactory
) -> None:
    verdict = parser.parse(
        make_message("这里的电线掉下来了，快来人！", location=(28.1968, 113.0372))
    )
    assert verdict.is_report
    assert verdict.grid_id == "G4"
    outside = parser.parse(
        make_message("这里的电线掉下来了，快来人！", location=(28.2041, 113.0416))
    )
    assert outside.is_report
    assert outside.grid_id is None


@pytest.mark.parametrize(
    ("text", "category", "urgent"),
    [
        ("夜市南门门楼上的广告牌被风吹得松动了，下面全是人", "safety_hazard", True),
        ("一期儿童乐园的滑梯断了一根扶手", "facility_damage", False),
        ("二期篮球场旁边的垃圾堆了三天没人清运，苍蝇满天飞", "sanitation", False),
        ("13栋楼下的消防通道被一辆白色私家车堵死了", "traffic_order", False),
        ("12栋有户人家半夜装修打电钻，吵得睡不着", "noise_nuisance", False),
        ("16栋门口的大树枝丫伸到阳台上了，麻烦修剪一下", "greenery", False),
        ("8栋的独居老人好几天没出门了，电话也没人接", "vulnerable_person", True),
        ("楼上又漏水到我家，敲门也不开，麻烦社区协调", "neighbourhood_dispute", False),
        ("夜市停车场乱收费，停十分钟收10块钱，社区能不能管管", "other", False),
        ("10栋楼道里堆满了杂物把消防通道占了，不急，这两天清一下就行", "safety_hazard", False),
        ("5号楼的路灯坏了，紧急！晚上老人摔跤了怎么办", "facility_damage", True),
    ],
)
def test_category_and_urgency(
    parser: ReportParser, make_message: MessageFactory, text: str, category: str, urgent: bool
) -> None:
    verdict = parser.parse(make_message(text))
    assert verdict.is_report, verdict.reasons
    assert (verdict.category, verdict.urgent) == (category, urgent)


@pytest.mark.parametrize(
    "text",
    [
        "笑得我要从车上掉下来了😂",
        "今天热得要着火了，绿豆汤真的是救命的",
        "这单要炸了，跑到我人都裂开🙃",
        "请问周五的露天电影几点开始？在扬帆公园吗？",
        "【便民服务】专业疏通下水道马桶堵塞，价格实惠，电话139 7312 5678",
        "昨天那个井盖已经盖好了，谢谢社区👍",
        "我家马桶堵了，有没有靠谱的师傅推荐一下",
        "刚在夜市掉了个手机，捡到的联系我，必有重谢",
        "#报事 这个标签怎么用？直接发照片就可以吗？",
        "#随手拍 今晚扬帆公园的晚霞太美了",
        "谢谢大家，今天的运动会太好玩了",
        "Hello everyone, just moved into Building 11!",
    ],
)
def test_chatter_is_not_a_report(
    parser: ReportParser, make_message: MessageFactory, text: str
) -> None:
    verdict = parser.parse(make_message(text, photos=1 if "随手拍" in text else 0))
    assert not verdict.is_report, verdict


def test_staff_dispatch_is_not_a_new_report(
    parser: ReportParser, make_message: MessageFactory
) -> None:
    dispatch = make_message(
        "张敏你马上去夜市南门看看，广告牌松了，先把人疏散开！", sender="5000001"
    )
    assert not parser.parse(dispatch).is_report
    citizen = make_message("夜市南门的广告牌松了，快来人疏散一下！", sender="7000009")
    assert parser.parse(citizen).is_report


def test_hashtags_emoji_and_typos_do_not_confuse(
    parser: ReportParser, make_message: MessageFactory
) -> None:
    verdict = parser.parse(make_message("#报事 🚨12幢楼下的拉圾堆成山了😤😤 臭死了 #随手拍"))
    assert verdict.is_report
    assert (verdict.category, verdict.grid_id) == ("sanitation", "G3")
    assert verdict.place_text is not None and "12幢" in verdict.place_text


def test_a_photo_with_a_pointing_caption_is_an_unsure_report(
    parser: ReportParser, make_message: MessageFactory
) -> None:
    verdict = parser.parse(make_message("看这里👀", photos=1))
    assert verdict.is_report
    assert not verdict.confident
    assert verdict.category == "other"
    assert verdict.needs_place


def test_place_text_is_the_span_as_written(
    parser: ReportParser, make_message: MessageFactory
) -> None:
    verdict = parser.parse(make_message("一期3栋门口那个快递柜屏幕黑了，扫码没反应"))
    assert verdict.place_text == "一期3栋门口"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("夜市北门嗰块广告牌俾风吹到甩咗一边，摇下摇下，下面好多人", "safety_hazard"),
        ("12幢楼下嘅长凳烂咗一块板，坐唔到，得闲整下", "facility_damage"),
        ("6栋楼梯间嗰两个又嗌交，仲郁手，阿伯跌倒起唔到身，快啲嚟人！", "vulnerable_person"),
        ("二期地下车库入面条水管漏水，漏咗成日都冇人理", "facility_damage"),
        ("楼道灯又坏哒，何解冇人来换啰", "facility_damage"),
        ("街心花园旁边的窨井盖被啥人拿走了，小朋友在边上白相，吓煞人了", "safety_hazard"),
        ("楼上的洗衣机排水管漏了，水渗到阿拉天花板，敲门没人", "neighbourhood_dispute"),
    ],
)
def test_cantonese_and_xiang_dialect_reports_are_understood(
    parser: ReportParser, make_message: MessageFactory, text: str, category: str
) -> None:
    verdict = parser.parse(make_message(text))
    assert verdict.is_report, verdict.reasons
    assert verdict.category == category


@pytest.mark.parametrize(
    "text",
    [
        "今日热到爆炸🔥 屋企个空调都罢工咯",
        "有冇人识得靠谱嘅水电师傅？我屋企水龙头一直滴水",
        "唉，我部手机跌落地，屏幕裂晒，有冇边度整手机平啲？",
        "有事联系我，电话在群公告里",
        "Who do I contact about the AC in my apartment? It's leaking all over the floor",
        "#垃圾分类 请问大骨头算湿垃圾还是干垃圾？",
    ],
)
def test_dialect_chatter_and_private_trouble_are_not_reports(
    parser: ReportParser, make_message: MessageFactory, text: str
) -> None:
    assert not parser.parse(make_message(text)).is_report


def test_dialect_mapping_keeps_mandarin_words_intact() -> None:
    from handlers.parsing.dialects import to_mandarin

    assert to_mandarin("联系我，关系好") == "联系我，关系好"
    assert to_mandarin("佢系阿伯，唔系我") == "他是阿伯，不是我"
    assert to_mandarin("堆咗好多嘢") == "堆了好多东西"


@pytest.mark.parametrize(
    "text",
    [
        "对面那一栋楼外墙瓷砖掉下来了，好危险",  # 一栋 counts one building, it is not building 1
        "路口有一座雕像要倒了，好危险",
        "3栋和12栋之间的井盖没了，好危险",  # on the border of two grids
    ],
)
def test_counts_and_border_places_give_no_grid(
    parser: ReportParser, make_message: MessageFactory, text: str
) -> None:
    verdict = parser.parse(make_message(text))
    assert verdict.is_report, verdict.reasons
    assert verdict.grid_id is None


@pytest.mark.parametrize(
    "text",
    [
        "一期垃圾站每次都清理不干净，臭得很，麻烦物业管一管",
        "井盖没了，刚才有人差点掉下去，幸好没事了，麻烦赶紧处理",
    ],
)
def test_a_report_mentioning_a_partial_fix_is_still_a_report(
    parser: ReportParser, make_message: MessageFactory, text: str
) -> None:
    assert parser.parse(make_message(text)).is_report


def test_a_date_is_not_a_building(parser: ReportParser, make_message: MessageFactory) -> None:
    verdict = parser.parse(make_message("10-07-2024 晚上路灯全黑了，没人来修"))
    assert verdict.grid_id is None
