"""`X-PagerDuty-Signature` against the test vectors in ../shared/contracts/pagerduty/README.md."""

from __future__ import annotations

import pytest

from jira_bridge.pagerduty.signature import SignatureInvalid, sign, verify_pagerduty_signature
from tests.unit.pagerduty.pd_fakes import sample_bytes

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]

# Vector A (upstream, go-pagerduty webhookv3_test.go)
KEY_A = "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK"
BODY_A = "incident.priority_updated.go-pagerduty-signed.json"
VALID_A = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd"
REJECTED_A = "v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5"
# Vector B (computed locally, README)
KEY_B, OLD_KEY_B = "test-pd-secret", "test-pd-secret-old"
BODY_B = "incident.priority_updated.zulip.json"
VALID_B = "v1=099633b7fb294421606f31e00e2ee73a515809dcb23404373a5eefb651d7cd11"
OLD_B = "v1=66fac8f4917e9448f54ea3b3e2f7b331e9f8d9bcb5f827015be1fbf62e9e603c"


@pytest.mark.parametrize(("body", "key", "header"), [(BODY_A, KEY_A, VALID_A), (BODY_B, KEY_B, VALID_B)])
def test_published_vectors_verify_and_sign(body: str, key: str, header: str) -> None:
    raw = sample_bytes(body)
    verify_pagerduty_signature(raw, header, [key])
    verify_pagerduty_signature(raw, header.upper().replace("V1=", "v1="), [key])  # hex case does not matter
    assert sign(raw, key) == header


def test_the_upstream_invalid_signature_is_rejected() -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_pagerduty_signature(sample_bytes(BODY_A), REJECTED_A, [KEY_A])


@pytest.mark.parametrize("header", [f"{VALID_B},{OLD_B}", f"{OLD_B},{VALID_B}", f"{OLD_B}, {VALID_B}"])
def test_rotation_any_entry_may_match(header: str) -> None:
    raw = sample_bytes(BODY_B)
    verify_pagerduty_signature(raw, header, [KEY_B])
    verify_pagerduty_signature(raw, header, [OLD_KEY_B])


def test_we_may_hold_two_secrets_while_rotating() -> None:
    raw = sample_bytes(BODY_B)
    verify_pagerduty_signature(raw, OLD_B, [KEY_B, OLD_KEY_B])
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_pagerduty_signature(raw, OLD_B, [KEY_B, "another-secret"])


def test_a_changed_body_fails() -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_pagerduty_signature(sample_bytes(BODY_B) + b" ", VALID_B, [KEY_B])


def test_unknown_schemes_and_junk_entries_are_skipped_not_fatal() -> None:
    raw = sample_bytes(BODY_B)
    verify_pagerduty_signature(raw, f"v2=abc,v1=nothex,{VALID_B}", [KEY_B])


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        ("sha256=" + "0" * 64, "no v1"),
        ("v1=xyz", "no v1"),
        ("v1=" + "0" * 63, "no v1"),
        (VALID_B.removeprefix("v1="), "no v1"),
        (",,,", "no v1"),
        ("v2=" + VALID_B.removeprefix("v1="), "no v1"),
    ],
)
def test_malformed_headers_are_rejected(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureInvalid, match=reason):
        verify_pagerduty_signature(sample_bytes(BODY_B), header, [KEY_B])


def test_without_a_configured_secret_nothing_is_accepted() -> None:
    with pytest.raises(SignatureInvalid, match="no PagerDuty webhook secret"):
        verify_pagerduty_signature(sample_bytes(BODY_B), VALID_B, [])
