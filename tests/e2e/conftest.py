import pytest

from tests.e2e.gateway import Gateway


@pytest.fixture
def gateway(tmp_path):
    gw = Gateway(tmp_path, CERTPOST_AUTO_BOOK="false").start()
    yield gw
    gw.stop()
