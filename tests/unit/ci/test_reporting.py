import json
from datetime import UTC, datetime, timedelta

import pytest

from jira_bridge.ci.errors import DeliveryFailed
from jira_bridge.ci.model import CiRun, Environment, KeyTexts, Pipeline, Site
from jira_bridge.ci.reporting import CiReporter, ReportOutcome, issue_keys_for
from jira_bridge.jira.errors import JiraAuthError, JiraRequestRefused, JiraUnavailable
from tests.unit.ci.ci_fakes import FakeSoftware, directory, site

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def run(number: int = 1, commit: str = "OPS-1 fix", **changes: object) -> CiRun:
    base = CiRun(source="notify", pipeline=Pipeline("ci", "CI"), number=number, url=f"https://ci.example.com/{number}",
                 state="success", updated_at=T0, texts=KeyTexts(commit_messages=(commit,)))
    return CiRun(**{**base.__dict__, **changes})  # type: ignore[arg-type]


@pytest.fixture
def jira() -> FakeSoftware:
    return FakeSoftware(known_keys={"OPS-1", "OPS-2", "PAY-1"})


@pytest.fixture
def reporter(jira: FakeSoftware) -> CiReporter:
    return CiReporter(directory({"default": site("default", jira)}))


def test_a_build_is_reported_in_one_request(reporter: CiReporter, jira: FakeSoftware) -> None:
    outcome = reporter.report([run()])
    (result,) = outcome.results
    assert (result.status, result.kind, result.state, result.issue_keys) == ("reported", "build", "successful",
                                                                            ("OPS-1",))
    (request,) = jira.requests
    assert request[0] == "builds"
    assert request[1]["providerMetadata"] == {"product": "Jira Bridge"}
    assert (outcome.requests[0].accepted, outcome.requests[0].entities) == (1, 1)


def test_no_issue_key_succeeds_without_calling_jira(reporter: CiReporter, jira: FakeSoftware) -> None:
    outcome = reporter.report([run(commit="chore: bump deps")])
    assert outcome.results[0].status == "skipped"
    assert "no issue keys" in outcome.results[0].reason
    assert jira.requests == []
    assert outcome.requests == ()
    assert outcome.worst == "skipped"


def test_state_filter_skips_other_states(reporter: CiReporter, jira: FakeSoftware) -> None:
    outcome = reporter.report([run(state="running", report_only_state="success"),
                               run(number=2, state="SUCCEEDED", report_only_state="successful")])
    assert [r.status for r in outcome.results] == ["skipped", "reported"]
    assert "STATE asks for successful" in outcome.results[0].reason
    assert len(jira.requests) == 1


def test_several_notifications_go_in_one_request_per_kind(reporter: CiReporter, jira: FakeSoftware) -> None:
    runs = [run(n) for n in range(1, 6)] + [run(n, environment=Environment("production")) for n in range(1, 4)]
    outcome = reporter.report(runs)
    assert [kind for kind, _ in jira.requests] == ["builds", "deployments"]
    assert len(jira.requests[0][1]["builds"]) == 5
    assert len(jira.requests[1][1]["deployments"]) == 3
    assert outcome.count("reported") == 8


def test_more_than_a_hundred_entities_are_split_at_jiras_limit(reporter: CiReporter, jira: FakeSoftware) -> None:
    outcome = reporter.report([run(n) for n in range(1, 251)])
    assert [len(payload["builds"]) for _, payload in jira.requests] == [100, 100, 50]
    assert outcome.count("reported") == 250


