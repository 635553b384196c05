"""Code tables (代码表) of the road-transport ledger, as enumerations carrying Chinese labels.

Every table is a :class:`CodeEnum`: the member's value is the official code (stored in the
database and in e-cert metadata), ``.label`` is the Chinese text shown to people. Sources are
given per table; where the standards digest (``standards.md`` in the shared notes) marks a list
as provisional, so is the table here.
"""

from __future__ import annotations

from enum import StrEnum, unique
from typing import ClassVar, Self, cast

__all__ = [
    "BusinessScope",
    "CodeEnum",
    "DrivingClass",
    "EcertStatusCode",
    "EconomicType",
    "HolderCodeType",
    "OperatorStatus",
    "PlateColor",
    "QualificationCategory",
    "ReviewStatus",
    "Sex",
    "TechnicalGrade",
    "VehicleStatus",
    "VehicleType",
]


class CodeEnum(StrEnum):
    """Base of every code table: members are declared as ``NAME = "code", "中文标签"``.

    A member compares equal to its code (``PlateColor.YELLOW == "2"``) and carries ``.label``.
    Subclasses name their table with a class keyword,
    ``class PlateColor(CodeEnum, table="车牌颜色")``, so that errors can say which table
    rejected a code.
    """

    label: str
    table_name: ClassVar[str]

    # ``label`` defaults to "" only so that type checkers accept the one-argument lookup
    # ``PlateColor("2")``; a member declared without a label is refused when the class is built.
    def __new__(cls, code: str, label: str = "") -> Self:
        if not label:
            raise TypeError(f"代码 {code!r} 缺少中文标签")
        member = str.__new__(cls, code)
        member._value_ = code
        member.label = label
        return member

    def __init_subclass__(cls, *, table: str, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.table_name = table

    @classmethod
    def from_code(cls, code: str) -> Self:
        """Return the member whose code is ``code``; raise ``ValueError`` naming the table."""
        # The value map directly: ``cls(code)`` costs a microsecond more, and the 不规范数据
        # rules and faces look codes up millions of times in a bulk run.
        member = cls._value2member_map_.get(code) if isinstance(code, str) else None
        if member is None:
            raise ValueError(f"{cls.table_name}代码无效：{code!r} 不在代码表中")
        return cast(Self, member)

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """Return ``(code, label)`` pairs in declaration order, for forms and select boxes."""
        return [(member.value, member.label) for member in cls]


# Classes of the UN model regulations (GB 6944) that are split into divisions (项); the other
# classes (3, 7, 8, 9) are licensed as a whole.
_CLASSES_WITH_DIVISIONS = frozenset("12456")


@unique
class BusinessScope(CodeEnum, table="经营范围"):
    """经营范围 business scope: 5-digit hierarchical code (JT/T 415 family, provisional).

    Two digits for the trade (01 passenger, 02 freight, 03 dangerous goods, 04 repair), one for
    the branch, two for the item; ``xx000`` and ``xxx00`` are group codes. Dangerous goods use
    ``03Mxy``: M = 1 operating (经营性) or
    2 non-operating (非经营性), x = UN class, y = division. Classes without divisions use
    y = 1, except class 7 which uses y = 0 — that irregularity is how the codes are found in
    deployed platforms (``standards.md`` §2.1), not a typo here.
    """

    # 道路旅客运输 passenger transport
    PASSENGER = "01000", "道路旅客运输"
    SCHEDULED_BUS = "01100", "班车客运"
    SCHEDULED_BUS_COUNTY = "01101", "县内班车客运"
    SCHEDULED_BUS_INTER_COUNTY = "01102", "县际班车客运"
    SCHEDULED_BUS_INTER_CITY = "01103", "市际班车客运"
    SCHEDULED_BUS_INTER_PROVINCE = "01104", "省际班车客运"
    CHARTER = "01200", "包车客运"
    CHARTER_COUNTY = "01201", "县内包车客运"
    CHARTER_INTER_COUNTY = "01202", "县际包车客运"
    CHARTER_INTER_CITY = "01203", "市际包车客运"
    CHARTER_INTER_PROVINCE = "01204", "省际包车客运"
    FIXED_ROUTE_TOURISM = "01300", "定线旅游"
    FIXED_ROUTE_TOURISM_COUNTY = "01301", "县内定线旅游"
    FIXED_ROUTE_TOURISM_INTER_COUNTY = "01302", "县际定线旅游"
    FIXED_ROUTE_TOURISM_INTER_CITY = "01303", "市际定线旅游"
    FIXED_ROUTE_TOURISM_INTER_PROVINCE = "01304", "省际定线旅游"
    NON_FIXED_ROUTE_TOURISM = "01400", "非定线旅游"
    NON_FIXED_ROUTE_TOURISM_COUNTY = "01401", "县内非定线旅游"
    NON_FIXED_ROUTE_TOURISM_INTER_COUNTY = "01402", "县际非定线旅游"
    NON_FIXED_ROUTE_TOURISM_INTER_CITY = "01403", "市际非定线旅游"
    NON_FIXED_ROUTE_TOURISM_INTER_PROVINCE = "01404", "省际非定线旅游"

    # 道路普通货运 ordinary freight. The group 02100 and its only leaf 02101 share one name in
    # the source list; the leaf keeps it because leaves are what the face prints.
    FREIGHT = "02000", "道路普通货运"
    GENERAL_CARGO_GROUP = "02100", "普通货物运输"
    GENERAL_CARGO = "02101", "道路普通货物运输"
    SPECIALISED_CARGO = "02200", "货物专用运输"
    SPECIALISED_CARGO_CONTAINER = "02201", "货物专用运输（集装箱）"
    SPECIALISED_CARGO_REFRIGERATED = "02202", "货物专用运输（冷藏保鲜设备）"
    SPECIALISED_CARGO_TANK = "02203", "货物专用运输（罐式容器）"
    LARGE_OBJECTS = "02300", "大型物件运输"
    LARGE_OBJECTS_CLASS_1 = "02301", "大型物件运输（一类）"
    LARGE_OBJECTS_CLASS_2 = "02302", "大型物件运输（二类）"
    LARGE_OBJECTS_CLASS_3 = "02303", "大型物件运输（三类）"
    LARGE_OBJECTS_CLASS_4 = "02304", "大型物件运输（四类）"

    # 道路危险货物运输 dangerous goods
    DANGEROUS = "03000", "道路危险货物运输"
    DANGEROUS_OPERATING = "03100", "经营性道路危险货物运输"
    DANGEROUS_OPERATING_1_1 = "03111", "经营性危险货物运输（1类1项）"
    DANGEROUS_OPERATING_1_2 = "03112", "经营性危险货物运输（1类2项）"
    DANGEROUS_OPERATING_1_3 = "03113", "经营性危险货物运输（1类3项）"
    DANGEROUS_OPERATING_1_4 = "03114", "经营性危险货物运输（1类4项）"
    DANGEROUS_OPERATING_1_5 = "03115", "经营性危险货物运输（1类5项）"
    DANGEROUS_OPERATING_1_6 = "03116", "经营性危险货物运输（1类6项）"
    DANGEROUS_OPERATING_2_1 = "03121", "经营性危险货物运输（2类1项）"
    DANGEROUS_OPERATING_2_2 = "03122", "经营性危险货物运输（2类2项）"
    DANGEROUS_OPERATING_2_3 = "03123", "经营性危险货物运输（2类3项）"
    DANGEROUS_OPERATING_3 = "03131", "经营性危险货物运输（3类）"
    DANGEROUS_OPERATING_4_1 = "03141", "经营性危险货物运输（4类1项）"
    DANGEROUS_OPERATING_4_2 = "03142", "经营性危险货物运输（4类2项）"
    DANGEROUS_OPERATING_4_3 = "03143", "经营性危险货物运输（4类3项）"
    DANGEROUS_OPERATING_5_1 = "03151", "经营性危险货物运输（5类1项）"
    DANGEROUS_OPERATING_5_2 = "03152", "经营性危险货物运输（5类2项）"
    DANGEROUS_OPERATING_6_1 = "03161", "经营性危险货物运输（6类1项）"
    DANGEROUS_OPERATING_6_2 = "03162", "经营性危险货物运输（6类2项）"
    DANGEROUS_OPERATING_7 = "03170", "经营性危险货物运输（7类）"
    DANGEROUS_OPERATING_8 = "03181", "经营性危险货物运输（8类）"
    DANGEROUS_OPERATING_9 = "03191", "经营性危险货物运输（9类）"
    DANGEROUS_NON_OPERATING = "03200", "非经营性道路危险货物运输"
    DANGEROUS_NON_OPERATING_1_1 = "03211", "非经营性危险货物运输（1类1项）"
    DANGEROUS_NON_OPERATING_1_2 = "03212", "非经营性危险货物运输（1类2项）"
    DANGEROUS_NON_OPERATING_1_3 = "03213", "非经营性危险货物运输（1类3项）"
    DANGEROUS_NON_OPERATING_1_4 = "03214", "非经营性危险货物运输（1类4项）"
    DANGEROUS_NON_OPERATING_1_5 = "03215", "非经营性危险货物运输（1类5项）"
    DANGEROUS_NON_OPERATING_1_6 = "03216", "非经营性危险货物运输（1类6项）"
    DANGEROUS_NON_OPERATING_2_1 = "03221", "非经营性危险货物运输（2类1项）"
    DANGEROUS_NON_OPERATING_2_2 = "03222", "非经营性危险货物运输（2类2项）"
    DANGEROUS_NON_OPERATING_2_3 = "03223", "非经营性危险货物运输（2类3项）"
    DANGEROUS_NON_OPERATING_3 = "03231", "非经营性危险货物运输（3类）"
    DANGEROUS_NON_OPERATING_4_1 = "03241", "非经营性危险货物运输（4类1项）"
    DANGEROUS_NON_OPERATING_4_2 = "03242", "非经营性危险货物运输（4类2项）"
    DANGEROUS_NON_OPERATING_4_3 = "03243", "非经营性危险货物运输（4类3项）"
    DANGEROUS_NON_OPERATING_5_1 = "03251", "非经营性危险货物运输（5类1项）"
    DANGEROUS_NON_OPERATING_5_2 = "03252", "非经营性危险货物运输（5类2项）"
    DANGEROUS_NON_OPERATING_6_1 = "03261", "非经营性危险货物运输（6类1项）"
    DANGEROUS_NON_OPERATING_6_2 = "03262", "非经营性危险货物运输（6类2项）"
    DANGEROUS_NON_OPERATING_7 = "03270", "非经营性危险货物运输（7类）"
    DANGEROUS_NON_OPERATING_8 = "03281", "非经营性危险货物运输（8类）"
    DANGEROUS_NON_OPERATING_9 = "03291", "非经营性危险货物运输（9类）"

    # 机动车维修 vehicle repair: only the categories, not the long list of 三类 specialities
    # whose names vary between sources.
    REPAIR = "04000", "机动车维修"
    REPAIR_CLASS_1 = "04100", "一类汽车维修"
    REPAIR_CLASS_1_LARGE_BUS = "04101", "一类汽车维修（大中型客车维修）"
    REPAIR_CLASS_1_LARGE_TRUCK = "04102", "一类汽车维修（大中型货车维修）"
    REPAIR_CLASS_1_SMALL_VEHICLE = "04103", "一类汽车维修（小型车辆维修）"
    REPAIR_CLASS_1_DANGEROUS_GOODS_VEHICLE = "04104", "一类汽车维修（危险货物运输车辆维修）"
    REPAIR_CLASS_2 = "04200", "二类汽车维修"
    REPAIR_CLASS_2_LARGE_BUS = "04201", "二类汽车维修（大中型客车维修）"
    REPAIR_CLASS_2_LARGE_TRUCK = "04202", "二类汽车维修（大中型货车维修）"
    REPAIR_CLASS_2_SMALL_VEHICLE = "04203", "二类汽车维修（小型车辆维修）"
    REPAIR_CLASS_3 = "04300", "三类汽车维修"
    REPAIR_MOTORCYCLE_CLASS_1 = "04400", "一类摩托车维修"
    REPAIR_MOTORCYCLE_CLASS_2 = "04500", "二类摩托车维修"
    REPAIR_OTHER = "04600", "其他机动车维修"

    @property
    def is_passenger(self) -> bool:
        """True for 道路旅客运输 (01xxx)."""
        return self.value.startswith("01")

    @property
    def is_freight(self) -> bool:
        """True for goods transport: ordinary freight (02xxx) and dangerous goods (03xxx).

        Dangerous goods count as freight because what follows from freight — tonnage rather
        than seats on the 道路运输证, a freight driver's qualification — holds for them too.
        """
        return self.value.startswith(("02", "03"))

    @property
    def is_dangerous(self) -> bool:
        """True for 道路危险货物运输 (03xxx), operating or not."""
        return self.value.startswith("03")

    @property
    def is_radioactive(self) -> bool:
        """True for UN class 7 (放射性物品), which needs its own 放射性物品道路运输许可证."""
        return self.dangerous_goods_class() == "7类"

    def dangerous_goods_class(self) -> str | None:
        """Return the class/division as printed, e.g. ``"3类"`` or ``"2类1项"``.

        ``None`` for codes outside dangerous goods and for the group codes 03000/03100/03200.
        """
        code = self.value
        if not code.startswith("03") or code[3] == "0":
            return None
        un_class, division = code[3], code[4]
        if un_class in _CLASSES_WITH_DIVISIONS:
            return f"{un_class}类{division}项"
        return f"{un_class}类"


@unique
class QualificationCategory(CodeEnum, table="从业资格类别"):
    """从业资格类别 qualification category, JT/T 697.7-2014 §5.22 (as listed in standards.md §2.3).

    Codes are as found in deployed platforms; the labels are the category names in their
    usual full form, since only abbreviations were available for some of them.
    """

    PASSENGER_DRIVER = "01001", "经营性道路旅客运输驾驶员"
    FREIGHT_DRIVER = "02001", "经营性道路货物运输驾驶员"
    DANGEROUS_GOODS_DRIVER = "03001", "道路危险货物运输驾驶员"
    DANGEROUS_GOODS_LOADING_MANAGER = "03002", "道路危险货物运输装卸管理人员"
    DANGEROUS_GOODS_ESCORT = "03003", "道路危险货物运输押运人员"
    DANGEROUS_GOODS_SAFETY_MANAGER = "03004", "道路危险货物运输专职安全管理人员"
    TOXIC_CHEMICALS_DRIVER = "03005", "剧毒化学品道路运输驾驶员"
    TOXIC_CHEMICALS_LOADING_MANAGER = "03006", "剧毒化学品道路运输装卸管理人员"
    TOXIC_CHEMICALS_ESCORT = "03007", "剧毒化学品道路运输押运人员"
    TOXIC_CHEMICALS_SAFETY_MANAGER = "03008", "剧毒化学品道路运输专职安全管理人员"
    EXPLOSIVES_DRIVER = "03009", "爆炸品道路运输驾驶员"
    EXPLOSIVES_LOADING_MANAGER = "03010", "爆炸品道路运输装卸管理人员"
    EXPLOSIVES_ESCORT = "03011", "爆炸品道路运输押运人员"
    EXPLOSIVES_SAFETY_MANAGER = "03012", "爆炸品道路运输专职安全管理人员"
    RADIOACTIVE_DRIVER = "03013", "放射性物品道路运输驾驶员"
    RADIOACTIVE_LOADING_MANAGER = "03014", "放射性物品道路运输装卸管理人员"
    RADIOACTIVE_ESCORT = "03015", "放射性物品道路运输押运人员"
    RADIOACTIVE_SAFETY_MANAGER = "03016", "放射性物品道路运输专职安全管理人员"
    REPAIR_TECHNICAL_DIRECTOR = "04001", "机动车维修技术负责人员"
    REPAIR_QUALITY_INSPECTOR = "04002", "机动车维修质量检验人员"
    REPAIR_MECHANIC = "04003", "机动车维修机修人员"
    REPAIR_ELECTRICIAN = "04004", "机动车维修电器维修人员"
    REPAIR_PANEL_BEATER = "04005", "机动车维修钣金人员"
    REPAIR_PAINTER = "04006", "机动车维修涂漆人员"
    REPAIR_ASSESSOR = "04007", "机动车维修车辆技术评估人员"
    THEORY_INSTRUCTOR = "05001", "机动车驾驶培训理论教练员"
    DRIVING_INSTRUCTOR = "05002", "机动车驾驶培训驾驶操作教练员"
    PASSENGER_FREIGHT_INSTRUCTOR = "05003", "道路客货运输驾驶员从业资格培训教练员"
    DANGEROUS_GOODS_INSTRUCTOR = "05005", "道路危险货物运输驾驶员从业资格培训教练员"
    RADIOACTIVE_INSTRUCTOR = "05006", "放射性物品道路运输从业人员从业资格培训教练员"
    DISABLED_DRIVER_INSTRUCTOR = "05007", "残疾人机动车驾驶培训教练员"
    TAXI_DRIVER = "09001", "出租汽车驾驶员"
    # The source list names these two after their certificates (…驾驶员证); the category is
    # the role, so the label drops 证.
    CRUISING_TAXI_DRIVER = "09002", "巡游出租汽车驾驶员"
    RIDE_HAILING_DRIVER = "09003", "网络预约出租汽车驾驶员"
    PASSENGER_TRANSPORT_MANAGER = "11001", "道路旅客运输经理人"
    FREIGHT_TRANSPORT_MANAGER = "11002", "道路货物运输经理人"
    REPAIR_MANAGER = "11003", "机动车维修经理人"
    DRIVER_TRAINING_MANAGER = "11004", "机动车驾驶员培训经理人"
    CAR_RENTAL_CLERK = "12001", "汽车租赁业务员"
    PASSENGER_ATTENDANT = "12002", "道路客运乘务员"
    DRIVER_TRAINING_HEAD = "12008", "机动车驾驶员培训机构负责人"
    DRIVER_TRAINING_EXAMINER = "12009", "机动车驾驶员培训考核员"
    REPAIR_SETTLEMENT_CLERK = "12010", "机动车维修价格结算员"
    REPAIR_RECEPTIONIST = "12011", "机动车维修业务接待员"
    BUS_DRIVER = "13001", "城市公共汽电车驾驶员"
    METRO_DRIVER = "14001", "城市轨道交通列车驾驶员"
    METRO_DISPATCHER = "14002", "城市轨道交通行车调度员"
    METRO_DUTY_OFFICER = "14003", "城市轨道交通行车值班员"


@unique
class VehicleType(CodeEnum, table="车辆类型"):
    """车辆类型 vehicle type, GA/T 16.4 (the edition with school buses, 旅居 and 低平板 trailers).

    Gaps in the numbering (no H36, no K35–K37) are gaps in the standard, not omissions here.
    """

    # 客车 buses and cars
    K11 = "K11", "大型普通客车"
    K12 = "K12", "大型双层客车"
    K13 = "K13", "大型卧铺客车"
    K14 = "K14", "大型铰接客车"
    K15 = "K15", "大型越野客车"
    K16 = "K16", "大型轿车"
    K17 = "K17", "大型专用客车"
    K18 = "K18", "大型专用校车"
    K21 = "K21", "中型普通客车"
    K22 = "K22", "中型双层客车"
    K23 = "K23", "中型卧铺客车"
    K24 = "K24", "中型铰接客车"
    K25 = "K25", "中型越野客车"
    K26 = "K26", "中型轿车"
    K27 = "K27", "中型专用客车"
    K28 = "K28", "中型专用校车"
    K31 = "K31", "小型普通客车"
    K32 = "K32", "小型越野客车"
    K33 = "K33", "小型轿车"
    K34 = "K34", "小型专用客车"
    K38 = "K38", "小型专用校车"
    K41 = "K41", "微型普通客车"
    K42 = "K42", "微型越野客车"
    K43 = "K43", "微型轿车"
    # 货车 trucks
    H11 = "H11", "重型普通货车"
    H12 = "H12", "重型厢式货车"
    H13 = "H13", "重型封闭货车"
    H14 = "H14", "重型罐式货车"
    H15 = "H15", "重型平板货车"
    H16 = "H16", "重型集装厢车"
    H17 = "H17", "重型自卸货车"
    H18 = "H18", "重型特殊结构货车"
    H19 = "H19", "重型仓栅式货车"
    H21 = "H21", "中型普通货车"
    H22 = "H22", "中型厢式货车"
    H23 = "H23", "中型封闭货车"
    H24 = "H24", "中型罐式货车"
    H25 = "H25", "中型平板货车"
    H26 = "H26", "中型集装厢车"
    H27 = "H27", "中型自卸货车"
    H28 = "H28", "中型特殊结构货车"
    H29 = "H29", "中型仓栅式货车"
    H31 = "H31", "轻型普通货车"
    H32 = "H32", "轻型厢式货车"
    H33 = "H33", "轻型封闭货车"
    H34 = "H34", "轻型罐式货车"
    H35 = "H35", "轻型平板货车"
    H37 = "H37", "轻型自卸货车"
    H38 = "H38", "轻型特殊结构货车"
    H39 = "H39", "轻型仓栅式货车"
    H41 = "H41", "微型普通货车"
    H42 = "H42", "微型厢式货车"
    H43 = "H43", "微型封闭货车"
    H44 = "H44", "微型罐式货车"
    H45 = "H45", "微型自卸货车"
    H46 = "H46", "微型特殊结构货车"
    H47 = "H47", "微型仓栅式货车"
    H51 = "H51", "普通低速货车"
    H52 = "H52", "厢式低速货车"
    H53 = "H53", "罐式低速货车"
    H54 = "H54", "自卸低速货车"
    H55 = "H55", "仓栅式低速货车"
    # 牵引车 tractors
    Q11 = "Q11", "重型半挂牵引车"
    Q12 = "Q12", "重型全挂牵引车"
    Q21 = "Q21", "中型半挂牵引车"
    Q22 = "Q22", "中型全挂牵引车"
    Q31 = "Q31", "轻型半挂牵引车"
    Q32 = "Q32", "轻型全挂牵引车"
    # 专项作业车 special-purpose vehicles
    Z11 = "Z11", "大型专项作业车"
    Z21 = "Z21", "中型专项作业车"
    Z31 = "Z31", "小型专项作业车"
    Z41 = "Z41", "微型专项作业车"
    Z51 = "Z51", "重型专项作业车"
    Z71 = "Z71", "轻型专项作业车"
    # 电车 trolleybuses and trams
    D11 = "D11", "无轨电车"
    D12 = "D12", "有轨电车"
    # 摩托车 motorcycles
    M11 = "M11", "普通正三轮摩托车"
    M12 = "M12", "轻便正三轮摩托车"
    M13 = "M13", "正三轮载客摩托车"
    M14 = "M14", "正三轮载货摩托车"
    M15 = "M15", "侧三轮摩托车"
    M21 = "M21", "普通二轮摩托车"
    M22 = "M22", "轻便二轮摩托车"
    N11 = "N11", "三轮汽车"
    # 拖拉机 tractors (agricultural)
    T11 = "T11", "大型轮式拖拉机"
    T21 = "T21", "小型轮式拖拉机"
    T22 = "T22", "手扶拖拉机"
    T23 = "T23", "手扶变形运输机"
    # 轮式机械 wheeled machinery
    J11 = "J11", "轮式装载机械"
    J12 = "J12", "轮式挖掘机械"
    J13 = "J13", "轮式平地机械"
    # 全挂车 full trailers
    G11 = "G11", "重型普通全挂车"
    G12 = "G12", "重型厢式全挂车"
    G13 = "G13", "重型罐式全挂车"
    G14 = "G14", "重型平板全挂车"
    G15 = "G15", "重型集装箱全挂车"
    G16 = "G16", "重型自卸全挂车"
    G17 = "G17", "重型仓栅式全挂车"
    G18 = "G18", "重型旅居全挂车"
    G19 = "G19", "重型专项作业全挂车"
    G21 = "G21", "中型普通全挂车"
    G22 = "G22", "中型厢式全挂车"
    G23 = "G23", "中型罐式全挂车"
    G24 = "G24", "中型平板全挂车"
    G25 = "G25", "中型集装箱全挂车"
    G26 = "G26", "中型自卸全挂车"
    G27 = "G27", "中型仓栅式全挂车"
    G28 = "G28", "中型旅居全挂车"
    G29 = "G29", "中型专项作业全挂车"
    G31 = "G31", "轻型普通全挂车"
    G32 = "G32", "轻型厢式全挂车"
    G33 = "G33", "轻型罐式全挂车"
    G34 = "G34", "轻型平板全挂车"
    G35 = "G35", "轻型自卸全挂车"
    G36 = "G36", "轻型仓栅式全挂车"
    G37 = "G37", "轻型旅居全挂车"
    G38 = "G38", "轻型专项作业全挂车"
    # 半挂车 semi-trailers
    B11 = "B11", "重型普通半挂车"
    B12 = "B12", "重型厢式半挂车"
    B13 = "B13", "重型罐式半挂车"
    B14 = "B14", "重型平板半挂车"
    B15 = "B15", "重型集装箱半挂车"
    B16 = "B16", "重型自卸半挂车"
    B17 = "B17", "重型特殊结构半挂车"
    B18 = "B18", "重型仓栅式半挂车"
    B19 = "B19", "重型旅居半挂车"
    B1A = "B1A", "重型专项作业半挂车"
    B1B = "B1B", "重型低平板半挂车"
    B21 = "B21", "中型普通半挂车"
    B22 = "B22", "中型厢式半挂车"
    B23 = "B23", "中型罐式半挂车"
    B24 = "B24", "中型平板半挂车"
    B25 = "B25", "中型集装箱半挂车"
    B26 = "B26", "中型自卸半挂车"
    B27 = "B27", "中型特殊结构半挂车"
    B28 = "B28", "中型仓栅式半挂车"
    B29 = "B29", "中型旅居半挂车"
    B2A = "B2A", "中型专项作业半挂车"
    B2B = "B2B", "中型低平板半挂车"
    B31 = "B31", "轻型普通半挂车"
    B32 = "B32", "轻型厢式半挂车"
    B33 = "B33", "轻型罐式半挂车"
    B34 = "B34", "轻型平板半挂车"
    B35 = "B35", "轻型自卸半挂车"
    B36 = "B36", "轻型仓栅式半挂车"
    B37 = "B37", "轻型旅居半挂车"
    B38 = "B38", "轻型专项作业半挂车"
    B39 = "B39", "轻型低平板半挂车"
    X99 = "X99", "其他"


@unique
class PlateColor(CodeEnum, table="车牌颜色"):
    """车牌颜色 plate colour, JT/T 415-2006 §5.4.12; 91–94 are platform extensions in wide use."""

    BLUE = "1", "蓝色"
    YELLOW = "2", "黄色"
    BLACK = "3", "黑色"
    WHITE = "4", "白色"
    GREEN = "5", "绿色"
    OTHER = "9", "其他"
    AGRICULTURAL_YELLOW = "91", "农黄色"
    AGRICULTURAL_GREEN = "92", "农绿色"
    YELLOW_GREEN = "93", "黄绿色"
    GRADIENT_GREEN = "94", "渐变绿"


@unique
class EconomicType(CodeEnum, table="经济类型"):
    """经济类型 economic type, JT/T 415-2006 §5.1.8; sub-codes as in GB/T 12402-2000."""

    DOMESTIC = "100", "内资"
    STATE_OWNED = "110", "国有全资"
    COLLECTIVE = "120", "集体全资"
    JOINT_STOCK_COOPERATIVE = "130", "股份合作"
    JOINT_VENTURE = "140", "联营"
    STATE_JOINT_VENTURE = "141", "国有联营"
    COLLECTIVE_JOINT_VENTURE = "142", "集体联营"
    STATE_COLLECTIVE_JOINT_VENTURE = "143", "国有与集体联营"
    OTHER_JOINT_VENTURE = "149", "其他联营"
    LIMITED_LIABILITY = "150", "有限责任（公司）"
    WHOLLY_STATE_OWNED_COMPANY = "151", "国有独资（公司）"
    OTHER_LIMITED_LIABILITY = "159", "其他有限责任（公司）"
    JOINT_STOCK_LIMITED = "160", "股份有限（公司）"
    PRIVATE = "170", "私有"
    PRIVATE_SOLE_PROPRIETORSHIP = "171", "私有独资"
    PRIVATE_PARTNERSHIP = "172", "私有合伙"
    PRIVATE_LIMITED_LIABILITY = "173", "私营有限责任（公司）"
    PRIVATE_JOINT_STOCK_LIMITED = "174", "私营股份有限（公司）"
    INDIVIDUAL_BUSINESS = "175", "个体经营"
    OTHER_PRIVATE = "179", "其他私有"
    OTHER_DOMESTIC = "190", "其他内资"
    HK_MACAO_TAIWAN = "200", "港澳台投资"
    HK_MACAO_TAIWAN_EQUITY_JV = "210", "内地和港澳台合资"
    HK_MACAO_TAIWAN_COOPERATIVE_JV = "220", "内地和港澳台合作"
    HK_MACAO_TAIWAN_WHOLLY_OWNED = "230", "港澳台独资"
    HK_MACAO_TAIWAN_JOINT_STOCK = "240", "港澳台投资股份有限（公司）"
    OTHER_HK_MACAO_TAIWAN = "290", "其他港澳台投资"
    FOREIGN = "300", "国外投资"
    SINO_FOREIGN_EQUITY_JV = "310", "中外合资"
    SINO_FOREIGN_COOPERATIVE_JV = "320", "中外合作"
    WHOLLY_FOREIGN_OWNED = "330", "外资"
    FOREIGN_JOINT_STOCK = "340", "国外投资股份有限（公司）"
    OTHER_FOREIGN = "390", "其他国外投资"
    OTHER = "900", "其他"


@unique
class OperatorStatus(CodeEnum, table="业户经营状态"):
    """业户经营状态 operator status, JT/T 415-2006 §5.3.1 (seed 000 says 营运 for 营业)."""

    OPERATING = "1", "营业（营运）"
    SUSPENDED = "2", "停业"
    RECTIFYING = "3", "整改"
    SUSPENDED_FOR_RECTIFICATION = "4", "停业整顿"
    CLOSED = "5", "歇业"
    CANCELLED = "6", "注销"
    OTHER = "9", "其他"


@unique
class VehicleStatus(CodeEnum, table="车辆运行状态"):
    """车辆运行状态 vehicle status, JT/T 415-2006 §5.4.6."""

    OPERATING = "10", "营运"
    SUSPENDED = "21", "停运"
    REPORTED_LOST = "22", "挂失"
    TRANSFERRED_OWNER = "31", "迁出（过户）"
    TRANSFERRED_REGISTRATION = "32", "迁出（转籍）"
    SCRAPPED = "33", "报废"
    CLOSED = "34", "歇业"
    CANCELLED = "80", "注销"
    OTHER = "90", "其他"


@unique
class TechnicalGrade(CodeEnum, table="技术等级"):
    """车辆技术等级 technical grade of a vehicle (printed as 技术等级评定)."""

    UNRATED = "0", "未评定"
    FIRST = "1", "一级"
    SECOND = "2", "二级"
    UNQUALIFIED = "9", "不合格"


@unique
class ReviewStatus(CodeEnum, table="年审状态"):
    """年审状态 annual review status of a vehicle."""

    NOT_REVIEWED = "0", "未年审"
    PASSED = "1", "合格"
    FAILED = "2", "不合格"


@unique
class HolderCodeType(CodeEnum, table="持证主体代码类型"):
    """持证主体代码类型 kind of holder identifier, GB/T 36903-2018 (CZZTDMLXDM)."""

    USCC = "001", "统一社会信用代码"
    OTHER_ORGANISATION = "099", "其它法人与其它组织有效证件代码"
    RESIDENT_ID = "111", "公民身份号码"
    MILITARY_OFFICER = "114", "军官证"
    ARMED_POLICE_OFFICER = "115", "武警警官证"
    SOLDIER = "118", "士兵证"
    ARMED_POLICE_SOLDIER = "119", "武警士兵证"
    CIVILIAN_STAFF = "120", "文职人员证"
    ARMED_POLICE_CIVILIAN_STAFF = "122", "武警文职人员证"
    DIPLOMATIC_PASSPORT = "411", "外交护照"
    SERVICE_PASSPORT = "412", "公务护照"
    PUBLIC_AFFAIRS_PASSPORT = "413", "公务普通护照"
    PASSPORT = "414", "普通护照"
    TAIWAN_RESIDENT_PERMIT = "511", "台湾居民来往大陆通行证"
    HK_MACAO_RESIDENT_PERMIT = "516", "港澳居民来往内地通行证"
    OTHER_PERSONAL = "999", "其它自然人有效证件"


@unique
class Sex(CodeEnum, table="性别"):
    """性别 sex, GB/T 2261.1; labels are the short forms printed on the face."""

    UNKNOWN = "0", "未知"
    MALE = "1", "男"
    FEMALE = "2", "女"
    UNSPECIFIED = "9", "未说明"


@unique
class DrivingClass(CodeEnum, table="准驾车型"):
    """准驾车型 driving-licence class (机动车驾驶证申领和使用规定)."""

    A1 = "A1", "大型客车"
    A2 = "A2", "牵引车"
    A3 = "A3", "城市公交车"
    B1 = "B1", "中型客车"
    B2 = "B2", "大型货车"
    C1 = "C1", "小型汽车"
    C2 = "C2", "小型自动挡汽车"
    C3 = "C3", "低速载货汽车"
    C4 = "C4", "三轮汽车"
    C5 = "C5", "残疾人专用小型自动挡载客汽车"
    C6 = "C6", "轻型牵引挂车"
    D = "D", "普通三轮摩托车"
    E = "E", "普通二轮摩托车"
    F = "F", "轻便摩托车"
    M = "M", "轮式自行机械车"
    N = "N", "无轨电车"
    P = "P", "有轨电车"


@unique
class EcertStatusCode(CodeEnum, table="电子证照状态"):
    """E-cert status as exchanged with the MOT platform; finer internal states map onto these."""

    VALID = "10", "有效"
    INVALID_REPLACED = "01", "无效（已换发）"
    INVALID_EXPIRED = "02", "无效（已过期）"
    INVALID_OTHER = "09", "无效（其他）"
