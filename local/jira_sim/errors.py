"""Errors the simulator answers with, in the shapes Jira uses.

The platform API (``/rest/api/3``) answers ``{"errorMessages": [...], "errors": {...}}``; the
software APIs (builds/deployments) answer the spec's ``ErrorMessages``: a non-empty array of
``{"message": ...}``. Messages copy Jira's wording where it is known from real responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
NOT_AUTHENTICATED = "Client must be authenticated to access this resource."
NOT_ON_SCREEN = "Field '{field}' cannot be set. It is not on the appropriate screen, or unknown."
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"


class JiraError(Exception):
    """A platform API error: raise it anywhere in a handler, the app turns it into a response."""

    def __init__(
        self,
        status: int,
        messages: Sequence[str] = (),
        errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})
        super().__init__(f"{status}: {self.messages or self.errors}")

    def body(self) -> dict[str, Any]:
        return {"errorMessages": self.messages, "errors": self.errors}

    @classmethod
    def field_errors(cls, errors: Mapping[str, str]) -> JiraError:
        return cls(400, errors=errors)

    @classmethod
    def issue_not_found(cls) -> JiraError:
        return cls(404, [ISSUE_NOT_FOUND])


class SoftwareError(Exception):
    """A builds/deployments API error: the body is the spec's ``ErrorMessages`` array."""

    def __init__(self, status: int, *messages: str) -> None:
        self.status = status
        self.messages = list(messages) or ["Unexpected error"]
        super().__init__(f"{status}: {self.messages}")

    def body(self) -> list[dict[str, str]]:
        return [{"message": m} for m in self.messages]
