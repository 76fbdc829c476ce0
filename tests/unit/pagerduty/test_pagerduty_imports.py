"""The inbound path stays light: a webhook or EventBridge handler never pays for requests or boto3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]

LAYER = Path(__file__).resolve().parents[3] / "layers" / "shared"


def test_inbound_and_sink_modules_import_without_requests_or_boto3() -> None:
    # A fresh interpreter: this one has long since imported requests for other tests.
    code = (
        "import sys\n"
        "import jira_bridge.pagerduty as pd\n"
        "from jira_bridge.pagerduty import inbound, signature, credentials, rest_sink, events_sink\n"
        "pd.to_canonical, pd.verify_pagerduty_signature\n"
        "print(sorted(m for m in ('requests', 'urllib3', 'boto3', 'botocore') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(LAYER)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                            timeout=60)
    assert result.stdout.strip() == "[]"
