"""Test dispatches and helpers that read what was printed, with poppler and zbar."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logistics.domain.hall import Hall
from logistics.domain.model import Address, DeliveryMethod, Direction, Dispatch, Item, Party
from logistics.domain.status import Status

ORIGIN = Hall(
    "安福县政务服务中心", "0796-7612345", "江西省", "吉安市", "安福县", "平都镇凤林东路1号", "343200"
)
PUBLIC_URL = "https://zwfw.anfu.gov.cn"
AT = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)


def make_dispatch(n: int = 1, **changes) -> Dispatch:
    dispatch = Dispatch(
        id=f"d-{n}",
        client_id="approval",
        case_no=f"AF2026110500{n:03d}",
        matter_name="食品经营许可证核发",
        matter_code="11360829MB1234567X4000113001",
        department_code="SCJGJ",
        department_name="安福县市场监督管理局",
        direction=Direction.OUTBOUND,
        delivery_method=DeliveryMethod.MAIL,
        recipient=Party("王小明", "13807961234"),
        address=Address("江西省", "吉安市", "安福县", "阳光花园3栋2单元1502室", "343200", town="洲湖镇"),
        items=(Item("licence", "食品经营许可证", "JY13608290012345"),),
        weight_g=200 + n,
        declared_value_fen=0,
        completed_at=AT,
        created_at=AT,
        status=Status.BOOKED,
        waybill_no=f"11000{n:07d}8",
    )
    return replace(dispatch, **changes)


def need(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (poppler-utils / zbar-tools) on PATH")


def write(tmp_path: Path, pdf: bytes, name: str = "out.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


def pdf_text(pdf: Path, *extra: str) -> str:
    return run("pdftotext", "-enc", "UTF-8", *extra, pdf, "-")


def page_sizes_mm(pdf: Path) -> list[tuple[float, float]]:
    out = run("pdfinfo", "-f", "1", "-l", "9999", pdf)
    sizes = []
    for line in out.splitlines():
        if line.startswith("Page") and "size:" in line:
            width, _, height = line.split("size:")[1].split()[:3]
            sizes.append((round(float(width) * 25.4 / 72, 1), round(float(height) * 25.4 / 72, 1)))
    return sizes


def decode_codes(pdf: Path, tmp_path: Path, dpi: int = 203) -> list[list[str]]:
    """Every barcode zbar finds on each page rendered at `dpi`, page by page."""
    run("pdftoppm", "-r", str(dpi), "-png", pdf, tmp_path / "page")
    pages = []
    for image in sorted(tmp_path.glob("page-*.png")):
        result = subprocess.run(["zbarimg", "-q", "--raw", str(image)], capture_output=True, text=True)
        pages.append(result.stdout.split())
    return pages
