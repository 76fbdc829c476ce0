"""The `jira-bridge` command line."""
