"""Our Label Studio tasks against Label Studio itself, through its REST API.

Label Studio is a Django server with its own pins, so it is not in requirements.txt; this test
runs where one is reachable and skips elsewhere (CI). How to run it (README, "Correcting the
model"):

    python -m venv /tmp/ls && /tmp/ls/bin/pip install label-studio==1.23.2
    LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true LABEL_STUDIO_USERNAME=me@example.com \\
      LABEL_STUDIO_PASSWORD=secret123 LABEL_STUDIO_USER_TOKEN=token123 \\
      /tmp/ls/bin/label-studio start --no-browser --port 8765 &
    LABEL_STUDIO_URL=http://127.0.0.1:8765 LABEL_STUDIO_API_KEY=token123 python -m pytest tests/test_labelstudio.py
"""

import json
import os
import urllib.request
import uuid

import pytest
import spacy

from pt_legal_ner.review.formats import FormatError, LabelStudio
from pt_legal_ner.review.loop import export_tasks, import_corrections
from tests.test_review import LENER, TEXTS, expected, records, spans_of

URL = os.environ.get("LABEL_STUDIO_URL")
KEY = os.environ.get("LABEL_STUDIO_API_KEY")
pytestmark = pytest.mark.skipif(not (URL and KEY), reason="no Label Studio server (LABEL_STUDIO_URL, _API_KEY)")


def api(method: str, path: str, body=None):
    request = urllib.request.Request(
        URL.rstrip("/") + path,
        data=None if body is None else json.dumps(body).encode("utf-8"),
        method=method,
        headers={"Authorization": f"Token {KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        data = response.read()
    return json.loads(data) if data else None


@pytest.fixture
def project():
    created = api(
        "POST",
        "/api/projects",
        {"title": f"pt_legal_ner check {uuid.uuid4().hex[:8]}", "label_config": LabelStudio.config(LENER)},
    )
    yield created["id"]
    api("DELETE", f"/api/projects/{created['id']}")


def export_from(project_id: int, path):
    tasks = api("GET", f"/api/projects/{project_id}/export?exportType=JSON&download_all_tasks=true")
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return tasks


def test_label_studio_imports_our_tasks_and_its_export_comes_back(tmp_path, project):
    nlp = spacy.blank("pt")
    ours = tmp_path / "tasks.json"
    export_tasks([("x", r) for r in records()], ours, "labelstudio", LENER, nlp)
    imported = api("POST", f"/api/projects/{project}/import", json.loads(ours.read_text(encoding="utf-8")))
    assert imported["task_count"] == 3 and imported["prediction_count"] == 3
    # Label Studio keeps our predictions and their scores, least confident first as we wrote them
    stored = api("GET", f"/api/predictions?project={project}")
    stored = stored["results"] if isinstance(stored, dict) else stored
    assert sorted(p["score"] for p in stored) == [0.62, 0.95, 1.0]
    assert sorted(len(p["result"]) for p in stored) == [0, 3, 3]
    # its export of tasks nobody reviewed lists only prediction ids: left out, or named if asked for
    unreviewed = export_from(project, tmp_path / "export0.json")
    got = import_corrections([tmp_path / "export0.json"], tmp_path / "p.spacy", "labelstudio", LENER, nlp)
    assert (got.docs, got.unreviewed) == (0, 3)
    with pytest.raises(FormatError, match="holds only the ids of its predictions"):
        import_corrections([tmp_path / "export0.json"], tmp_path / "p.spacy", "labelstudio", LENER, nlp, True)
    # a reviewer's annotations: a.pdf's PESSOA cut to "JOÃO", the rest accepted as predicted
    t0 = TEXTS[0]
    predicted = {t["data"]["text"]: t["predictions"][0]["result"] for t in json.loads(ours.read_text("utf-8"))}
    for task in unreviewed:
        result = predicted[task["data"]["text"]]
        if task["data"]["text"] == t0:
            start = t0.index("JOÃO")
            result = [dict(result[0], value={"start": start, "end": start + 4, "text": "JOÃO", "labels": ["PESSOA"]})]
        api("POST", f"/api/tasks/{task['id']}/annotations", {"result": result, "was_cancelled": False})
    export_from(project, tmp_path / "export1.json")
    got = import_corrections([tmp_path / "export1.json"], tmp_path / "c.spacy", "labelstudio", LENER, nlp)
    assert (got.docs, got.unreviewed) == (3, 0)
    spans = spans_of(tmp_path / "c.spacy", nlp)
    assert spans[t0] == [(t0.index("JOÃO"), t0.index("JOÃO") + 4, "PESSOA")]
    assert spans[TEXTS[1]] == expected(records())[TEXTS[1]]
