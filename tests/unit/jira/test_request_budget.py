"""A site's request budget: shared out per concurrent invocation, paced, adaptive to Jira's 429s."""

from __future__ import annotations

import pytest

from jira_bridge.invocation import invocation_budget
from jira_bridge.jira.request_budget import PER_ISSUE_REASON, BudgetExhausted, RequestBudget

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def sent_per_second(budget: RequestBudget, clock: Clock, seconds: float) -> float:
    start, count = clock.now, 0
    while clock.now - start < seconds:
        budget.acquire()
        count += 1
    return count / (clock.now - start)


def test_each_concurrent_invocation_gets_its_share_so_together_they_stay_in_budget() -> None:
    clock = Clock()
    shares = [RequestBudget(10, share=5, clock=clock, sleep=clock.sleep) for _ in range(5)]
    assert sum(b.base_rate for b in shares) == pytest.approx(10)
    rate = sent_per_second(shares[0], clock, 60)
    assert rate == pytest.approx(2, rel=0.05)


def test_a_wait_longer_than_the_invocation_allows_is_raised_not_slept() -> None:
    clock = Clock()
    budget = RequestBudget(1, share=1, clock=clock, sleep=clock.sleep)
    budget.acquire()
    with invocation_budget(None, max_wait=0.5), pytest.raises(BudgetExhausted) as caught:
        budget.acquire()
    assert caught.value.wait == pytest.approx(1.0)
    assert clock.slept == []


def test_a_429_halves_the_rate_and_quiet_time_restores_it() -> None:
    clock = Clock()
    budget = RequestBudget(8, clock=clock, sleep=clock.sleep)
    budget.throttled("jira-burst-based")
    budget.throttled("jira-burst-based")
    assert budget.rate == pytest.approx(2)
    clock.now += 300
    budget.acquire()
    assert budget.rate == pytest.approx(8)


def test_the_per_issue_write_limit_does_not_slow_the_whole_site() -> None:
    clock = Clock()
    budget = RequestBudget(8, clock=clock, sleep=clock.sleep)
    budget.throttled(PER_ISSUE_REASON)
    assert budget.rate == 8


def test_nonsense_budgets_are_refused() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        RequestBudget(0)
    with pytest.raises(ValueError, match="share"):
        RequestBudget(10, share=0)
