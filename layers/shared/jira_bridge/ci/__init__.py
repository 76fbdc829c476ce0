"""CI -> Jira: issue keys in what a pipeline built, reported as builds and deployments."""
