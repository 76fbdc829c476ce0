"""The verifier agrees with the test vectors published beside the real Jira captures."""

from pathlib import Path

import pytest

from jira_bridge.webhooks.signature import SignatureInvalid, sign, verify_hub_signature

pytestmark = pytest.mark.contract

WEBHOOKS = Path(__file__).resolve().parents[2].parent / "shared" / "contracts" / "jira-webhooks"
VECTORS = {
    "jira-issue_updated.status-transition.cloud.json":
        "sha256=9d4875be75109a1fcc016aff3d343f32b3d080449e6862ff14dad33e2b3318b7",
    "comment_created.cloud.json": "sha256=36e5564efa2f18243a4c94eeafe76d735d0cda7fa28693cbe364ecf3f5d0ee34",
}


@pytest.mark.parametrize(("name", "header"), VECTORS.items())
def test_published_vectors_verify(name: str, header: str) -> None:
    body = (WEBHOOKS / name).read_bytes()
    verify_hub_signature(body, header, "test-webhook-secret")
    verify_hub_signature(body, header.upper().replace("SHA256=", "sha256="), "test-webhook-secret")
    assert sign(body, "test-webhook-secret") == header


@pytest.mark.parametrize(("name", "header"), VECTORS.items())
def test_a_changed_body_or_secret_fails(name: str, header: str) -> None:
    body = (WEBHOOKS / name).read_bytes()
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_hub_signature(body + b" ", header, "test-webhook-secret")
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_hub_signature(body, header, "another-secret")


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("sha1=" + "0" * 40, "unsupported"),
        ("sha256=xyz", "64 hex"),
        ("9d4875be75109a1fcc016aff3d343f32b3d080449e6862ff14dad33e2b3318b7", "unsupported"),
    ],
)
def test_malformed_headers_are_rejected(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureInvalid, match=reason):
        verify_hub_signature(b"{}", header, "test-webhook-secret")
