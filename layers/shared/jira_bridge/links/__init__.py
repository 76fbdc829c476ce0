"""The incident <-> Jira issue link: its record and the DynamoDB store that keeps it."""
