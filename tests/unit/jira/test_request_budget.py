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
    budget = RequestBudget(0.05, share=1, clock=clock, sleep=clock.sleep)  # a token every 20 s
    budget.acquire()
    with invocation_budget(None, max_wait=0.5), pytest.raises(BudgetExhausted) as caught:
        budget.acquire()  # a queue consumer paces in-process up to PACING_WAIT_SECONDS (10 s), not 20
    assert caught.value.wait == pytest.approx(20.0)
    assert clock.slept == []


def test_a_queue_consumer_waits_for_a_token_a_few_seconds_away_unless_its_time_runs_out() -> None:
    class Context:
        left = 60.0

        def get_remaining_time_in_millis(self) -> int:
            return int(self.left * 1000)

    clock = Clock()
    budget = RequestBudget(0.2, share=1, clock=clock, sleep=clock.sleep)  # a token every 5 s
    budget.acquire()
    context = Context()
    with invocation_budget(context, max_wait=0.5):  # type: ignore[arg-type]
        budget.acquire()  # 5 s: paced in-process, not sent back to the queue
        assert clock.slept == [pytest.approx(5.0)]
        context.left = 8.0  # 5 s of waiting would leave 3 s to send and hear back: too little
        with pytest.raises(BudgetExhausted):
            budget.acquire()


def use_whole_rate(budget: RequestBudget) -> None:
    sent_per_second(budget, budget._clock, 10)  # type: ignore[arg-type]


def test_a_429_while_using_the_whole_rate_halves_it_and_quiet_time_restores_it() -> None:
    clock = Clock()
    budget = RequestBudget(8, clock=clock, sleep=clock.sleep)
    use_whole_rate(budget)
    assert budget.throttled("jira-burst-based")
    assert not budget.throttled("jira-burst-based")  # the same overshoot, answered twice
    assert budget.rate == pytest.approx(4)
    # At half its rate the share no longer uses most of its budget: further 429s are paced by their
    # own Retry-After, not by halving again (a storm the bridge does not cause cannot grind it to 1/16).
    use_whole_rate(budget)
    assert not budget.throttled("jira-burst-based")
    assert budget.rate == pytest.approx(4 * 1.1)  # 10 quiet seconds: +10%
    clock.now += 300
    budget.acquire()
    assert budget.rate == pytest.approx(8)


def test_429s_that_reach_a_share_with_tokens_to_spare_do_not_slow_it() -> None:
    """30% of answers 429 while the bridge sends at a fraction of its budget: not our load, so only
    the refused requests wait (their Retry-After), the pace stays (a storm we do not cause)."""
    clock = Clock()
    budget = RequestBudget(10, share=5, clock=clock, sleep=clock.sleep)  # 2/s
    for _ in range(100):
        clock.now += 2.0  # an event every 2 s, three requests in a row: 1.5/s of the share's 2/s
        for _ in range(3):
            budget.acquire()
        assert not budget.throttled("jira-burst-based")
    assert budget.rate == pytest.approx(2)


def test_the_per_issue_write_limit_does_not_slow_the_whole_site() -> None:
    clock = Clock()
    budget = RequestBudget(8, clock=clock, sleep=clock.sleep)
    use_whole_rate(budget)
    assert not budget.throttled(PER_ISSUE_REASON)
    assert budget.rate == 8


def test_nonsense_budgets_are_refused() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        RequestBudget(0)
    with pytest.raises(ValueError, match="share"):
        RequestBudget(10, share=0)
