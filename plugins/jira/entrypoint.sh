#!/bin/sh
# plugins/jira drop-in: the step's settings arrive as PLUGIN_* variables, the build as DRONE_*/CI_*;
# `jira-bridge ci notify` turns them into a signed notification to the bridge (README "plugins/jira drop-in").
set -eu
exec jira-bridge ci notify "$@"
