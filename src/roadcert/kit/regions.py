"""Administrative division codes (行政区划代码, GB/T 2260): the part of the table roadcert needs.

The codes follow the GB/T 2260 list published by the Ministry of Civil Affairs (民政部) as of
2023 (Jilin's county level has not changed since 公主岭市 moved from 220381 under 四平 to 220184
under 长春 in 2020). The table holds:

- all 34 provincial-level units, including 71 台湾, 81 香港 and 82 澳门;
- every prefecture-level unit of 山西 (14), 辽宁 (21) and 吉林 (22);
- every county-level unit of 吉林, without the ``xx01`` 市辖区 placeholders and without the
  development-zone codes (``220171`` …) that the ministry lists but GB/T 2260 does not define;
- the codes that appear in the conformance material (430000, 330105, 370000, 350100, 110105) and
  their parents.

It is deliberately partial outside Jilin: a code missing here is "not known to roadcert", not
necessarily wrong. Extend the table rather than loosening :func:`check`.
"""

from __future__ import annotations

import re

from roadcert.kit.checks import Check

_CODE = re.compile(r"[0-9]{6}")

_PROVINCES: dict[str, tuple[str, str]] = {
    # code: (name, one-character abbreviation 简称)
    "110000": ("北京市", "京"),
    "120000": ("天津市", "津"),
    "130000": ("河北省", "冀"),
    "140000": ("山西省", "晋"),
    "150000": ("内蒙古自治区", "蒙"),
    "210000": ("辽宁省", "辽"),
    "220000": ("吉林省", "吉"),
    "230000": ("黑龙江省", "黑"),
    "310000": ("上海市", "沪"),
    "320000": ("江苏省", "苏"),
    "330000": ("浙江省", "浙"),
    "340000": ("安徽省", "皖"),
    "350000": ("福建省", "闽"),
    "360000": ("江西省", "赣"),
    "370000": ("山东省", "鲁"),
    "410000": ("河南省", "豫"),
    "420000": ("湖北省", "鄂"),
    "430000": ("湖南省", "湘"),
    "440000": ("广东省", "粤"),
    "450000": ("广西壮族自治区", "桂"),
    "460000": ("海南省", "琼"),
    "500000": ("重庆市", "渝"),
    "510000": ("四川省", "川"),
    "520000": ("贵州省", "贵"),
    "530000": ("云南省", "云"),
    "540000": ("西藏自治区", "藏"),
    "610000": ("陕西省", "陕"),
    "620000": ("甘肃省", "甘"),
    "630000": ("青海省", "青"),
    "640000": ("宁夏回族自治区", "宁"),
    "650000": ("新疆维吾尔自治区", "新"),
    "710000": ("台湾省", "台"),
    "810000": ("香港特别行政区", "港"),
    "820000": ("澳门特别行政区", "澳"),
}

_BELOW_PROVINCE: dict[str, str] = {
    # 北京 (conformance: 110105)
    "110100": "市辖区",
    "110105": "朝阳区",
    # 山西 prefecture level
    "140100": "太原市",
    "140200": "大同市",
    "140300": "阳泉市",
    "140400": "长治市",
    "140500": "晋城市",
    "140600": "朔州市",
    "140700": "晋中市",
    "140800": "运城市",
    "140900": "忻州市",
    "141000": "临汾市",
    "141100": "吕梁市",
    # 辽宁 prefecture level
    "210100": "沈阳市",
    "210200": "大连市",
    "210300": "鞍山市",
    "210400": "抚顺市",
    "210500": "本溪市",
    "210600": "丹东市",
    "210700": "锦州市",
    "210800": "营口市",
    "210900": "阜新市",
    "211000": "辽阳市",
    "211100": "盘锦市",
    "211200": "铁岭市",
    "211300": "朝阳市",
    "211400": "葫芦岛市",
    # 吉林: 长春市
    "220100": "长春市",
    "220102": "南关区",
    "220103": "宽城区",
    "220104": "朝阳区",
    "220105": "二道区",
    "220106": "绿园区",
    "220112": "双阳区",
    "220113": "九台区",
    "220122": "农安县",
    "220182": "榆树市",
    "220183": "德惠市",
    "220184": "公主岭市",
    # 吉林: 吉林市
    "220200": "吉林市",
    "220202": "昌邑区",
    "220203": "龙潭区",
    "220204": "船营区",
    "220211": "丰满区",
    "220221": "永吉县",
    "220281": "蛟河市",
    "220282": "桦甸市",
    "220283": "舒兰市",
    "220284": "磐石市",
    # 吉林: 四平市
    "220300": "四平市",
    "220302": "铁西区",
    "220303": "铁东区",
    "220322": "梨树县",
    "220323": "伊通满族自治县",
    "220382": "双辽市",
    # 吉林: 辽源市
    "220400": "辽源市",
    "220402": "龙山区",
    "220403": "西安区",
    "220421": "东丰县",
    "220422": "东辽县",
    # 吉林: 通化市
    "220500": "通化市",
    "220502": "东昌区",
    "220503": "二道江区",
    "220521": "通化县",
    "220523": "辉南县",
    "220524": "柳河县",
    "220581": "梅河口市",
    "220582": "集安市",
    # 吉林: 白山市
    "220600": "白山市",
    "220602": "浑江区",
    "220605": "江源区",
    "220621": "抚松县",
    "220622": "靖宇县",
    "220623": "长白朝鲜族自治县",
    "220681": "临江市",
    # 吉林: 松原市
    "220700": "松原市",
    "220702": "宁江区",
    "220721": "前郭尔罗斯蒙古族自治县",
    "220722": "长岭县",
    "220723": "乾安县",
    "220781": "扶余市",
    # 吉林: 白城市
    "220800": "白城市",
    "220802": "洮北区",
    "220821": "镇赉县",
    "220822": "通榆县",
    "220881": "洮南市",
    "220882": "大安市",
    # 吉林: 延边朝鲜族自治州
    "222400": "延边朝鲜族自治州",
    "222401": "延吉市",
    "222402": "图们市",
    "222403": "敦化市",
    "222404": "珲春市",
    "222405": "龙井市",
    "222406": "和龙市",
    "222424": "汪清县",
    "222426": "安图县",
    # 浙江 (conformance: 330105)
    "330100": "杭州市",
    "330105": "拱墅区",
    # 福建 (conformance: 350100)
    "350100": "福州市",
}

