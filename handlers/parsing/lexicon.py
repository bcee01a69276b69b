"""Weighted cues the report parser looks for, in Chinese and English.

Each category lists (pattern, weight) pairs drawn from what the category covers in
categories.yaml. Weights: 3 = the cue alone names the problem, 2 = a strong hint,
1 = supporting context. Patterns run on cleaned, lower-cased text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Cue = tuple[re.Pattern[str], float]


def cues(*pairs: tuple[str, float]) -> tuple[Cue, ...]:
    """Compile (regex, weight) pairs."""
    return tuple((re.compile(pattern), weight) for pattern, weight in pairs)


_FALLING_THING = (
    r"(广告牌|招牌|牌子|灯箱|玻璃|窗户|雨棚|遮阳棚|架子|空调外机|花盆|树枝|枝丫|枝桠|灯杆|篮筐"
    r"|脚手架|瓷砖|外墙|树杈|支架|热水器|秋千|路灯杆|电线杆)"
)

CATEGORY_CUES: dict[str, tuple[Cue, ...]] = {
    "safety_hazard": cues(
        (
            r"松动|松脱|松了|摇摇欲坠|晃得|晃晃悠悠|一晃一晃|风一吹就晃|晃动|摇晃|摇下摇下|摇来摇去|晃来晃去",
            2,
        ),
        (r"掉下来|坠落|要掉|会掉|砸下来|砸到人|砸人|砸伤|伤人|摔人|绊倒人|要倒|快倒|倒下来", 2.5),
        (_FALLING_THING + r".{0,12}(松|晃|掉|吊|挂|歪|倒|塌|断|碎|翘|刮)", 2),
        (r"(挂在|吊在)(半空|框上|那里|上面|边上)", 1.5),
        (r"(树|树枝|枝丫|电线杆|杆子|灯杆|围栏).{0,6}(倒了|倒下|压在|横在)", 2.5),
        (r"电线|漏电|裸露|火花|冒火|冒烟|烧焦|起火|着火了|失火|爆炸|燃气|煤气|天然气", 2.5),
        (
            r"(井盖|盖子|盖板|化粪池盖|窨井|下水道盖).{0,6}(没|不见|丢|缺|破|碎|翘|掀|坏|松|裂|塌|移位|拿走|偷|被拿)|没有?井盖",
            3,
        ),
        (r"钉子.{0,4}露|露.{0,4}钉子|玻璃碴|尖的", 2.5),
        (
            r"(墙|围墙|雨棚|棚|脚手架|天花板|房子|屋顶|阳台).{0,8}(塌|裂|鼓起|倒塌)|要塌|会塌|怕是要塌",
            3,
        ),
        (r"(电瓶车|电动车|电车|插线板|飞线|拉线).{0,16}充电|充电.{0,10}(楼道|楼梯|电线|插线板)", 3),
        (r"楼道.{0,16}消防通道|消防通道.{0,8}(堆|占)|堆.{0,16}消防通道", 2),
        (r"危险|隐患|安全|不安全|要出事|出人命", 1.5),
        (r"(好|太|很|蛮|非常|特别|真|超)危险", 2),
        (
            r"(下面|底下|下头)(就|都)?是.{0,3}(江|河|湖|水|涌|人行道|马路|步道|路|人|学生|小孩|行人|车)",
            1.5,
        ),
        (r"(容易|会|要|差点|随时).{0,4}(跌|掉|摔|滑)(落|下|进|入|倒)", 2),
        (r"漏油|滴油|汽油味|柴油味|燃油", 2.5),
        (r"高空抛物|(楼上|窗|阳台).{0,8}(往下|朝下)?(丢|扔|抛|泼)|差一点就?砸", 3),
        (r"(线|电线).{0,6}(看得到|露出|外露|裸露)|配电箱|电箱|电表箱", 2.5),
        (r"烧起来|火灾|灭火器|着火|浓烟|好大烟|大烟|烧东西|烧垃圾", 2),
        (
            r"\b(?<!not )(?<!not very )(hanging loose|loose|could fall|might fall|fall on|falling"
            r"|collapsed?"
            r"|exposed wires?|sparks?|smoke|smoking|gas leak|fire hazard|dangerous|danger"
            r"|sticking out|sharp edges?|could (hurt|injure)|get hurt|thrown from"
            r"|open manhole|missing (manhole )?cover|manhole)\b"
            r"|smells? (of|like) gas|gas smell",
            2.5,
        ),
    ),
    "facility_damage": cues(
        (
            r"坏了|坏掉|坏的|损坏|故障|失灵|不亮|不灵|没反应|抬不起来|关不上|关不拢|打不开|锁不上|停运|停用"
            r"|不制冷|不出水|没冷气|冷气也?不够",
            2,
        ),
        (
            r"(路灯|楼道灯|灯|电梯|门禁|道闸|闸|快递柜|长椅|座椅|椅子|栏杆|护栏|扶手|水管|管子|"
            r"消防栓|铁丝网|围栏|健身器材|滑梯|秋千|屏幕|单元门|大门|水龙头|监控|充电桩|排水沟|下水道|"
            r"空调|门锁|门|窗|水箱|水泵|宣传栏|座位|台阶|地砖|长凳|凳|读卡器|刷卡器|红绿灯|信号灯)"
            r".{0,12}(坏|黑|断|破|漏|堵|歪|不亮|闪|没反应|裂|锈|松|掉|没了|不见了|拱起|翘起|刷不进|刷不开)",
            2.5,
        ),
        (r"(灯|路灯).{0,6}(全黑|都黑|黑了|黑漆漆|不亮|闪)|黑漆漆|摸黑", 2),
        (r"电梯.{0,8}(停|坏|困|故障|卡)", 3),
        (r"漏水|渗水|冒水|滴水|爆管|积水|淹了|水一直", 2),
        (r"(路面|地面|马路|路上|条路|路).{0,3}(塌|坑|陷|裂)|大坑|大洞|坑洼|塌陷|陷进去|拱起", 3),
        (r"破了个?洞|断了一根|碎了", 1.5),
        (
            r"\b(broken|leak(s|ing)?|pothole|not working|out of order|flicker(s|ing)?|grinding"
            r"|stops between|(doesn't|does not|won't|can't|hasn't|has not|isn't|is not|didn't)"
            r" (lock|close|open|work|worked|working)|dead for)\b"
            r"|\b(light|lamp)s?\b.{0,60}\b(out|dark|dead)\b|went.{0,12}dark|pitch (black|dark)",
            2.5,
        ),
        (
            r"\b(street ?lights?|street ?lamps?|lifts?|elevators?|door|gate|fence|railing|bench)\b",
            1,
        ),
    ),
    "sanitation": cues(
        (r"垃圾|废品|纸壳|竹签|一次性碗|餐盒", 1.5),
        (r"(满|溢)出来|溢出|冒尖|没人收|没人清|没人扫|(垃圾|桶).{0,6}没人?倒|清运", 2),
        (r"臭|异味|味道好冲|股味|恶臭|苍蝇|老鼠|蟑螂|蚊子", 1.5),
        (
            r"污水|黑水|脏水|臭水|化粪池|粪水|粪|狗屎|屎|尿|呕吐|下水井|污水井|死(老鼠|猫|狗|鸟)",
            2.5,
        ),
        (r"流浪(猫|狗)", 1.5),
        (
            r"\b(garbage|trash|rubbish|litter|waste|dumped|stinks?|smelly|sewage|overflowing|rats?"
            r"|pee|urine|vomit|feces|dog (poo|poop|mess))\b",
            2.5,
        ),
        (r"\b(dumped|pile of|fly-?tipping)\b", 1),
    ),
    "traffic_order": cues(
        (
            r"乱停|违停|违章停车|停到|停在.{0,6}(盲道|人行道|路上|门口|消防|通道)|堵门|把门堵|占道",
            3,
        ),
        (r"消防通道.{0,16}(车|停|堵)|(车|停).{0,16}消防通道", 3),
        (
            r"(货车|私家车|suv|小车|汽车|电动车|单车|共享单车|三轮车|面包车|卡车).{0,16}(堵|占|停|挡|倒了)",
            2,
        ),
        (
            r"(摊子|摊位|摊|桌子|沙子|砖头|建材|材料).{0,12}(摆到|摆在|占|堆).{0,10}(路|道|街|人行道|盲道|马路)",
            3,
        ),
        (r"占了.{0,4}(大半边|半边|整条|路)|路.{0,4}占|路.{0,3}(都|全)?堵|人行道.{0,6}占|盲道", 2),
        (r"堵死|堵车|塞车|交通堵塞|大堵", 2),
        (r"摆摊|占道经营|横在.{0,4}(人行道|路|马路|路口|门口|弄堂)|挤到马路", 2.5),
        (r"堵得|进不去|出不来|过不去|进不了站|入不到|进不到|挡住|卸货", 1.5),
        (r"绕.{0,4}走|绕行|绕道", 1),
        (r"湘[a-z]|车牌", 1),
        (
            r"\b(blocking|blocked|parked|parking on|double.?parked|occupy|occupied|traffic jam)\b",
            2.5,
        ),
        (
            r"\b(bricks|cement|sand|rubble|building materials?)\b.{0,40}\b(road|lane|street)\b|"
            r"\b(bikes?|cars?|scooters?|vehicles?|stalls?|trucks?)\b.{0,30}\b(everywhere|on the "
            r"(pavement|sidewalk|footpath))\b|\bwalk on the road\b",
            2.5,
        ),
    ),
    "noise_nuisance": cues(
        (r"噪音|扰民|吵醒|太吵|好吵|吵得|吵死|睡不着|觉都没得睡|没法睡|吵闹|喧哗|吆五喝六|划拳", 3),
        (r"(搞|闹|吵|唱|喝|跳)到.{0,3}(一|两|三|十|凌晨|半夜|\d)", 1.5),
        (r"大声|声音好大|声音很大|震天响|打桩|震得", 2),
        (
            r"音响|麦克风|唱歌|广场舞|电钻|打钻|冲击钻|施工|装修.{0,10}(响|吵|钻|敲)|拍球声|大喊大叫|喇叭",
            2,
        ),
        (
            r"(半夜|深夜|凌晨|晚上|快\s*12点|十二点|11点|十一点|12点).{0,20}(还在|还有|打|吵|响|装修|施工)",
            1.5,
        ),
        (
            r"\b(noise|noisy|loud|drilling|music|karaoke|shouting|barking)\b"
            r"|construction.{0,20}night|\d{1,2}(:\d\d)?\s*pm",
            2.5,
        ),
    ),
    "greenery": cues(
        (r"修剪|剪一下|剪下|剪掉|砍一下|枝丫.{0,10}(伸|长|挡)|伸到.{0,6}(阳台|窗)", 3),
        (r"(草|杂草|草坪|绿化带|花坛|绿化|草地).{0,12}(长|毁|挖|踩|死|枯|秃|高|乱)", 2.5),
        (r"绿化带|草坪|花坛|树木|歪脖子树|樟树|大树", 1.5),
        (r"树.{0,8}(歪|斜|倒伏|枯死|死了|虫)", 1.5),
        (r"(长|生)(到|得).{0,6}(出来|挡|好高|太高|太密)", 2.5),
        (r"挖了种菜|种菜", 2),
        (r"浇水|枯黄|枯了|叶子黄|没人打理|没人管理", 1.5),
        (r"\b(trees?|branch(es)?|prune|pruning|overgrown|lawn|grass|flower ?beds?|hedges?)\b", 2),
    ),
    "vulnerable_person": cues(
        (
            r"(老人|长者|爹爹|奶奶|爷爷|婆婆|阿婆|阿伯|阿公|阿姨|大爷|伯伯|老太|残疾|孕妇).{0,20}"
            r"(一个人住|独居|摔|晕倒|倒在|跌倒|起不来|讲不清|不认得路|中风|中暑|"
            r"没人接|联系不上|几天没|没出门|不舒服|走丢|迷路|糊涂|腿脚不|行动不便|瘫|生病)",
            3,
        ),
        (r"一个人住|独居|空巢|孤寡", 2),
        (
            r"(好几天|几天|两天|三天).{0,4}(没看到|没见到|没见|没出门|没下楼)"
            r"|敲门.{0,4}没人(应|开)|中暑",
            3,
        ),
        (
            r"晕倒|昏倒|昏迷|摔了一跤|摔倒|跌倒|起不来|倒在地上|躺在|不省人事|打了120|叫了120|救护车",
            3,
        ),
        (
            r"(小孩|小朋友|孩子|娃娃|儿童).{0,12}(走丢|找不到|哭|一个人)|找不到(爸爸|妈妈|家人)|走失",
            3,
        ),
        (r"困难|交不上|住院|帮一把|低保|生活困难|没饭吃|没什么收入|没收入|补助|救助", 2),
        (r"电话.{0,6}没人接|打.{0,6}电话.{0,6}(没人接|不接)|上门看", 1.5),
        (
            r"\b(lying|unresponsive|not responding|isn't responding|collapsed|fainted|fallen"
            r"|lost child|alone for days|need help|not seen for)\b",
            2.5,
        ),
        (r"\b(elderly|old (man|woman|lady)|lives alone|disabled)\b", 1),
    ),
    "neighbourhood_dispute": cues(
        (r"(楼上|楼下|隔壁|邻居|对门).{0,20}(漏水|渗水|漏了|吵|占|堆|装冇人|不开门|不理)", 3),
        (r"(滴|渗|漏|流)(在|到|进)(我|我们|我家|家里).{0,6}(家|屋|晒台|阳台|天花板|窗)", 3),
        (r"吵起来|吵架|打架|推搡|纠纷|动手|骂起来|调解|协调", 3),
        (r"(讲|说)(了|过).{0,8}(骂人|跟我吵|吵|凶|不理|不听|不改)|还骂人", 3),
        (r"堆在.{0,4}(公共)?(楼道|过道|走廊)", 2),
        (r"(有户人家|那户人家|一户人家|那家人|两家人)", 1.5),
        (r"门口堆满|过道.{0,6}(堆|占|侧着)|公共过道|楼道.{0,6}堆满", 2),
        (r"(有户人家|那户|一户|邻居|楼上|楼下|对门).{0,10}(门口|过道|楼道|走廊).{0,4}(堆|占)", 3),
        (
            r"\bneighbou?rs?\b.{0,20}(leak|fight|quarrel|block)|\b(dispute|quarrel)"
            r"|\b(household|neighbou?rs?)\b.{0,40}\b(piling|blocking|corridor|stairwell)",
            2.5,
        ),
    ),
    "other": cues(
        (
            r"收费|收钱|收.{0,2}\d+.{0,2}(块|元)|乱收|合理不|不合理|(停车费|物业费|管理费|租金).{0,6}涨|涨价",
            2,
        ),
        (
            r"(装|安装|加装|增设|添|配)(几|一|两)?(个|张|台|块|盏|组)?.{0,4}"
            r"(快递柜|路灯|灯|监控|摄像头|充电桩|垃圾桶|座椅|长凳|凳|椅|减速带|栏杆|扶手)",
            2,
        ),
        (r"小偷|偷车|偷东西|被偷|可疑|陌生人|巡逻|治安", 2),
        (r"没水|停水|停电|饮水机|桶装水|没人换", 1.5),
        (r"(路牌|指示牌|标识|标牌|门牌).{0,8}(错|没了|旧|掉|看不清)", 2),
    ),
}

REQUEST = re.compile(
    r"麻烦.{0,8}(看|处理|来|安排|协调|管|清|修|派|巡|问|上门)|请.{0,6}(处理|安排|来|看|修|清)"
    r"|能不能|能否|帮忙|帮下忙|管一?管|管一下|来人|派人|安排人|找人|快来|报修|处理一下"
    r"|网格员|社区|物业.{0,4}(管|看|处理|来)|有没有人管|没人管|谁来管|(哪个|谁)出来解释|给个说法"
    r"|反映|投诉|举报|修下|处理下|管下|找人来"
    r"|could (someone|you|anyone)|can (someone|you|anyone)|please|take a look|should check"
    r"|need(s)? help|needs? (fixing|attention)|someone should|look into"
)
COMPLAINT = re.compile(
    r"又|还是|好几天|两天|三天|几天|一直|没人|没见人|老是|总是|(?<![今昨明前后每])天天|每天|一整|全部|一大|好多|越来越"
    r"|for days|again|still|every (day|night)|for an hour"
)
URGENT = re.compile(
    r"紧急|快点|快来|快派|赶紧|赶快|马上(来|派|处理|安排|到|过来|看)|速来|立刻|立即|十万火急|被困|困了|困在"
    r"|urgent|asap|emergency|right now|immediately|hurry|come quick"
)
NOT_URGENT = re.compile(
    r"不急|不着急|不紧急|没大事|没什么大事|没有大碍|不是(很|蛮|太|特别|好)?急|有空|有时间再"
    r"|not urgent|no rush|no hurry"
)
ATTENTION_ONLY = re.compile(
    r"^(?=\S)(你们|大家|快)*(看看|看一下|看下|瞧瞧|看)?(这里|这个|这儿|这)?[!！。.?？~～…\s]*$"
    r"|^(look|look here|see this|this|check this( out)?)[!.?\s]*$"
)

AD = re.compile(
    r"【[^】]{0,8}(服务|优选|兼职|招聘|广告|便民)[^】]{0,4}】|加v|加微|微信号|日赚|高薪|兼职|刷单"
    r"|价格实惠|上门服务|随叫随到|优惠|折起|无门槛|领券|代办|贷款|公安备案"
    r"|1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}"
)
ALREADY_FIXED = re.compile(
    r"(已经|已|都|就)(修好|盖好|弄好|处理好|清理|清走|解决|恢复|答应|拆|换好|补好|搞定)(?![^，。！？,.!?]{0,2}[不没])"
    r"|修好了|盖好了|弄好了|解决了|恢复正常|没事了|已经好了"
    r"|(has|have|was|were) been (fixed|repaired|cleaned|resolved)|fixed now|all good now"
)
EXPLICIT_ASK = re.compile(
    r"麻烦|请.{0,6}(处理|来|修|看)|赶紧|尽快|快点|快来|能不能|管一?管|\b(please|asap)\b"
)
RECURRENCE = re.compile(r"又(坏|漏|堵|来|有|满|不亮|停)|还是|再次|\b(again|still)\b")
ADDRESSES_COMMUNITY = re.compile(r"社区|网格员|物业")
PERSONAL_SEEKING = re.compile(
    r"推荐|谁会修|哪个晓得|有没有人晓得|有没有人知道|哪里可以|哪里能|哪家|靠谱的?师傅"
    r"|有没有人认识|(开锁|水电|维修|修车|疏通)师傅|哪里.{0,4}(修|换|买)|便宜点|联系我|必有重谢|重谢|捡到"
    r"|who (do|should) i (contact|call)"
    r"|recommend|anyone know where"
)
PERSONAL_OWNER = re.compile(
    r"我(家|的|屋里)?(的)?(部|个|架|只|台)?(电动车|电瓶|车|手机|钱包|钥匙|猫|狗|马桶|水管|空调|冰箱|电脑"
    r"|热水器|宠物)|我家|我的|家里|家中|屋里"
    r"|\b(my|our) (apartment|flat|home|room|bedroom|kitchen|bathroom|bike|phone|car)\b"
)
LOST_ITEM = re.compile(r"掉了个|丢了|跑丢|走丢了|不见了.{0,6}联系我|捡到")
PERSON_AT_RISK = re.compile(
    r"老人|长者|爹爹|奶奶|爷爷|阿婆|阿伯|小孩|小朋友|孩子|阿姨|大爷|\b(elderly|child|kid)"
)
QUESTION = re.compile(
    r"[?？]|吗|呢|么子|什么|几点|哪天|哪里|怎么|是不是|有没有|\b(when|where|what|how)\b"
)
EVENT_TALK = re.compile(
    r"电影|理发|运动会|夜话|活动(?!中心|室)|讲座|报名|比赛|拔河|签到|开始了|几点开始"
    r"|\b(sign up|event|movie|haircut)\b"
)


def score(text: str, table: Sequence[Cue]) -> float:
    """Sum of the weights of the cues found in the text, each cue counted once."""
    return sum(weight for pattern, weight in table if pattern.search(text))
