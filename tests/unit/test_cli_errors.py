"""What the CLI prints for an error a command let through: network failures of either HTTP stack are
"cannot reach" (exit 5), whichever client raised them, not "a bug"."""

from __future__ import annotations

import pytest
import requests
import urllib3

from jira_bridge_cli.errors import EXIT_BUG, EXIT_NETWORK, describe

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("error", [
    urllib3.exceptions.NewConnectionError(None, "refused"),  # type: ignore[arg-type]  # the bridge client, the layer
    requests.ConnectionError("refused"),  # `jira-bridge local ...`: the simulator's and local stack's clients
    requests.exceptions.ReadTimeout("slow"),
])
def test_a_network_failure_is_a_network_error_whichever_client_raised_it(error: BaseException) -> None:
    message, code = describe(error)
    assert code == EXIT_NETWORK
    assert message.startswith("cannot reach")


def test_anything_else_is_reported_as_a_bug() -> None:
    assert describe(KeyError("x"))[1] == EXIT_BUG
