"""The universe of publishing agencies: provinces → cities → counties → townships and departments.

Two universes come from the same building blocks:

* the *demo* universe: a fixed handful of real counties (平顶山市, 卢氏县, two in 福建省) with real town names,
  used by the bundled website;
* the *corpus* universe: an unbounded, index-addressable sequence of agencies (real provinces and cities,
  synthetic but plausible county and town names) so a 1,000,000-report corpus never holds the universe in
  memory: ``corpus_agency(k)`` computes agency ``k`` from ``k`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- building blocks ----------------------------------------------------------------------------------

# (name, weight of applications): weight scales how many requests a department of this kind receives.
COUNTY_DEPARTMENTS: tuple[tuple[str, float], ...] = (
    ("财政局", 0.6),
    ("教育局", 0.5),
    ("公安局", 1.2),
    ("自然资源局", 2.0),
    ("市场监督管理局", 0.8),
    ("住房和城乡建设局", 1.5),
    ("人力资源和社会保障局", 0.9),
    ("民政局", 0.5),
    ("生态环境分局", 0.7),
    ("交通运输局", 0.6),
    ("农业农村局", 0.7),
    ("水利局", 0.4),
    ("卫生健康委员会", 0.5),
    ("应急管理局", 0.4),
    ("发展和改革委员会", 0.6),
    ("审计局", 0.2),
    ("统计局", 0.2),
    ("文化广电和旅游局", 0.3),
    ("退役军人事务局", 0.3),
    ("医疗保障局", 0.4),
    ("林业局", 0.3),
    ("城市管理局", 0.8),
    ("行政审批服务局", 0.5),
    ("司法局", 0.3),
)
# Province-level departments use 厅 for some of the same portfolios.
PROVINCE_DEPARTMENT_NAMES: dict[str, str] = {
    "财政局": "财政厅",
    "教育局": "教育厅",
    "公安局": "公安厅",
    "自然资源局": "自然资源厅",
    "住房和城乡建设局": "住房和城乡建设厅",
    "人力资源和社会保障局": "人力资源和社会保障厅",
    "民政局": "民政厅",
    "生态环境分局": "生态环境厅",
    "交通运输局": "交通运输厅",
    "农业农村局": "农业农村厅",
    "水利局": "水利厅",
    "卫生健康委员会": "卫生健康委员会",
    "审计局": "审计厅",
    "司法局": "司法厅",
    "文化广电和旅游局": "文化和旅游厅",
    "退役军人事务局": "退役军人事务厅",
}
CITY_DEPARTMENT_NAMES: dict[str, str] = {"生态环境分局": "生态环境局"}

# Real provinces with a few real prefecture-level cities each.
PROVINCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("河南省", ("郑州市", "洛阳市", "平顶山市", "三门峡市", "南阳市", "信阳市", "周口市")),
    ("福建省", ("福州市", "厦门市", "泉州市", "漳州市", "南平市", "宁德市")),
    ("河北省", ("石家庄市", "保定市", "邯郸市", "唐山市")),
    ("山西省", ("太原市", "大同市", "长治市", "运城市")),
    ("江苏省", ("南京市", "苏州市", "徐州市", "盐城市")),
    ("浙江省", ("杭州市", "宁波市", "温州市", "金华市")),
    ("安徽省", ("合肥市", "芜湖市", "阜阳市", "安庆市")),
    ("江西省", ("南昌市", "赣州市", "九江市", "上饶市")),
    ("山东省", ("济南市", "青岛市", "临沂市", "潍坊市", "济宁市")),
    ("湖北省", ("武汉市", "宜昌市", "襄阳市", "荆州市")),
    ("湖南省", ("长沙市", "衡阳市", "岳阳市", "常德市")),
    ("广东省", ("广州市", "深圳市", "佛山市", "湛江市")),
    ("四川省", ("成都市", "绵阳市", "南充市", "宜宾市")),
    ("贵州省", ("贵阳市", "遵义市", "毕节市")),
    ("云南省", ("昆明市", "曲靖市", "大理白族自治州")),
    ("陕西省", ("西安市", "宝鸡市", "咸阳市", "汉中市")),
    ("甘肃省", ("兰州市", "天水市", "庆阳市")),
    ("辽宁省", ("沈阳市", "大连市", "鞍山市")),
    ("吉林省", ("长春市", "吉林市", "延边朝鲜族自治州")),
    ("黑龙江省", ("哈尔滨市", "齐齐哈尔市", "牡丹江市")),
    ("广西壮族自治区", ("南宁市", "柳州市", "桂林市")),
    ("内蒙古自治区", ("呼和浩特市", "包头市", "赤峰市")),
)

# Characters real county and town names are commonly built from; combined they give plausible names.
_NAME_FIRST = "安宁平永新临清长丰泰德兴东西南北武文和庆嘉汉昌阳华定宜开济通桃柳青石黄白龙凤金玉云"
_NAME_SECOND = "阳城山川江河源乐溪台水宁平丰安兴远化陵州原峰泉林谷桥坪塘湖口集店寨庄"


@dataclass(frozen=True, slots=True)
class AgencySpec:
    """One publishing agency: where it sits and what it is called."""

    name: str  # as published, e.g. "鲁山县库区乡"
    normalized_name: str  # e.g. "鲁山县库区乡人民政府"
    type: str  # 人民政府 / 办公厅 / 部门 / 乡镇街道
    level: str  # 省 / 市 / 县 / 乡镇
    province: str
    city: str = ""
    county: str = ""
    township: str = ""
    short: str = ""  # how the agency names itself in its text: "我局", "我乡", "县政府" ...
    activity: float = 1.0  # scale of applications and decisions relative to its level's norm

    @property
    def region_path(self) -> str:
        return "/".join(p for p in (self.province, self.city, self.county) if p)


def _self_reference(kind: str, name: str) -> str:
    """How an agency calls itself in its own report ("我局", "我乡", "本机关")."""
    if kind == "乡镇街道":
        return "我街道" if name.endswith("街道") else ("我镇" if name.endswith("镇") else "我乡")
    if kind in ("人民政府", "办公厅"):
        return "本机关"
    if name.endswith("委员会"):
        return "我委"
    if name.endswith("厅"):
        return "我厅"
    return "我局"


def government(province: str, city: str = "", county: str = "") -> AgencySpec:
    place = county or city or province
    level = "县" if county else ("市" if city else "省")
    name = f"{place}人民政府"
    return AgencySpec(name, name, "人民政府", level, province, city, county, short="本机关", activity=1.0)


def general_office(province: str, city: str = "", county: str = "") -> AgencySpec:
    place = county or city or province
    level = "县" if county else ("市" if city else "省")
    name = f"{place}人民政府办公室" if county or city else f"{place}人民政府办公厅"
    return AgencySpec(name, name, "办公厅", level, province, city, county, short="本机关", activity=0.5)


def department(province: str, city: str, county: str, dept: str, weight: float) -> AgencySpec:
    if county:
        place, level, label = county, "县", dept
    elif city:
        place, level, label = city, "市", CITY_DEPARTMENT_NAMES.get(dept, dept)
    else:
        place, level, label = province, "省", PROVINCE_DEPARTMENT_NAMES.get(dept, dept)
    name = f"{place}{label}"
    return AgencySpec(
        name, name, "部门", level, province, city, county, short=_self_reference("部门", name), activity=weight
    )


def township(province: str, city: str, county: str, town: str, style: int = 0) -> AgencySpec:
    """A township; ``style`` picks how the name is published (with/without county, with/without 人民政府)."""
    suffix = "办事处" if town.endswith("街道") else "人民政府"
    normalized = f"{county}{town}{suffix}"
    published = (normalized, f"{county}{town}", f"{town}{suffix}")[style % 3]
    return AgencySpec(
        published,
        normalized,
        "乡镇街道",
        "乡镇",
        province,
        city,
        county,
        town,
        short=_self_reference("乡镇街道", town),
        activity=0.15,
    )


# -- the demo universe (real places, real town names) ------------------------------------------------

DEMO_COUNTIES: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    # (province, city, county, towns, departments)
    (
        "河南省",
        "平顶山市",
        "鲁山县",
        ("库区乡", "背孜乡", "瓦屋镇", "尧山镇", "下汤镇", "张良镇"),
        ("财政局", "自然资源局"),
    ),
    ("河南省", "平顶山市", "湛河区", ("曹镇乡", "北渡街道", "马庄街道", "南环路街道"), ("教育局",)),
    ("河南省", "平顶山市", "郏县", ("冢头镇", "安良镇", "薛店镇"), ("公安局",)),
    ("河南省", "平顶山市", "叶县", ("昆阳街道", "任店镇", "仙台镇"), ("市场监督管理局",)),
    ("河南省", "平顶山市", "宝丰县", ("周庄镇", "大营镇"), ("住房和城乡建设局",)),
    (
        "河南省",
        "三门峡市",
        "卢氏县",
        ("官坡镇", "城关镇", "杜关镇", "五里川镇"),
        ("行政审批和政务信息管理局", "财政局"),
    ),
    ("福建省", "福州市", "闽侯县", ("上街镇", "南屿镇"), ("自然资源局",)),
    ("福建省", "泉州市", "安溪县", ("感德镇", "西坪镇"), ("市场监督管理局",)),
)
_DEPT_WEIGHT = dict(COUNTY_DEPARTMENTS) | {"行政审批和政务信息管理局": 0.5}


def demo_agencies() -> list[AgencySpec]:
    """The fixed agencies of the demo website, county by county."""
    out: list[AgencySpec] = []
    for province, city, county, towns, depts in DEMO_COUNTIES:
        out.append(government(province, city, county))
        out.extend(department(province, city, county, d, _DEPT_WEIGHT[d]) for d in depts)
        out.extend(township(province, city, county, t, style=i) for i, t in enumerate(towns))
    return out


# -- the corpus universe (index-addressable) ---------------------------------------------------------

TOWNS_PER_COUNTY = 12
SLOTS_PER_COUNTY = 2 + len(COUNTY_DEPARTMENTS) + TOWNS_PER_COUNTY  # 政府 + 办公室 + departments + towns
COUNTIES_PER_CITY = 9  # block 0 of each city holds the city-level agencies
_NAME_SPACE = len(_NAME_FIRST) * len(_NAME_SECOND)


def _synthetic_name(n: int, suffix: str) -> str:
    # Multiplying by a number coprime to the name space spreads consecutive indexes over different names.
    code = (n * 7919 + 13) % _NAME_SPACE
    return _NAME_FIRST[code // len(_NAME_SECOND)] + _NAME_SECOND[code % len(_NAME_SECOND)] + suffix


def county_name(block: int) -> str:
    return _synthetic_name(block, "区" if block % 5 == 0 else "县")


def town_name(block: int, slot: int) -> str:
    n = block * TOWNS_PER_COUNTY + slot
    suffix = "街道" if slot < 2 else ("乡" if n % 3 == 0 else "镇")
    return _synthetic_name(n * 31 + 7, suffix)


_CITIES: tuple[tuple[str, str], ...] = tuple((p, c) for p, cs in PROVINCES for c in cs)
_FIRST_CITY_OF_PROVINCE = frozenset(next(c for p2, c in _CITIES if p2 == p) for p, _ in PROVINCES)
_BLOCKS_PER_CYCLE = len(_CITIES) * COUNTIES_PER_CITY


def corpus_agency(k: int) -> AgencySpec:
    """Agency number ``k`` of the unbounded corpus universe (a pure function of ``k``).

    Agencies come in blocks of ``SLOTS_PER_COUNTY``: government, general office, departments, towns.
    Block 0 of each city (first pass only) holds city-level agencies, and in a province's first city
    the province's own; every other block is a county with a synthetic name unique within its city.
    """
    block, slot = divmod(k, SLOTS_PER_COUNTY)
    cycle, rest = divmod(block, _BLOCKS_PER_CYCLE)
    city_no, county_no = divmod(rest, COUNTIES_PER_CITY)
    province, city = _CITIES[city_no]
    county = "" if cycle == 0 and county_no == 0 else county_name(block)
    n_top = 2 + len(COUNTY_DEPARTMENTS)
    if not county and city in _FIRST_CITY_OF_PROVINCE and slot < n_top and slot % 2 == 0:
        city = ""  # every other top slot of a province's first city is a province-level agency
    if slot == 0:
        return government(province, city, county)
    if slot == 1:
        return general_office(province, city, county)
    if slot < n_top:
        dept, weight = COUNTY_DEPARTMENTS[slot - 2]
        return department(province, city, county, dept, weight)
    town_slot = slot - n_top
    if not county:  # a city block's towns belong to one of its urban districts
        county = county_name(block + 1)[:-1] + "区"
    return township(province, city, county, town_name(block, town_slot), style=town_slot)
