import pytest

from jira_bridge_cli.main import main

pytestmark = pytest.mark.unit


def test_keys_prints_one_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "[OPS-1] fix login (ops-2)", "feature/PAY-3-retry"]) == 0
    assert capsys.readouterr().out.splitlines() == ["OPS-1", "OPS-2", "PAY-3"]


def test_keys_with_a_project(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "OPS-1 PAY-3 UTF-8", "--project", "pay"]) == 0
    assert capsys.readouterr().out.splitlines() == ["PAY-3"]


def test_no_keys_exits_1_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "chore: bump OPS-012"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no issue keys found" in captured.err


def test_approval_needs_a_way_to_ask(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["approval", "OPS-1"]) == 2
    assert "--url" in capsys.readouterr().err
    assert main(["approval", "OPS-1", "--url", "http://x", "--pipeline", "ci"]) == 2
    assert "together" in capsys.readouterr().err
