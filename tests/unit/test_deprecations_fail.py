"""pyproject.toml's pytest filterwarnings: a deprecation our code raises or causes fails the test it
happens in (so none can creep in unnoticed); a library's own deprecation stays a warning."""

from __future__ import annotations

import warnings

import pytest


@pytest.mark.parametrize("module", ["jira_bridge.jira.client", "jira_bridge_cli.main", "jira_sim.server",
                                    "local_runtime.runner", "incident_events_handler", "tests.unit.anything",
                                    "scripts.finalize_layer"])
def test_a_deprecation_in_our_code_is_an_error(module: str) -> None:
    with pytest.raises(DeprecationWarning, match="gone in 2"):
        warnings.warn_explicit("gone in 2.0", DeprecationWarning, f"{module}.py", 1, module=module, registry={})


def test_a_call_from_our_code_to_a_deprecated_api_is_an_error() -> None:
    def deprecated_api() -> None:  # a library function warning about its caller, as libraries do
        warnings.warn("use new_api()", DeprecationWarning, stacklevel=2)

    with pytest.raises(DeprecationWarning, match="new_api"):
        deprecated_api()


@pytest.mark.parametrize("module", ["requests.sessions", "pydantic.main", "jira_bridgex", "moto.core", "testsuite"])
def test_a_library_s_own_deprecation_stays_a_warning(module: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn_explicit("internal", DeprecationWarning, f"{module}.py", 1, module=module, registry={})
    assert [w.category for w in caught] == [DeprecationWarning], "shown as a warning, not raised"
