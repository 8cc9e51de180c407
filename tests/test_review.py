"""The correction loop: export to Label Studio, doccano and Prodigy, import the reviewed tasks back."""

import json
import subprocess
import sys

import pytest
import spacy
from spacy.tokens import DocBin

from pt_legal_ner.__main__ import main
from pt_legal_ner.review.formats import FORMATS, FormatError
from pt_legal_ner.review.loop import export_tasks, import_corrections

TEXTS = [
    "O Ministro JOÃO DA SILVA julgou o recurso em Brasília em 12 de março de 2015.",
    "A União recorreu ao Superior Tribunal de Justiça com base na Lei nº 8.666/93 ; CPF 123.456.789-09 .",
    "Sem entidades aqui.",
]


def ent(text, piece, label, confidence, source="model"):
    start = text.index(piece)
    end = start + len(piece)
    return {"start": start, "end": end, "label": label, "text": piece, "source": source, "confidence": confidence}


def records():
    t0, t1, t2 = TEXTS
    return [
        {
            "id": "a.pdf",
            "text": t0,
            "pages": [0],
            "error": None,
            "entities": [
                ent(t0, "JOÃO DA SILVA", "PESSOA", 0.97),
                ent(t0, "Brasília", "LOCAL", 0.99),
                ent(t0, "12 de março de 2015", "TEMPO", 0.95),
            ],
        },
        {
            "id": "b.txt",
            "text": t1,
            "error": None,
            "entities": [
                ent(t1, "União", "ORGANIZACAO", 0.62),
                ent(t1, "Superior Tribunal de Justiça", "ORGANIZACAO", 0.999),
                ent(t1, "Lei nº 8.666/93", "LEGISLACAO", None, "rule"),
                ent(t1, "123.456.789-09", "CPF", None, "rule"),
            ],
        },
        {"id": "c.txt", "text": t2, "error": None, "entities": []},
        {"id": "d.pdf", "text": None, "error": "d.pdf: truncated PDF", "entities": None},
    ]


LENER = ["ORGANIZACAO", "PESSOA", "TEMPO", "LOCAL", "LEGISLACAO", "JURISPRUDENCIA"]


