"""Personal data never reaches the logs, even at DEBUG, through booking, a rejection, tracking and a
citizen lookup."""

import time

from tests.e2e.gateway import Gateway
from tests.fixtures.dispatches import intake_body

NAME, PHONE, DETAIL = "欧阳娜娜", "13912345678", "幸福路88号3栋501室"


def test_no_name_phone_or_address_in_the_logs_at_debug(tmp_path):
    gw = Gateway(tmp_path, CERTPOST_LOG_LEVEL="DEBUG").start()
    try:
        address = intake_body()["address"] | {"detail": DETAIL}
        ok = gw.submit(intake_body("LOG-1", recipient={"name": NAME, "phone": PHONE}, address=address))[1]
        rejected = address | {"detail": "不可达" + DETAIL}
        gw.submit(intake_body("LOG-2", recipient={"name": NAME, "phone": PHONE}, address=rejected))
        token = gw.staff_token("auditor", "admin")
        auth = {"Authorization": f"Bearer {token}"}
        deadline = time.time() + 30
        while time.time() < deadline:
            d = gw.request("GET", f"/api/v1/dispatches/{ok['id']}", headers=auth)[1]
            if d["waybill_no"]:
                break
            time.sleep(0.2)
        gw.control("POST", f"/parcels/{d['waybill_no']}/advance", {"to": "delivered"})
        gw.request("GET", f"/api/v1/track?waybill_no={d['waybill_no']}&phone_last4={PHONE[-4:]}")
        gw.request("GET", f"/api/v1/track?waybill_no={d['waybill_no']}&phone_last4=0000")
        time.sleep(1)
    finally:
        gw.stop()
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert '"level": "debug"' in log or '"level": "info"' in log  # the gateway did log
    for secret in (NAME, PHONE, PHONE[-8:], DETAIL, "3栋501"):
        assert secret not in log, f"{secret!r} appears in the logs"
