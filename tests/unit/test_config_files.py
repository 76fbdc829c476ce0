"""Config compiled to JSON at layer build time reads back exactly as the YAML parses, and only for the
very text it was made from."""

from __future__ import annotations

from pathlib import Path

import pytest

from jira_bridge import config_files
from jira_bridge.config_files import compile_yaml, compiled_document, parse_yaml, read_yaml
from jira_bridge.connectors.routing import load_routing
from jira_bridge.errors import ConfigurationError

pytestmark = pytest.mark.unit

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"


def compile_into(directory: Path, source: Path) -> None:
    compiled = compile_yaml(source)
    assert compiled is not None, f"{source.name} should compile"
    (directory / f"{source.name}.json").write_text(compiled, encoding="utf-8")


@pytest.mark.parametrize("name", sorted(p.name for p in REPO_CONFIG.glob("*.yaml")))
def test_every_shipped_config_file_reads_back_as_it_parses(name: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    source = REPO_CONFIG / name
    compile_into(tmp_path, source)
    parsed = parse_yaml(source, source.read_text(encoding="utf-8"))
    monkeypatch.setattr(config_files, "COMPILED_DIR", tmp_path)
    monkeypatch.setattr(config_files, "parse_yaml", lambda *_: pytest.fail("parsed YAML despite its compiled copy"))
    document = read_yaml(source)
    assert document.data == parsed.data
    assert document.lines == parsed.lines
    assert document.where(("no", "such", "key")) == parsed.where(("no", "such", "key"))


def test_a_file_changed_after_the_build_is_parsed_with_its_problems(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    built, config = tmp_path / "built", tmp_path / "config"
    built.mkdir()
    config.mkdir()
    path = config / "ci.yaml"
    path.write_text("approval:\n  enabled: true\n", encoding="utf-8")
    compile_into(built, path)
    monkeypatch.setattr(config_files, "COMPILED_DIR", built)
    assert read_yaml(path).data == {"approval": {"enabled": True}}

    path.write_text("approval:\n  enabled: false\n", encoding="utf-8")  # edited after the build
    assert read_yaml(path).data == {"approval": {"enabled": False}}
    path.write_text("approval:\n  enabled: true\n  enabled: false\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"ci.yaml:3: key 'enabled' appears twice"):
        read_yaml(path)


@pytest.mark.parametrize("text", [
    "a:\n  a: 1\n  a: 2\n",  # duplicate key: reported at run time with its line
    "a: [1\n",  # not YAML
    "when: 2026-12-04\n",  # a date: JSON has none
    "1: one\n",  # a non-string key would come back as "1"
    "x: .nan\n",  # NaN is not JSON
])
def test_what_json_cannot_carry_exactly_is_not_compiled(text: str, tmp_path: Path) -> None:
    path = tmp_path / "runbooks.yaml"
    path.write_text(text, encoding="utf-8")
    assert compile_yaml(path) is None
    assert compiled_document(path, text, tmp_path) is None


def test_connectors_routing_reads_the_compiled_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = REPO_CONFIG / "connectors.yaml"
    expected = load_routing(source)
    compile_into(tmp_path, source)
    monkeypatch.setattr(config_files, "COMPILED_DIR", tmp_path)
    import yaml

    monkeypatch.setattr(yaml, "safe_load", lambda *_: pytest.fail("parsed YAML despite its compiled copy"))
    assert load_routing(source) == expected
