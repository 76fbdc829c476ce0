"""The simulator's faults keep time on an injected clock; a seeded fraction of requests gets 429s."""

import pytest

from jira_sim.faults import FaultInjector
from local_runtime.clock import SimClock

pytestmark = pytest.mark.unit


def test_an_outage_ends_when_the_simulated_clock_passes_it() -> None:
    clock = SimClock(start=1_767_225_600.0)
    faults = FaultInjector(clock)
    faults.outage(seconds=3600, retry_after=120)
    assert faults.outcome("GET", "/rest/api/3/issue/X-1").rule is not None
    clock.advance(3599)
    assert faults.outcome("GET", "/rest/api/3/issue/X-1").rule is not None
    clock.advance(1)
    assert faults.outcome("GET", "/rest/api/3/issue/X-1").rule is None


def test_a_seeded_fraction_of_matching_requests_is_rate_limited_with_the_usual_headers() -> None:
    def storm(seed: int) -> list[bool]:
        faults = FaultInjector(SimClock(start=1_767_225_600.0))
        faults.rate_limit_fraction(0.3, retry_after=1, seed=seed, path="/rest/api/3/*")
        return [faults.outcome("PUT", f"/rest/api/3/issue/X-{i}").rule is not None for i in range(2000)]

    first = storm(7)
    assert first == storm(7)  # repeatable
    assert first != storm(8)
    assert 0.27 < sum(first) / len(first) < 0.33
    faults = FaultInjector(SimClock(start=1_767_225_600.0))
    faults.rate_limit_fraction(1.0, retry_after=30, path="/rest/api/3/*")
    assert faults.outcome("GET", "/rest/agile/1.0/board").rule is None  # only matching paths
    rule = faults.outcome("GET", "/rest/api/3/myself").rule
    assert rule is not None
    assert rule.status == 429
    headers = rule.headers(faults.now_utc())
    assert headers["Retry-After"] == "30"
    assert {"X-RateLimit-Reset", "X-RateLimit-Limit", "X-RateLimit-Remaining", "RateLimit-Reason"} <= set(headers)
    with pytest.raises(ValueError, match="probability"):
        faults.rate_limit_fraction(1.5)