def spans_of(path, nlp):
    return {
        doc.text: [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        for doc in DocBin().from_disk(path).get_docs(nlp.vocab)
    }


def expected(recs, labels=LENER):
    return {
        r["text"]: [(e["start"], e["end"], e["label"]) for e in r["entities"] if e["label"] in labels]
        for r in recs
        if r["error"] is None
    }


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_exported_predictions_import_back_to_the_same_spans(tmp_path, fmt):
    nlp = spacy.blank("pt")
    out = tmp_path / "tasks.out"
    summary = export_tasks([("x", r) for r in records()], out, fmt, LENER, nlp)
    assert (summary.tasks, summary.spans, summary.errors) == (3, 6, 1)  # CPF is no trained label
    got = import_corrections([out], tmp_path / "back.spacy", fmt, LENER, nlp, include_unreviewed=fmt != "doccano")
    assert got.docs == 3 and got.spans == 6
    assert spans_of(tmp_path / "back.spacy", nlp) == expected(records())


def task_texts(path):
    data = path.read_text(encoding="utf-8")
    items = json.loads(data) if data.startswith("[") else [json.loads(line) for line in data.splitlines()]
    return [(item.get("data") or item)["text"] for item in items]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_least_confident_document_comes_first(tmp_path, fmt):
    out = tmp_path / "tasks.out"
    export_tasks([("x", r) for r in records()], out, fmt, LENER, spacy.blank("pt"))
    # b.txt's "União" (0.62) < a.pdf's 0.95 < c.txt with nothing to doubt
    assert task_texts(out) == [TEXTS[1], TEXTS[0], TEXTS[2]]


def correct(fmt, path):
    """What a reviewer does in each tool to the exported tasks: on a.pdf, PESSOA moved to the
    name without "DA SILVA", LOCAL relabelled ORGANIZACAO, and "Ministro" added as PESSOA."""
    t0 = TEXTS[0]
    fixed = [
        (t0.index("JOÃO"), t0.index("JOÃO") + 4, "PESSOA"),
        (t0.index("Brasília"), t0.index("Brasília") + 8, "ORGANIZACAO"),
        (2, 10, "PESSOA"),
    ]
    data = path.read_text(encoding="utf-8")
    if fmt == "labelstudio":
        tasks = json.loads(data)
        for task in tasks:  # Label Studio's JSON export: every task gets the reviewer's annotation
            result = task["predictions"][0]["result"]
            if task["data"]["text"] == t0:
                result = [
                    {
                        "from_name": "label",
                        "to_name": "text",
                        "type": "labels",
                        "value": {"start": s, "end": e, "text": t0[s:e], "labels": [label]},
                    }
                    for s, e, label in fixed
                ]
            task["annotations"] = [{"id": 1, "was_cancelled": False, "result": result}]
            task["id"] = len(task)
        return json.dumps(tasks)
    lines = [json.loads(line) for line in data.splitlines()]
    for line in lines:
        if fmt == "doccano":
            line["id"] = hash(line["text"]) % 1000
            if line["text"] == t0:
                line["label"] = [list(f) for f in fixed]
        else:  # prodigy db-out
            line["answer"] = "accept"
            line["_input_hash"] = 1
            if line["text"] == t0:
                line["spans"] = [{"start": s, "end": e, "label": label} for s, e, label in fixed]
    return "".join(json.dumps(line) + "\n" for line in lines)


def tiny_train_config(tmp_path):
    config = tmp_path / "tiny.cfg"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "init",
            "config",
            str(config),
            "--lang",
            "pt",
            "--pipeline",
            "ner",
            "--optimize",
            "efficiency",
            "--force",
        ],
        check=True,
        capture_output=True,
    )
    return config


