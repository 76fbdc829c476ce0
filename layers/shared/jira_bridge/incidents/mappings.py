"""Mappings as data: incident values -> Jira values, read both ways.

The Jira -> incident path reads the same tables in reverse, so one reviewed file says how the two
sides correspond.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UserMapping(BaseModel):
    # defer_build: the validator is built by the first validation (nested models inside it), not at import
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    # incident-side email -> Jira account id, for people whose Jira email is hidden or different
    accounts: dict[str, str] = Field(default_factory=dict)
    # who gets the issue when the owner has no Jira account (an email or "accountId:<id>"); None = leave unassigned
    fallback: str | None = None

    def account_for(self, email: str) -> str | None:
        wanted = email.strip().lower()
        for known, account in self.accounts.items():
            if known.strip().lower() == wanted:
                return account
        return None

    def email_for(self, account_id: str) -> str | None:
        for email, account in self.accounts.items():
            if account == account_id:
                return email
        return None


class Mappings(BaseModel):
    # defer_build: the validator is built by the first validation (nested models inside it), not at import
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    status: dict[str, str] = Field(default_factory=dict, description="incident state -> Jira status")
    priority: dict[str, str] = Field(default_factory=dict, description="incident priority -> Jira priority")
    severity: dict[str, str] = Field(default_factory=dict, description="incident severity -> Jira priority")
    users: UserMapping = Field(default_factory=UserMapping)
    constants: dict[str, str] = Field(default_factory=dict)
    # Any other lookup a runbook needs, by name: e.g. severity -> a select field's option.
    tables: dict[str, dict[str, str]] = Field(default_factory=dict)

    def table(self, name: str) -> dict[str, str]:
        builtin = {"status": self.status, "priority": self.priority, "severity": self.severity,
                   "constants": self.constants}
        if name in builtin:
            return builtin[name]
        if name in self.tables:
            return self.tables[name]
        raise KeyError(name)

    @staticmethod
    def lookup(table: dict[str, str], value: object) -> str | None:
        """Case-insensitive on the incident side: SEV1, sev1 and Sev1 are one severity."""
        if value is None:
            return None
        wanted = str(value).strip().lower()
        for key, mapped in table.items():
            if key.strip().lower() == wanted:
                return mapped
        return None

    @staticmethod
    def reverse(table: dict[str, str], jira_value: str) -> list[str]:
        """Every incident value that maps to a Jira value (more than one means ambiguous)."""
        wanted = jira_value.strip().lower()
        return [key for key, mapped in table.items() if mapped.strip().lower() == wanted]