_NAMES: dict[str, str] = {code: name for code, (name, _) in _PROVINCES.items()} | _BELOW_PROVINCE

PROVINCE_ABBREVIATIONS: dict[str, str] = {code: abbr for code, (_, abbr) in _PROVINCES.items()}
"""Provincial-level code (``"220000"``) → one-character abbreviation (简称, ``"吉"``); all 34."""

_PROVINCE_BY_ABBREVIATION: dict[str, str] = {
    abbr: code for code, abbr in PROVINCE_ABBREVIATIONS.items()
}

CITY_SHORT_NAMES: dict[str, str] = {
    "220100": "长",
    "220200": "吉",
    "220300": "四",
    "220400": "辽",
    "220500": "通",
    "220600": "白",
    "220700": "松",
    # 白城 cannot take 白 (白山 has it); 城 is our choice, not an observed practice.
    "220800": "城",
    "222400": "延",
}
"""Prefecture code → short name used in certificate numbers (市简称, ``吉交运管许可松字…``).

Only Jilin so far; each short name is unique within its province.
"""


def _require_code(code: str) -> None:
    if not _CODE.fullmatch(code):
        raise ValueError(f"行政区划代码应为 6 位数字：{code!r}")


def name_of(code: str) -> str | None:
    """The name of a division (``"220702"`` → ``"宁江区"``), or None if the table lacks it."""
    return _NAMES.get(code)


def is_known(code: str) -> bool:
    """Whether the code is in roadcert's table."""
    return code in _NAMES


def province_of(code: str) -> str:
    """The provincial-level code (``"xx0000"``) a 6-digit code belongs to.

    Raises ``ValueError`` if the code is not six digits; it does not require the code to be known.
    """
    _require_code(code)
    return code[:2] + "0000"


def provinces() -> list[str]:
    """All 34 provincial-level codes, in order."""
    return sorted(_PROVINCES)


def prefectures(province_code: str) -> list[str]:
    """The prefecture-level codes known under a provincial-level code, in order."""
    _require_code(province_code)
    if not province_code.endswith("0000"):
        raise ValueError(f"不是省级行政区划代码：{province_code}")
    prefix = province_code[:2]
    return sorted(
        code for code in _BELOW_PROVINCE if code.startswith(prefix) and code.endswith("00")
    )


def counties(prefecture_code: str) -> list[str]:
    """The county-level codes known under a prefecture-level code, in order."""
    _require_code(prefecture_code)
    if not prefecture_code.endswith("00") or prefecture_code.endswith("0000"):
        raise ValueError(f"不是地级行政区划代码：{prefecture_code}")
    prefix = prefecture_code[:4]
    return sorted(
        code for code in _BELOW_PROVINCE if code.startswith(prefix) and not code.endswith("00")
    )


def province_of_abbreviation(ch: str) -> str:
    """The provincial-level code for a one-character abbreviation (``"吉"`` → ``"220000"``).

    Raises ``ValueError`` for an unknown abbreviation.
    """
    try:
        return _PROVINCE_BY_ABBREVIATION[ch]
    except KeyError:
        raise ValueError(f"未知的省级简称：{ch!r}") from None


def check(code: str) -> Check:
    """Check a division code against the table.

    Rules: ``region.format`` (not six digits), ``region.province`` (the first two digits are no
    provincial-level unit), ``region.unknown`` (not in roadcert's table).
    """
    if not _CODE.fullmatch(code):
        return Check.invalid("region.format", f"行政区划代码应为 6 位数字，实为 {code!r}")
    if code[:2] + "0000" not in _PROVINCES:
        return Check.invalid(
            "region.province", f"行政区划代码 {code} 的前两位 {code[:2]} 不是省级代码"
        )
    if code not in _NAMES:
        return Check.invalid("region.unknown", f"行政区划代码 {code} 不在本系统的行政区划表中")
    return Check.valid("region", _NAMES[code])
