import pytest


async def test_carrier_health_fails_only_when_the_breaker_is_open():
    from logistics.service.resilience import CircuitBreaker
    from logistics.web.health import carrier_check

    class Carrier:
        breaker = CircuitBreaker(threshold=1, reset_s=60)

    check = carrier_check(Carrier())
    await check()  # closed: healthy
    Carrier.breaker.record(ok=False)
    with pytest.raises(Exception, match="circuit open"):
        await check()
