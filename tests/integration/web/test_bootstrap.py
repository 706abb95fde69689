"""The composition root: what it wires from the settings, and the one start/stop of the running parts."""

from __future__ import annotations

import pytest

from logistics import bootstrap
from logistics.config import Settings


class Recorder:
    """A part with open/close (callback sender, pull source) or close (carrier), noting each call."""

    def __init__(self, name: str, log: list[str]):
        self.name, self.log = name, log

    async def open(self) -> None:
        self.log.append(f"open {self.name}")

    async def close(self) -> None:
        self.log.append(f"close {self.name}")

    async def get(self, url, params, headers):  # a page source that never gets a page
        raise OSError("unreachable")


def pulling(db_url: str, **over) -> Settings:
    return Settings(
        database_url=db_url, clients={"puller": "s" * 24}, pull_url="http://127.0.0.1:1/cases",
        pull_client="puller", **over,
    )  # fmt: skip


def test_the_deps_of_a_use_case_test_have_units_of_work_and_nothing_to_start(tmp_path):
    deps = bootstrap.deps(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/d.db"))
    assert deps.uow is not None and deps.writes is None
    assert deps.carrier is None and deps.callback_sender is None and deps.known_codes is None


def test_a_system_maps_the_carriers_scan_codes_and_shares_its_writes(tmp_path):
    built = bootstrap.system(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/s.db"))
    assert {"203", "704"} <= built.deps.known_codes  # handed over, delivered
    assert built.deps.writes is not None and built.workers is not None
    assert built.scheduler is None  # no carrier to poll, nothing to pull


def test_the_scheduler_polls_with_a_carrier_and_pulls_with_a_pull_url_unless_told_not(tmp_path):
    log: list[str] = []
    url = f"sqlite+aiosqlite:///{tmp_path}/p.db"
    source = Recorder("source", log)
    built = bootstrap.system(pulling(url), pull_source=source)
    assert built.scheduler is not None and built.puller is not None and built.pull_source is source
    quiet = bootstrap.system(pulling(url), pull_source=source, run_scheduler=False)
    assert quiet.scheduler is None and quiet.puller is None
    idle = bootstrap.system(pulling(url, scheduler=False), pull_source=source)
    assert idle.scheduler is None


def test_a_misconfigured_pull_is_refused_when_the_system_is_built(tmp_path):
    from logistics.service.pull import PullMisconfigured

    bad = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/b.db", pull_url="http://127.0.0.1:1/x")
    with pytest.raises(PullMisconfigured):
        bootstrap.system(bad, run_scheduler=False)


async def test_parts_open_before_the_system_runs_and_close_after_it_stops(tmp_path):
    log: list[str] = []
    sender, source = Recorder("sender", log), Recorder("source", log)
    built = bootstrap.system(
        pulling(f"sqlite+aiosqlite:///{tmp_path}/l.db"), callback_sender=sender, pull_source=source,
        run_workers=False, run_scheduler=True,
    )  # fmt: skip
    await built.start()
    assert log == ["open source", "open sender"]
    assert built.scheduler is not None and built.scheduler.leading  # started: it took the lease
    await built.stop()
    assert log == ["open source", "open sender", "close sender", "close source"]
    assert not built.scheduler.leading  # stopped: it gave the lease back
    await built.stop()  # stopping twice does nothing more
    assert len(log) == 4


async def test_a_start_that_fails_closes_what_it_had_opened(tmp_path):
    log: list[str] = []

    class Unreachable(Recorder):
        async def open(self) -> None:
            raise OSError("the approval system refuses the connection")

    source, sender, carrier = Recorder("source", log), Unreachable("sender", log), Recorder("carrier", log)
    built = bootstrap.system(
        pulling(f"sqlite+aiosqlite:///{tmp_path}/f.db"), carrier=carrier, callback_sender=sender,
        pull_source=source, run_workers=False, run_scheduler=True,
    )  # fmt: skip
    with pytest.raises(OSError):
        await built.start()
    assert log == ["open source", "close source", "close carrier"]
