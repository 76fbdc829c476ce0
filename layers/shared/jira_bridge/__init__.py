"""Jira Bridge shared layer: Jira client, link store, connectors and the mapping logic.

Nothing in this package does I/O at import time; adapters are built lazily by their factories.
"""
