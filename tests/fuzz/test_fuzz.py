"""The fuzz tier inside `make test`: every entry point, a few hundred hostile inputs each, through the
real handlers. `make fuzz` runs the same harness with >= 10,000 inputs per entry point."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from local_runtime.environment import LocalEnvironment
from tests.fuzz.harness import ENTRY_POINTS, EntryPoint, Writes, fuzz_environment, run_entry, sqs_record

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))


@pytest.fixture(scope="module")
def fuzzing() -> Iterator[tuple[LocalEnvironment, Writes]]:
    with fuzz_environment() as running:
        yield running


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=[e.name for e in ENTRY_POINTS])
def test_hostile_input_is_refused_cleanly(fuzzing: tuple[LocalEnvironment, Writes], entry: EntryPoint) -> None:
    env, writes = fuzzing
    tally = run_entry(env, writes, entry, EXAMPLES, derandomize=True)
    assert tally.inputs == EXAMPLES
    assert (tally.unhandled, tally.server_errors, tally.invalid_writes) == (0, 0, 0), "\n".join(tally.examples)


def test_writes_and_parks_on_the_local_queues_are_counted(fuzzing: tuple[LocalEnvironment, Writes]) -> None:
    """The tally above sees queue writes (the template's queues live in the local SQS model here)."""
    env, writes = fuzzing
    aws, parked = writes.aws, writes.parked
    answer = env.runner.invoke("IncidentEventsFunction", {"Records": [sqs_record("not an incident event")]})
    assert answer == {"batchItemFailures": []}
    assert (writes.aws, writes.parked) == (aws, parked + 1), "a poison record is parked, and counted as parked"
    env.sqs.send_message(QueueUrl=env.stack.queue_urls["JiraChangesQueue"], MessageBody="{}",
                         MessageGroupId="g", MessageDeduplicationId="d")
    assert (writes.aws, writes.parked) == (aws + 1, parked + 1), "a send to a working queue is a write"
