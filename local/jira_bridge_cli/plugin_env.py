"""``jira-bridge ci notify``: the settings of the Drone/Harness ``plugins/jira`` step, as a bridge notification.

A pipeline that used ``plugins/jira`` (github.com/drone/drone-jira) keeps its step's ``settings``:
Drone and Harness pass each as ``PLUGIN_<NAME>``, and the plugin reads the build from Drone's
``DRONE_*`` variables. This reads the same variables (and Woodpecker's and GitLab's ``CI_*`` ones where
Drone's are absent) and builds a ``POST /ci/notify`` body (:mod:`jira_bridge.ci.sources.generic`):

==========================  ======================================================================
plugin setting              in the notification
==========================  ======================================================================
``PLUGIN_PROJECT``          ``PROJECT`` (only this project's keys)
``PLUGIN_INSTANCE``         ``INSTANCE`` (``myorg`` or a URL; checked against the connector's site)
``PLUGIN_CLOUD_ID``         ``CLOUD_ID``
``PLUGIN_PIPELINE``         the pipeline's name and id (default: the repository, ``DRONE_REPO``)
``PLUGIN_ENVIRONMENT_NAME`` ``ENVIRONMENT_NAME``: a deployment (default ``DRONE_DEPLOY_TO``); else a build
``PLUGIN_ENVIRONMENT_ID``   ``ENVIRONMENT_ID``
``PLUGIN_ENVIRONMENT_TYPE`` ``ENVIRONMENT_TYPE``
``PLUGIN_STATE``            the run's state, as the plugin reports it (default ``DRONE_BUILD_STATUS``)
``PLUGIN_LINK``             the run's URL (default ``DRONE_BUILD_LINK``, then ``DRONE_COMMIT_LINK``)
``PLUGIN_ISSUEKEYS``        ``ISSUE_KEYS`` (comma-separated)
``PLUGIN_LOG_LEVEL``        ``LOG_LEVEL`` (``debug``/``trace``: the bridge logs Jira's whole answer,
                            and the command prints the bridge's)
==========================  ======================================================================

Keys are searched (by the bridge, with Atlassian's rules) in the commit message, the pull request
title and the branch. The plugin's Jira credentials (``PLUGIN_CLIENT_ID``/``PLUGIN_CLIENT_SECRET``,
``PLUGIN_CONNECT_KEY``/``PLUGIN_CONNECT_HOSTNAME``) are not used: the bridge's connector holds Jira's
credentials (README "plugins/jira drop-in"); the command says so, naming the variables, never their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jira_bridge.errors import ConfigurationError

# The plugin's credentials, which the bridge's connector replaces.
JIRA_CREDENTIALS = ("PLUGIN_CLIENT_ID", "PLUGIN_CLIENT_SECRET", "PLUGIN_CONNECT_KEY", "PLUGIN_CONNECT_HOSTNAME")
_LOG_LEVELS = {"debug": "debug", "trace": "debug", "info": "info", "warn": "warning", "warning": "warning",
               "error": "error"}


def first(env: Mapping[str, str], *names: str) -> str | None:
    """The first of ``names`` set to something other than blanks."""
    for name in names:
        value = (env.get(name) or "").strip()
        if value:
            return value
    return None


def _required(env: Mapping[str, str], what: str, *names: str) -> str:
    value = first(env, *names)
    if value is None:
        raise ConfigurationError(f"no {what}: set {' or '.join(names)} (the CI sets the latter ones itself)")
    return value


def _started(env: Mapping[str, str]) -> str | None:
    value = first(env, "DRONE_BUILD_STARTED", "CI_PIPELINE_STARTED", "CI_PIPELINE_CREATED_AT")
    if value is None:
        return None
    if value.isdigit():  # Drone and Woodpecker: unix seconds
        return datetime.fromtimestamp(int(value), UTC).isoformat()
    return value  # GitLab: ISO 8601 already


def notification_from_env(env: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The ``/ci/notify`` body the variables describe, and notes for the person reading the step's log."""
    notes = [f"{name} is not used: Jira's credentials live in the bridge's connector secret"
             for name in JIRA_CREDENTIALS if first(env, name)]
    number = _required(env, "build number", "DRONE_BUILD_NUMBER", "CI_PIPELINE_NUMBER", "CI_PIPELINE_IID")
    if not number.isdigit():
        raise ConfigurationError(f"the build number {number!r} is not a number")
    name = _required(env, "pipeline name", "PLUGIN_PIPELINE", "DRONE_REPO", "CI_REPO", "CI_PROJECT_PATH")
    body: dict[str, Any] = {
        "pipeline": {"id": name, "name": name},
        "build_number": int(number),
        "url": _required(env, "link to the run", "PLUGIN_LINK", "DRONE_BUILD_LINK", "CI_PIPELINE_URL",
                         "DRONE_COMMIT_LINK"),
        "state": _required(env, "state", "PLUGIN_STATE", "DRONE_BUILD_STATUS", "CI_PIPELINE_STATUS",
                           "CI_JOB_STATUS"),
    }
    optional = {
        "PROJECT": first(env, "PLUGIN_PROJECT"),
        "INSTANCE": first(env, "PLUGIN_INSTANCE"),
        "CLOUD_ID": first(env, "PLUGIN_CLOUD_ID"),
        "ENVIRONMENT_NAME": first(env, "PLUGIN_ENVIRONMENT_NAME", "DRONE_DEPLOY_TO", "CI_PIPELINE_DEPLOY_TARGET",
                                  "CI_ENVIRONMENT_NAME"),
        "ENVIRONMENT_ID": first(env, "PLUGIN_ENVIRONMENT_ID"),
        "ENVIRONMENT_TYPE": first(env, "PLUGIN_ENVIRONMENT_TYPE"),
        "pr_title": first(env, "DRONE_PULL_REQUEST_TITLE", "CI_COMMIT_PULL_REQUEST_TITLE", "CI_MERGE_REQUEST_TITLE"),
        "branch": first(env, "DRONE_SOURCE_BRANCH", "DRONE_COMMIT_SOURCE", "DRONE_COMMIT_BRANCH",
                        "CI_COMMIT_SOURCE_BRANCH", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH",
                        "CI_COMMIT_REF_NAME"),
        "commit": first(env, "DRONE_COMMIT_SHA", "CI_COMMIT_SHA"),
        "repository_url": first(env, "DRONE_REPO_LINK", "CI_REPO_URL", "CI_PROJECT_URL"),
        "started_at": _started(env),
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    message = first(env, "DRONE_COMMIT_MESSAGE", "CI_COMMIT_MESSAGE")
    if message:
        body["commits"] = [message]
    keys = first(env, "PLUGIN_ISSUEKEYS", "PLUGIN_ISSUE_KEYS")
    if keys:
        body["ISSUE_KEYS"] = [k.strip() for k in keys.split(",") if k.strip()]
    level = first(env, "PLUGIN_LOG_LEVEL")
    if level:
        if level.lower() in _LOG_LEVELS:
            body["LOG_LEVEL"] = _LOG_LEVELS[level.lower()]
        else:
            notes.append(f"PLUGIN_LOG_LEVEL={level!r} is not a level (debug, trace, info, warning, error): ignored")
    return body, notes


def wants_debug(env: Mapping[str, str]) -> bool:
    return (first(env, "PLUGIN_LOG_LEVEL") or "").lower() in {"debug", "trace"}