def test_a_batch_over_jiras_size_limit_is_split_until_it_fits(reporter: CiReporter, jira: FakeSoftware) -> None:
    runs = [run(n, description="x" * 200) for n in range(1, 101)]
    one_build = len(json.dumps(reporter.report(runs[:1]) and jira.requests[0][1]).encode())
    jira.requests.clear()
    jira.max_bytes = one_build * 30  # about 30 builds per request
    outcome = reporter.report(runs)
    sizes = [len(payload["builds"]) for _, payload in jira.requests]
    assert sizes[:3] == [100, 50, 25]  # refused, refused, accepted
    assert sum(r.entities for r in outcome.requests if not r.too_large) == 100
    assert sum(r.accepted for r in outcome.requests) == 100
    assert outcome.count("reported") == 100
    assert len([r for r in outcome.requests if r.too_large]) == 3  # 100, and both 50s
    assert len(jira.requests) == 7


def test_only_an_entity_too_large_on_its_own_is_named(reporter: CiReporter, jira: FakeSoftware) -> None:
    runs = [run(n) for n in range(1, 9)]
    runs[5] = run(6, issue_keys=("OPS-1", *(f"{'LONG' * 8}-{n}" for n in range(1, 100))))
    jira.max_bytes = 3000
    outcome = reporter.report(runs)
    statuses = [r.status for r in outcome.results]
    assert statuses == ["reported"] * 5 + ["rejected"] + ["reported"] * 2
    assert "the build alone is over Jira's request size limit" in outcome.results[5].reason
    assert "Submit fewer builds" in outcome.results[5].reason
    assert outcome.worst == "rejected"


def test_unrecognised_words_are_reported_with_a_warning(reporter: CiReporter) -> None:
    outcome = reporter.report([
        run(1, state="sucess"),
        run(2, state="success"),
        run(3, state="running", report_only_state="sucessful"),
        run(4, environment=Environment("eu-1", type="prodd")),
    ])
    first, second, third, fourth = outcome.results
    assert (first.status, first.state) == ("reported", "unknown")
    assert first.warnings == ("state 'sucess' is not a CI state the bridge knows: reported as unknown "
                              "(see README 'CI states and environment words'; check the spelling)",)
    assert second.warnings == ()
    assert third.status == "skipped"
    assert "STATE 'sucessful'" in third.warnings[0]
    assert "ENVIRONMENT_TYPE 'prodd' is not one of Jira's types" in fourth.warnings[0]
    assert ReportOutcome.from_dict(outcome.as_dict()) == outcome


def test_two_updates_of_one_build_collapse_into_the_newer(reporter: CiReporter, jira: FakeSoftware) -> None:
    outcome = reporter.report([run(state="success", updated_at=T0 + timedelta(minutes=2)),
                               run(state="running", updated_at=T0)])
    (request,) = jira.requests
    assert [b["state"] for b in request[1]["builds"]] == ["successful"]
    assert [r.status for r in outcome.results] == ["reported", "reported"]


def test_unknown_keys_alone_are_not_a_failure(reporter: CiReporter) -> None:
    outcome = reporter.report([run(commit="OPS-1 and OPS-77"), run(2, commit="OPS-404 only unknown")])
    first, second = outcome.results
    assert (first.status, first.unknown_issue_keys) == ("reported", ("OPS-77",))
    assert (second.status, second.unknown_issue_keys) == ("unknown_keys", ("OPS-404",))
    assert outcome.worst == "reported"


def test_rejections_carry_jiras_messages(jira: FakeSoftware, reporter: CiReporter) -> None:
    jira.reject = {("ci", "2")}
    outcome = reporter.report([run(1), run(2)])
    assert [r.status for r in outcome.results] == ["reported", "rejected"]
    assert outcome.results[1].messages == ("displayName is too long",)
    assert outcome.worst == "rejected"


def test_a_refused_request_rejects_its_entities_and_credentials_are_an_error(jira: FakeSoftware,
                                                                             reporter: CiReporter) -> None:
    jira.fail_with = JiraRequestRefused(method="POST", path="/bulk", status=400, error_messages=["bad request"])
    assert reporter.report([run()]).results[0].status == "rejected"
    jira.fail_with = JiraAuthError(method="POST", path="/oauth/token", status=401)
    assert reporter.report([run()]).worst == "error"