def test_corrections_from_each_tool_land_in_a_corpus_spacy_train_accepts(tmp_path):
    nlp = spacy.blank("pt")
    t0 = TEXTS[0]
    want = sorted(
        [
            (t0.index("JOÃO"), t0.index("JOÃO") + 4, "PESSOA"),
            (t0.index("Brasília"), t0.index("Brasília") + 8, "ORGANIZACAO"),
            (2, 10, "PESSOA"),
        ]
    )
    corpora = []
    for fmt in sorted(FORMATS):
        exported = tmp_path / f"{fmt}.out"
        export_tasks([("x", r) for r in records()], exported, fmt, LENER, nlp)
        corrected = tmp_path / f"{fmt}.corrected"
        corrected.write_text(correct(fmt, exported), encoding="utf-8")
        corpus = tmp_path / f"{fmt}.spacy"
        assert main(["import", "--format", fmt, str(corrected), str(corpus)]) == 0
        got = spans_of(corpus, nlp)
        assert sorted(got[t0]) == want, fmt
        assert got[TEXTS[1]] == expected(records())[TEXTS[1]], fmt
        corpora.append(corpus)
    merged = tmp_path / "corrections.spacy"
    subprocess.run(
        [sys.executable, "-m", "scripts.data.merge_corpora", *map(str, corpora), "--output", str(merged)],
        check=True,
        capture_output=True,
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "train",
            str(tiny_train_config(tmp_path)),
            "--paths.train",
            str(merged),
            "--paths.dev",
            str(merged),
            "--training.max_steps",
            "4",
            "--training.eval_frequency",
            "2",
            "--output",
            str(tmp_path / "model"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "model" / "model-last").is_dir()


def test_unreviewed_and_rejected_tasks_are_left_out_unless_asked(tmp_path):
    nlp = spacy.blank("pt")
    exported = tmp_path / "p.jsonl"
    export_tasks([("x", r) for r in records()], exported, "prodigy", LENER, nlp)
    lines = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    lines[0]["answer"], lines[1]["answer"] = "accept", "reject"  # the third is not reviewed yet
    exported.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    got = import_corrections([exported], tmp_path / "c.spacy", "prodigy", LENER, nlp)
    assert (got.docs, got.rejected, got.unreviewed) == (1, 1, 1)
    assert list(spans_of(tmp_path / "c.spacy", nlp)) == [lines[0]["text"]]


def test_bad_spans_are_each_named_and_nothing_is_written(tmp_path):
    nlp = spacy.blank("pt")
    t0 = TEXTS[0]
    bad = [
        {"text": t0, "doc_id": "a.pdf", "label": [[11, 14, "PESSOA"]]},  # "JOÃ": inside a token
        {"text": t0, "doc_id": "b.pdf", "label": [[11, 24, "PARTE"]]},  # a label nobody trained
        {"text": t0, "doc_id": "c.pdf", "label": [[11, 24, "PESSOA"], [16, 24, "LOCAL"]]},  # overlap
        {"text": t0, "doc_id": "d.pdf", "label": [[11, 24, "PESSOA"]]},  # fine
    ]
    path = tmp_path / "doccano.jsonl"
    path.write_text("".join(json.dumps(b) + "\n" for b in bad), encoding="utf-8")
    out = tmp_path / "c.spacy"
    with pytest.raises(FormatError) as err:
        import_corrections([path], out, "doccano", LENER, nlp)
    message = str(err.value)
    assert message.startswith("3 problem(s), nothing written")
    assert f"{path} line 1 (document a.pdf): span 11-14 'JOÃ' (PESSOA) does not align" in message
    assert f"{path} line 2 (document b.pdf): label 'PARTE'" in message
    assert f"{path} line 3 (document c.pdf): spans 11-24 (PESSOA) and 16-24 (LOCAL) overlap" in message
    assert not out.exists()
    # the reviewer's intent, to whole tokens, when asked; a selected trailing space is no error
    path.write_text(json.dumps({"text": t0, "label": [[11, 14, "PESSOA"], [16, 25, "LOCAL"]]}) + "\n")
    import_corrections([path], out, "doccano", LENER, nlp, alignment="expand")
    assert spans_of(out, nlp)[t0] == [(11, 15, "PESSOA"), (16, 24, "LOCAL")]


def test_export_cli_writes_label_studio_tasks_and_their_labeling_config(tmp_path):
    annotated = tmp_path / "annotated.jsonl"
    annotated.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records()), encoding="utf-8")
    out = tmp_path / "tasks.json"
    assert main(["export", "--format", "labelstudio", str(out), str(annotated)]) == 0
    tasks = json.loads(out.read_text(encoding="utf-8"))
    first = tasks[0]
    assert first["data"]["doc_id"] == "b.txt" and first["predictions"][0]["score"] == 0.62
    assert first["predictions"][0]["result"][0]["score"] == 0.62
    config = (tmp_path / "tasks.label_config.xml").read_text(encoding="utf-8")
    assert all(f'<Label value="{label}"/>' in config for label in LENER)
    assert main(["export", "--format", "labelstudio", str(out), str(tmp_path / "missing.jsonl")]) == 2


def test_a_ray_output_folder_gives_its_published_parts_only(tmp_path):
    import gzip

    from pt_legal_ner.review.loop import read_records

    out = tmp_path / "out"
    (out / ".tmp").mkdir(parents=True)
    first, second, half = records()[0], records()[1], records()[2]
    (out / "part-00000.jsonl").write_text(json.dumps(first) + "\n", encoding="utf-8")
    with gzip.open(out / "part-00001.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps(second) + "\n")
    # a part still being written by a worker, and the plan: not records
    (out / ".tmp" / "part-00002.jsonl.5f3a").write_text(json.dumps(half) + "\n", encoding="utf-8")
    (out / "_plan.json").write_text("{}", encoding="utf-8")
    assert [r["id"] for _, r in read_records([out])] == ["a.pdf", "b.txt"]
