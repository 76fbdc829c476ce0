"""Incident -> Jira: the canonical incident event, runbooks, mappings and the sync that applies them."""
