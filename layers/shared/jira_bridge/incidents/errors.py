"""How applying an incident event can fail, importable without the sync machinery behind it."""


class SyncRefused(Exception):
    """Jira (or the runbook) refused an action in a way a retry cannot fix; recorded on the link.

    The event belongs in the DLQ, to be replayed once the cause (config, permission, screen) is fixed.
    """


class ClaimInProgress(Exception):
    """Another invocation claimed this incident moments ago and may be creating the issue right now."""

    retryable = True