def test_transient_failures_propagate_for_a_retry(jira: FakeSoftware, reporter: CiReporter) -> None:
    jira.fail_with = JiraUnavailable("Jira failed POST (503)", status=503)
    with pytest.raises(JiraUnavailable):
        reporter.report([run()])


def test_project_filter_and_caller_projects() -> None:
    jira = FakeSoftware(known_keys={"OPS-1", "PAY-1"})
    reporter = CiReporter(directory({"default": site("default", jira)}))
    outcome = reporter.report([run(commit="OPS-1 PAY-1", project="PAY")])
    assert outcome.results[0].issue_keys == ("PAY-1",)
    outcome = reporter.report([run(commit="OPS-1 PAY-1")], allowed_projects=["ops"])
    assert outcome.results[0].issue_keys == ("OPS-1",)
    outcome = reporter.report([run(commit="PAY-1")], allowed_projects=["OPS"])
    assert outcome.results[0].status == "skipped"


def test_keys_of_two_projects_go_to_each_projects_connector() -> None:
    ops, pay = FakeSoftware(known_keys={"OPS-1"}), FakeSoftware(known_keys={"PAY-1"})
    reporter = CiReporter(directory({"default": site("default", ops), "payments": site("payments", pay)},
                                    {"PAY": "payments"}))
    outcome = reporter.report([run(commit="OPS-1 and PAY-1")])
    assert [p["builds"][0]["issueKeys"] for _, p in ops.requests] == [["OPS-1"]]
    assert [p["builds"][0]["issueKeys"] for _, p in pay.requests] == [["PAY-1"]]
    assert outcome.results[0].connectors == ("default", "payments")
    assert outcome.results[0].status == "reported"


def test_the_site_the_caller_named_must_be_the_connectors(reporter: CiReporter, jira: FakeSoftware) -> None:
    assert reporter.report([run(site=Site(instance="myorg"))]).results[0].status == "reported"
    assert reporter.report([run(site=Site(instance="https://myorg.atlassian.net"))]).results[0].status == "reported"
    other = reporter.report([run(site=Site(instance="otherorg"))]).results[0]
    assert other.status == "rejected"
    assert "INSTANCE 'otherorg'" in other.reason
    # CLOUD_ID wins over INSTANCE
    assert reporter.report([run(site=Site(instance="otherorg", cloud_id="cloud-1"))]).results[0].status == "reported"
    assert reporter.report([run(site=Site(cloud_id="cloud-2"))]).results[0].status == "rejected"
    assert len(jira.requests) == 3


def test_a_connector_without_builds_credentials_is_an_error() -> None:
    outcome = CiReporter(directory({"default": site("default", None)})).report([run()])
    assert outcome.results[0].status == "error"
    assert "oauth_client_id" in outcome.results[0].reason


def test_outcome_round_trips_through_json(reporter: CiReporter) -> None:
    outcome = reporter.report([run(commit="OPS-1 OPS-77", debug=True), run(2, commit="nothing")])
    assert ReportOutcome.from_dict(outcome.as_dict()) == outcome
    assert outcome.as_dict()["requests"][0]["answer"]["acceptedBuilds"]


def test_explicit_keys_come_first_and_keys_are_capped() -> None:
    many = " ".join(f"OPS-{n}" for n in range(1, 700))
    assert issue_keys_for(run(commit="OPS-2", issue_keys=("ops-5",)))[:2] == ["OPS-5", "OPS-2"]
    assert len(issue_keys_for(run(commit=many))) == 100
    assert len(issue_keys_for(run(commit=many, environment=Environment("prod")))) == 500


def test_delivery_failed_names_the_failing_runs() -> None:
    outcome = CiReporter(directory({"default": site("default", None)})).report([run(), run(commit="no key")])
    failed = DeliveryFailed(outcome)
    assert failed.outcome is outcome
    assert str(failed).startswith("1 of 2 runs not reported: connector 'default' has no builds/deployments")
