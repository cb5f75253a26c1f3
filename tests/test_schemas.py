import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from models.events import CONTRACTS
from models.schemas import breaking_changes, compatibility_report, contract_schemas

COMMITTED = Path(__file__).resolve().parents[1] / "schemas"


def test_current_models_do_not_break_the_committed_schemas():
    assert compatibility_report(COMMITTED) == []


def test_every_contract_is_committed():
    assert {p.stem for p in COMMITTED.glob("*.json")} == set(CONTRACTS)


@pytest.fixture
def order_schema():
    return contract_schemas()["order.accepted.v1"]


def test_removed_field_is_breaking(order_schema):
    changed = copy.deepcopy(order_schema)
    del changed["properties"]["order_number"]
    assert breaking_changes(order_schema, changed) == ["order_number: removed"]


def test_retyped_field_is_breaking(order_schema):
    changed = copy.deepcopy(order_schema)
    changed["properties"]["order_number"] = {"type": "integer"}
    assert breaking_changes(order_schema, changed) == ["order_number: type changed"]


def test_nested_retype_is_breaking(order_schema):
    changed = copy.deepcopy(order_schema)
    changed["$defs"]["Money"]["properties"]["amount"] = {"type": "number"}
    assert breaking_changes(order_schema, changed) == ["total.amount: type changed"]


def test_new_required_field_is_breaking_but_new_optional_is_not(order_schema):
    optional = copy.deepcopy(order_schema)
    optional["properties"]["channel"] = {"type": "string"}
    assert breaking_changes(order_schema, optional) == []
    required = copy.deepcopy(optional)
    required["required"].append("channel")
    assert breaking_changes(order_schema, required) == ["channel: newly required"]


def test_report_flags_a_changed_committed_file(tmp_path):
    for path in COMMITTED.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    older = json.loads((tmp_path / "payment.received.v1.json").read_text())
    older["properties"]["payer"] = {"type": "string"}
    (tmp_path / "payment.received.v1.json").write_text(json.dumps(older))
    assert compatibility_report(tmp_path) == ["payment.received.v1: payer: removed"]


def test_cli_export_writes_what_is_committed(tmp_path):
    result = CliRunner().invoke(app, ["schemas", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for path in COMMITTED.glob("*.json"):
        assert json.loads((tmp_path / path.name).read_text()) == json.loads(path.read_text())
