import json

import pytest
from django.core.management import CommandError, call_command

from omniguichet.cases.models import Case, CaseEvent
from tests.cases.conftest import event, opened


def test_import_a_file_twice(tmp_path, paris_person, capsys):
    rows = [
        opened("F-1", paris_person),
        event("F-1", 2, "payment", {"amount": 3}),
        event("F-1", 9, "nonsense"),
    ]
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    call_command("import_case_events", str(path), "--batch", "2", "--no-progress")
    out = capsys.readouterr().out
    assert "2 applied, 0 held, 0 duplicates, 1 rejected" in out
    assert "line 3:" in out and "type" in out
    call_command("import_case_events", str(path), "--no-progress")
    assert "0 applied, 0 held, 2 duplicates, 1 rejected" in capsys.readouterr().out
    assert Case.objects.count() == 1 and CaseEvent.objects.count() == 2


def test_import_a_json_array_and_errors(tmp_path, paris_person):
    path = tmp_path / "events.json"
    path.write_text(json.dumps([opened("F-2", paris_person)]))
    call_command("import_case_events", str(path), "--no-progress")
    assert Case.objects.filter(reference="F-2").exists()
    with pytest.raises(CommandError):
        call_command("import_case_events", str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("[{")
    with pytest.raises(CommandError):
        call_command("import_case_events", str(tmp_path / "bad.json"))
