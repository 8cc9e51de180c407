"""Our doccano tasks against doccano itself, through its REST API.

doccano is a Django server with old pins, so it is not in requirements.txt; this test runs
where one is reachable and skips elsewhere (CI). How it was run (metrics/doccano_check.txt):

    python -m venv /tmp/dc && /tmp/dc/bin/pip install doccano==1.8.4 'marshmallow<3.20' 'numpy<2'
    export DOCCANO_HOME=/tmp/dcdata; /tmp/dc/bin/doccano init
    /tmp/dc/bin/doccano createuser --username admin --password secret123
    /tmp/dc/bin/doccano webserver --port 8766 & /tmp/dc/bin/doccano task &
    DOCCANO_URL=http://127.0.0.1:8766 DOCCANO_USER=admin DOCCANO_PASSWORD=secret123 \\
      python -m pytest tests/test_doccano.py
"""

import io
import json
import os
import time
import urllib.request
import uuid
import zipfile

import pytest
import spacy

from pt_legal_ner.review.loop import export_tasks, import_corrections
from tests.test_review import LENER, TEXTS, expected, records, spans_of

URL = os.environ.get("DOCCANO_URL")
pytestmark = pytest.mark.skipif(not URL, reason="no doccano server (DOCCANO_URL, _USER, _PASSWORD)")


def call(method: str, path: str, body=None, token: str | None = None, raw: bool = False, files=None):
    headers = {"Authorization": f"Token {token}"} if token else {}
    data = None
    if files is not None:  # multipart/form-data with one file field
        boundary = uuid.uuid4().hex
        name, filename, content = files
        data = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode("utf-8"), "application/json"
    request = urllib.request.Request(URL.rstrip("/") + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        payload = response.read()
    return payload if raw else (json.loads(payload) if payload else None)


def wait(task_id: str, token: str) -> dict:
    for _ in range(120):
        status = call("GET", f"/v1/tasks/status/{task_id}", token=token)
        if status.get("ready"):
            return status
        time.sleep(0.5)
    raise TimeoutError(task_id)


def download(project: int, token: str) -> list[dict]:
    task = call("POST", f"/v1/projects/{project}/download", {"format": "JSONL", "exportApproved": False}, token)
    wait(task["task_id"], token)
    data = call("GET", f"/v1/projects/{project}/download?taskId={task['task_id']}", token=token, raw=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [json.loads(line) for name in archive.namelist() for line in archive.read(name).splitlines()]


@pytest.fixture
def session():
    token = call(
        "POST",
        "/v1/auth/login/",
        {"username": os.environ["DOCCANO_USER"], "password": os.environ["DOCCANO_PASSWORD"]},
    )["key"]
    project = call(
        "POST",
        "/v1/projects",
        {
            "name": f"pt_legal_ner check {uuid.uuid4().hex[:8]}",
            "description": "check",
            "guideline": "",
            "project_type": "SequenceLabeling",
            "resourcetype": "SequenceLabelingProject",
        },
        token,
    )["id"]
    yield token, project
    call("DELETE", f"/v1/projects/{project}", token=token)


def test_doccano_imports_our_tasks_and_its_export_comes_back(tmp_path, session):
    token, project = session
    nlp = spacy.blank("pt")
    ours = tmp_path / "tasks.jsonl"
    export_tasks([("x", r) for r in records()], ours, "doccano", LENER, nlp)
    upload = call(
        "POST", "/v1/fp/process/", files=("filepond", "tasks.jsonl", ours.read_bytes()), token=token, raw=True
    )
    imported = call(
        "POST",
        f"/v1/projects/{project}/upload",
        {
            "uploadIds": [upload.decode()],
            "format": "JSONL",
            "task": "SequenceLabeling",
            "column_data": "text",
            "column_label": "label",
            "delimiter": "",
            "encoding": "utf_8",
        },
        token,
    )
    status = wait(imported["task_id"], token)
    assert not status["result"]["error"], status
    examples = call("GET", f"/v1/projects/{project}/examples?limit=10", token=token)["results"]
    assert len(examples) == 3
    # doc_id, score and confidences travel as doccano's metadata
    assert sorted(e["meta"]["score"] for e in examples) == [0.62, 0.95, 1.0]
    first = download(project, token)
    path = tmp_path / "export0.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in first), encoding="utf-8")
    got = import_corrections([path], tmp_path / "p.spacy", "doccano", LENER, nlp)
    assert got.docs == 3 and spans_of(tmp_path / "p.spacy", nlp) == expected(records())
    # a reviewer shortens a.pdf's PESSOA to "JOÃO" in doccano
    t0 = TEXTS[0]
    example = next(e for e in examples if e["text"] == t0)
    types = {t["text"]: t["id"] for t in call("GET", f"/v1/projects/{project}/span-types", token=token)}
    spans = call("GET", f"/v1/projects/{project}/examples/{example['id']}/spans", token=token)
    person = next(s for s in spans if s["label"] == types["PESSOA"])
    call("DELETE", f"/v1/projects/{project}/examples/{example['id']}/spans/{person['id']}", token=token)
    start = t0.index("JOÃO")
    call(
        "POST",
        f"/v1/projects/{project}/examples/{example['id']}/spans",
        {"label": types["PESSOA"], "start_offset": start, "end_offset": start + 4},
        token,
    )
    path.write_text("".join(json.dumps(line) + "\n" for line in download(project, token)), encoding="utf-8")
    import_corrections([path], tmp_path / "c.spacy", "doccano", LENER, nlp)
    corrected = spans_of(tmp_path / "c.spacy", nlp)
    want = sorted([(start, start + 4, "PESSOA")] + [s for s in expected(records())[t0] if s[2] != "PESSOA"])
    assert sorted(corrected[t0]) == want
    assert corrected[TEXTS[1]] == expected(records())[TEXTS[1]]
