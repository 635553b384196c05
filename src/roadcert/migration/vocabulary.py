"""Word lists for generated ledgers: names, places, company words and vehicle models.

One copy serves the demo province (``roadcert demo``), the synthetic legacy export
(``roadcert synth``) and the benchmarks, so their data read alike. The demo draws from these
lists with a seeded generator: changing a list (even its order) changes the demo province of a
seed, so extend the ``SYNTH_*`` lists instead, which only the synthetic export uses.
"""

from __future__ import annotations

#: Common surnames (姓), drawn one character at a time.
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐"
    "冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎金"
)

#: Characters of given names (名), one or two drawn per person.
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华"
    "玉兰萍鹏辉建国志强海燕春梅红梅德明宏亮振华立新国庆"
)

#: Words of company names (字号), two drawn per firm.
FIRM_WORDS = [
    "宏达",
    "长运",
    "顺通",
    "吉运",
    "北方",
    "恒信",
    "安达",
    "腾飞",
    "鑫源",
    "远航",
    "金桥",
    "通达",
    "瑞丰",
    "松江",
    "华运",
    "东盛",
    "正阳",
    "广源",
    "兴隆",
    "盛世",
]

#: Street names for addresses (经营地址, 住址).
ROADS = [
    "人民大街",
    "解放大路",
    "自由大路",
    "亚泰大街",
    "长白路",
    "松江路",
    "延安大街",
    "卫星路",
    "建设街",
    "富民大街",
]

#: 厂牌型号 of coaches, trucks, tankers (dangerous goods) and cars (ride-hailing).
BUS_MODELS = ["宇通牌ZK6122H", "金龙牌XMQ6127", "中通牌LCK6125", "一汽牌CA6120", "海格牌KLQ6125"]
TRUCK_MODELS = ["解放牌CA1250P66", "东风牌DFH1180", "重汽牌ZZ1257", "陕汽牌SX1250", "福田牌BJ1186"]
TANK_MODELS = ["解放牌CA5250GYY", "东风牌DFH5250GYY", "重汽牌ZZ5257GFL"]
CAR_MODELS = ["比亚迪牌BYD7005BEV", "红旗牌CA7002BEV", "吉利牌MR7002BEV"]

#: More company words for the synthetic export, whose firms number in the hundred thousands.
SYNTH_FIRM_WORDS = [
    *FIRM_WORDS,
    "万通",
    "聚鑫",
    "天宇",
    "永顺",
    "德利",
    "祥和",
    "汇通",
    "昌盛",
    "富达",
    "鸿运",
    "金马",
    "长白山",
    "嘉禾",
    "众诚",
    "启航",
    "佳运",
    "宏图",
    "新天地",
    "凯达",
    "伟业",
]

#: More streets for the synthetic export.
SYNTH_ROADS = [
    *ROADS,
    "西安大路",
    "南湖大路",
    "繁荣路",
    "东风大街",
    "临河街",
    "春城大街",
    "北京大街",
    "新发路",
    "和平大路",
    "工农大路",
]

__all__ = [
    "BUS_MODELS",
    "CAR_MODELS",
    "FIRM_WORDS",
    "GIVEN",
    "ROADS",
    "SURNAMES",
    "SYNTH_FIRM_WORDS",
    "SYNTH_ROADS",
    "TANK_MODELS",
    "TRUCK_MODELS",
]
