"""The benchmark's measuring helpers (bench/measures.py): what `make bench` reports rests on them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.bench_modules import BENCH
from tests.bench_modules import load as _load

measures = _load("measures")


def test_percentile_is_the_nearest_rank() -> None:
    samples = [float(n) for n in range(100, 0, -1)]  # 1..100, unsorted
    assert measures.percentile(samples, 0.99) == 99.0
    assert measures.percentile(samples, 0.5) == 50.0
    assert measures.percentile(samples, 1.0) == 100.0
    assert measures.percentile([3.0, 1.0, 2.0], 0.99) == 3.0  # ceil(2.97) = 3rd smallest
    assert measures.percentile([7.0], 0.01) == 7.0


def test_percentile_refuses_nothing_and_nonsense() -> None:
    with pytest.raises(ValueError, match="no samples"):
        measures.percentile([], 0.99)
    with pytest.raises(ValueError, match="q must be"):
        measures.percentile([1.0], 0)


def test_median_ratio_pairs_each_sample_with_its_neighbour() -> None:
    # the load quadrupled for two pairs: the per-pair ratios stay 2.0, the ratio of the medians (150/100) would not
    pairs = [(100.0, 50.0), (110.0, 55.0), (400.0, 200.0), (440.0, 220.0), (150.0, 100.0)]
    assert measures.median_ratio(pairs) == 2.0
    with pytest.raises(ValueError, match="no pairs"):
        measures.median_ratio([])


def test_apparent_size_counts_directories_like_du(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_bytes(b"x" * 1000)
    (tmp_path / "pkg" / "sub" / "b.py").write_bytes(b"y" * 24)
    files_only = 1024
    dirs = sum(p.lstat().st_size for p in (tmp_path, tmp_path / "pkg", tmp_path / "pkg" / "sub"))
    assert measures.apparent_size(tmp_path) == files_only + dirs
    assert measures.apparent_size(tmp_path) > files_only


def test_lambda_cpu_share_is_proportional_below_one_vcpu() -> None:
    assert measures.lambda_cpu_share(1769) == 1.0
    assert measures.lambda_cpu_share(3538) == 1.0  # one core's worth is all a single-threaded start uses
    assert measures.lambda_cpu_share(128) == pytest.approx(128 / 1769)
    assert measures.lambda_cpu_share(512) == pytest.approx(0.2894, abs=1e-4)
    with pytest.raises(ValueError, match="positive"):
        measures.lambda_cpu_share(0)


def test_failure_of_names_failed_records_and_error_answers() -> None:
    assert measures.failure_of({"batchItemFailures": []}) is None
    assert measures.failure_of({"statusCode": 202, "body": "{}"}) is None
    assert measures.failure_of(None) is None
    assert "failed records" in str(measures.failure_of({"batchItemFailures": [{"itemIdentifier": "m1"}]}))
    assert "answered 503" in str(measures.failure_of({"statusCode": 503, "body": "Jira is unavailable"}))


def test_library_floor_keeps_every_library_and_leaves_out_only_the_bridges_own_code() -> None:
    cold_import = _load("cold_import")
    loaded = ["__main__", "asyncio", "boto3", "incident_events_handler", "jira_bridge", "jira_bridge.incidents.sync",
              "jinja2.sandbox", "pydantic", "pydantic_core._pydantic_core", "jira_bridge_extra"]

    libraries = cold_import.library_modules(loaded, "incident_events_handler")

    assert libraries == ["asyncio", "boto3", "jinja2.sandbox", "pydantic", "pydantic_core._pydantic_core",
                         "jira_bridge_extra"]


def test_loading_the_warm_bench_leaves_the_process_environment_alone() -> None:
    # bench/run.py imports it and goes on to run the local stack's functions in the same process
    before = dict(os.environ)

    warm = _load("warm")

    assert dict(os.environ) == before
    assert "LINK_TABLE_NAME" in warm.HANDLER_ENVIRONMENT


def test_the_warm_handlers_get_a_lambda_environment_and_nothing_of_the_parents_but_scratch_space() -> None:
    warm = _load("warm")
    cold_import = _load("cold_import")
    parent = {"TMPDIR": "/scratch", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ACCESS_KEY_ID": "testing",
              "HTTPS_PROXY": "http://proxy:3128", "AWS_CA_BUNDLE": "/etc/ca.pem", "POWERTOOLS_TRACE_DISABLED": "1"}

    environment = warm.measuring_environment(parent, cold_import.lambda_environment("bench"))

    assert environment["TMPDIR"] == "/scratch"
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == "bench"  # Tracer and the Jira metrics are on
    assert environment["LINK_TABLE_NAME"] == warm.HANDLER_ENVIRONMENT["LINK_TABLE_NAME"]
    leaked = {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "HTTPS_PROXY", "AWS_CA_BUNDLE", "POWERTOOLS_TRACE_DISABLED"}
    assert not leaked & set(environment)


def test_the_warm_handlers_log_at_the_deployed_default_level() -> None:
    # each event's INFO line is part of what a deployment with the template's defaults pays per event
    from local_runtime.cfn_yaml import load_template

    warm = _load("warm")
    template = load_template(BENCH.parent / "template.yaml")

    assert warm.HANDLER_ENVIRONMENT["POWERTOOLS_LOG_LEVEL"] == template["Parameters"]["LogLevel"]["Default"]
