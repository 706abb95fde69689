import pytest

from tests.e2e.gateway import Gateway


@pytest.fixture
def gateway(tmp_path):
    gw = Gateway(tmp_path, CERTPOST_AUTO_BOOK="false").start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    """One gateway per test module that books through the in-process EMS simulator."""
    gateway = Gateway(tmp_path_factory.mktemp("gw")).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def staff(gw):
    """Bearer headers per role on the module's gateway."""
    return {
        role: {"Authorization": f"Bearer {gw.staff_token(f'{role}-li', role)}"}
        for role in ("dispatcher", "finance", "admin")
    }
