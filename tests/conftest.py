pytest_plugins = ["tests.conftest_jira_sim"]
