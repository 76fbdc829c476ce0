"""Inbound webhooks: verification first, then parsing."""
