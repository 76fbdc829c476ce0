"""Jira connectors: who the bridge talks to Jira as, per Jira project."""
