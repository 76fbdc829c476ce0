"""`jira-bridge webhooks check|register`: does the site send this stack the events it needs, signed?

Three admin webhook APIs (none is in the platform OpenAPI documents):

* Jira Cloud and Jira Data Center 9.x: ``/rest/webhooks/1.0/webhook`` (``name``, ``url``, ``events``,
  ``filters``, ``excludeBody``; Cloud also takes ``secret``: "secure admin webhooks"). The 9.x API
  has no secret (Atlassian JRASERVER-78733), so a 9.x site cannot sign: its connector must use
  ``webhook_auth: hint``.
* Jira Data Center 10.0+: ``/rest/jira-webhook/1.0/webhooks`` (``name``, ``url``, ``events``,
  ``configuration``, ``active``, ``sslVerificationRequired``; a bare array when listed). The secret
  goes in ``configuration.SECRET``: a third-party setup note says so and that a top-level ``secret``
  is silently ignored; it is not confirmed by Atlassian, which is why the check asks for one signed
  delivery (the bridge answers 401 to an unsigned one).

Jira never returns a webhook's secret, so whether the stored secret matches the connector's can only
be seen from a delivery; the check says so instead of guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from jira_bridge.jira.client import JiraClient

BRIDGE_EVENTS: Final = (
    "jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated",
)
LEGACY_API: Final = "/rest/webhooks/1.0/webhook"
DC10_API: Final = "/rest/jira-webhook/1.0/webhooks"
WEBHOOK_NAME: Final = "jira-bridge"


@dataclass(frozen=True)
class AdminWebhook:
    id: str
    name: str
    url: str
    events: tuple[str, ...]
    enabled: bool


@dataclass(frozen=True)
class WebhookApi:
    """Which admin webhook API a site has, and whether it can sign."""

    path: str
    signs: bool
    describe: str

    def list(self, client: JiraClient) -> list[AdminWebhook]:
        body = client.transport.get(self.path).body
        items = body if isinstance(body, list) else (body or {}).get("values", []) if isinstance(body, dict) else []
        return [_webhook(item) for item in items if isinstance(item, dict)]

    def body(self, url: str, secret: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": WEBHOOK_NAME, "url": url, "events": list(BRIDGE_EVENTS), "excludeBody": False}
        if self.path == DC10_API:
            body = {"name": WEBHOOK_NAME, "url": url, "events": list(BRIDGE_EVENTS), "active": True,
                    "configuration": {"EXCLUDE_BODY": "false", **({"SECRET": secret} if secret else {})}}
        elif secret and self.signs:
            body["secret"] = secret
        return body

    def register(self, client: JiraClient, url: str, secret: str | None) -> AdminWebhook:
        answer = client.transport.post(self.path, json=self.body(url, secret), template=self.path)
        return _webhook(answer.body if isinstance(answer.body, dict) else {"url": url, "name": WEBHOOK_NAME})


def _webhook(item: dict[str, Any]) -> AdminWebhook:
    ident = item.get("id") or str(item.get("self", "")).rstrip("/").rsplit("/", 1)[-1]
    return AdminWebhook(
        id=str(ident), name=str(item.get("name", "")), url=str(item.get("url", "")),
        events=tuple(str(e) for e in item.get("events") or []),
        enabled=bool(item.get("enabled", item.get("active", True))),
    )


def webhook_api(client: JiraClient) -> WebhookApi:
    """The admin webhook API of the connector's site (a Data Center site is asked its version)."""
    if client.kind != "datacenter":
        return WebhookApi(LEGACY_API, True, "Jira Cloud admin webhooks (/rest/webhooks/1.0/webhook)")
    version = client.server_info().version_numbers[:2]
    if version >= (10, 0):
        return WebhookApi(DC10_API, True, "Jira Data Center 10+ webhooks (/rest/jira-webhook/1.0/webhooks)")
    return WebhookApi(LEGACY_API, False, "Jira Data Center 9.x webhooks (/rest/webhooks/1.0/webhook, unsigned)")


@dataclass(frozen=True)
class WebhookReport:
    ok: bool
    lines: tuple[str, ...]
    fix: str | None = None

    def to_text(self) -> str:
        return "\n".join([*self.lines, *([f"fix: {self.fix}"] if self.fix else [])])


def check_webhooks(client: JiraClient, stack_url: str, *, has_secret: bool, webhook_auth: str,
                   connector: str = "default") -> WebhookReport:
    """Is there an enabled admin webhook to ``stack_url`` with the bridge's events, and can it be trusted?"""
    api = webhook_api(client)
    hooks = api.list(client)
    lines = [f"{api.describe}: {len(hooks)} webhook(s) on {client.transport.base_url}"]
    ours = [h for h in hooks if h.url.split("?", 1)[0].rstrip("/") == stack_url.split("?", 1)[0].rstrip("/")]
    register = f"jira-bridge webhooks register --connector {connector} --url {stack_url}"
    body = json.dumps(api.body(stack_url, "<the connector's webhook_secret>" if api.signs else None))
    manual = f"or POST {api.path} with {body} as a Jira administrator"
    if not ours:
        return WebhookReport(False, (*lines, f"none points at {stack_url}"), f"run `{register}` ({manual})")
    hook = ours[0]
    missing = [e for e in BRIDGE_EVENTS if e not in hook.events]
    lines.append(f"'{hook.name}' (id {hook.id}) points at {stack_url}: events {', '.join(hook.events) or 'none'}")
    if not hook.enabled:
        return WebhookReport(False, tuple(lines), f"enable webhook {hook.id} in Jira (System > WebHooks)")
    if missing:
        return WebhookReport(False, tuple(lines), f"add the events {', '.join(missing)} to webhook {hook.id} "
                                                  "in Jira (System > WebHooks), or delete it and " + register)
    if not api.signs:
        if webhook_auth != "hint":
            return WebhookReport(False, (*lines, "this Jira cannot sign webhooks, and the connector expects "
                                         "signed ones: every delivery will be refused"),
                                 'set "webhook_auth": "hint" in the connector secret (unsigned deliveries are '
                                 "then only a hint to re-read the issue; see docs/datacenter.md)")
        return WebhookReport(True, (*lines, "unsigned (Jira 9.x): deliveries are hints, issues are re-read"))
    if not has_secret:
        return WebhookReport(False, (*lines, "the connector has no webhook_secret: deliveries will be refused"),
                             "put the webhook's secret in the connector secret's webhook_secret")
    return WebhookReport(True, (*lines, "Jira does not show a webhook's secret: if deliveries are refused with "
                                "401 'invalid signature', set the same secret on both sides"))
