"""A deterministic batch of booked dispatches with varied names, addresses and items."""

from __future__ import annotations

from datetime import UTC, datetime

from logistics.domain.hall import Hall
from logistics.domain.model import Address, DeliveryMethod, Direction, Dispatch, Item, Party
from logistics.domain.status import Status

ORIGIN = Hall(
    "安福县政务服务中心", "0796-7612345", "江西省", "吉安市", "安福县", "平都镇凤林东路1号", "343200"
)
PUBLIC_URL = "https://zwfw.anfu.gov.cn"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("小明", "建国", "秀英", "志强", "丽", "海燕", "伟", "欧阳娜娜", "子轩", "雨桐")
TOWNS = ("洲湖镇", "平都镇", "横龙镇", "枫田镇", "严田镇", "竹江乡", "瓜畲乡", "钱山乡")
STREETS = ("王屯村", "城南路", "凤林东路", "阳光花园", "武功山大道", "新区建设路")
ITEMS = (
    Item("licence", "食品经营许可证", "JY13608290012345"),
    Item("licence", "营业执照（副本）", "91360829MA12345"),
    Item("certificate", "不动产权证书", "赣(2026)安福县不动产权第0012345号"),
    Item("card", "社会保障卡"),
)
AT = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)


def dispatches(count: int) -> list[Dispatch]:
    return [dispatch(i) for i in range(count)]


def dispatch(i: int) -> Dispatch:
    return Dispatch(
        id=f"bench-{i}",
        client_id="approval",
        case_no=f"AF20261105{i:05d}",
        matter_name="食品经营许可证核发",
        matter_code="11360829MB1234567X4000113001",
        department_code="SCJGJ",
        department_name="安福县市场监督管理局",
        direction=Direction.INBOUND if i % 10 == 9 else Direction.OUTBOUND,
        delivery_method=DeliveryMethod.MAIL,
        recipient=Party(SURNAMES[i % 20] + GIVEN[i % 10], f"138{i:08d}"),
        address=Address(
            "江西省",
            "吉安市",
            "安福县",
            f"{STREETS[i % 6]}{i % 97 + 1}号{i % 5 + 1}栋{i % 30 + 101}室",
            "343200",
            TOWNS[i % 8],
        ),
        items=ITEMS[: i % 3 + 1],
        weight_g=100 + (i * 37) % 900,
        declared_value_fen=0,
        completed_at=AT,
        created_at=AT,
        status=Status.BOOKED,
        waybill_no=f"11{i:08d}{i % 7}{i % 100:02d}",
    )
