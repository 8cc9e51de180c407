"""`annotate` on a real spaCy pipeline (blank Portuguese + entity_ruler): offsets across
pieces, resuming, interrupted runs, failing documents, the command line."""

import json
import os
import subprocess
import sys

import pytest
import spacy
from spacy.language import Language

from pt_legal_ner.annotation.records import JsonlAppender, annotate, split_text
from pt_legal_ner.annotation.render import html_name
from pt_legal_ner.io.documents import Document
from pt_legal_ner.io.inputs import open_documents
from tests.conftest import ROOT
from tests.ray_components import explode_on_boom  # noqa: F401  (registers the component)

PATTERNS = [
    {"label": "PESSOA", "pattern": "Pedro Cabral"},
    {"label": "LOCAL", "pattern": "Brasília"},
    {"label": "LEGISLACAO", "pattern": [{"LOWER": "lei"}, {"TEXT": "8.666/93"}]},
]
LINE = "O réu Pedro Cabral, em Brasília, invocou a Lei 8.666/93.\n"


@Language.component("interrupt_on_stop")
def interrupt_on_stop(doc):
    if "STOP" in doc.text:
        raise KeyboardInterrupt
    return doc


def ruler_nlp(*extra: str) -> Language:
    nlp = spacy.blank("pt")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    for name in extra:
        nlp.add_pipe(name)
    return nlp


def read_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_pieces_cover_the_text_within_the_limit_cut_at_line_breaks():
    text = LINE * 40 + "x" * 250 + " fim"
    pieces = split_text(text, max_chars=200)
    assert "".join(piece for _, piece in pieces) == text
    assert all(len(piece) <= 200 for _, piece in pieces)
    assert all(text[offset : offset + len(piece)] == piece for offset, piece in pieces)
    assert all(piece.endswith("\n") for _, piece in pieces[:-3])


def test_entities_of_a_long_document_map_back_to_its_offsets(tmp_path):
    text = LINE * 300
    nlp = ruler_nlp()
    out = tmp_path / "out.jsonl"
    annotate(nlp, [Document("long", text=text)], out, max_chars=500)
    (record,) = read_lines(out)
    whole = [(e.start_char, e.end_char, e.label_) for e in nlp(text).ents]
    assert [(e["start"], e["end"], e["label"]) for e in record["entities"]] == whole
    assert all(text[e["start"] : e["end"]] == e["text"] for e in record["entities"])
    assert record["text"] == text and len(whole) == 900


def test_memory_is_bounded_by_the_piece_not_the_document(tmp_path):
    seen = []

    @Language.component("record_length")
    def record_length(doc):
        seen.append(len(doc.text))
        return doc

    nlp = ruler_nlp("record_length")
    annotate(nlp, [Document("big", text=LINE * 5000)], tmp_path / "out.jsonl", max_chars=2000)
    assert max(seen) <= 2000 and sum(seen) == len(LINE) * 5000


def test_every_document_gets_one_line_in_input_order(tmp_path):
    docs = [
        Document("a.txt", text=LINE),
        Document("bad.pdf", error="bad.pdf: binary file (a PDF document), not text"),
        Document("empty.txt", text=""),
        Document("boom.txt", text=LINE + "BOOM\n"),
        Document("z.txt", text=LINE, fields={"processo": "1"}),
    ]
    out = tmp_path / "out.jsonl"
    summary = annotate(ruler_nlp("explode_on_boom"), docs, out, html_dir=tmp_path / "html", batch_size=2)
    records = read_lines(out)
    assert [r["id"] for r in records] == ["a.txt", "bad.pdf", "empty.txt", "boom.txt", "z.txt"]
    assert records[1]["error"].startswith("bad.pdf: binary") and records[1]["entities"] is None
    assert records[2]["entities"] == [] and records[2]["error"] is None
    assert "ValueError: this piece cannot be annotated" in records[3]["error"]
    assert records[4]["fields"] == {"processo": "1"} and len(records[4]["entities"]) == 3
    assert (summary.written, summary.errors, summary.skipped) == (5, 2, 0)
    pages = {p.name for p in (tmp_path / "html").iterdir()}
    assert pages == {html_name(i) for i in ("a.txt", "empty.txt", "z.txt")}


def test_second_run_skips_what_is_written(tmp_path):
    docs = [Document(f"d{i}", text=LINE) for i in range(5)]
    out = tmp_path / "out.jsonl"
    annotate(ruler_nlp(), docs[:3], out)
    before = out.read_bytes()
    summary = annotate(ruler_nlp(), docs, out)
    assert (summary.skipped, summary.written) == (3, 2)
    assert out.read_bytes().startswith(before)
    assert [r["id"] for r in read_lines(out)] == [f"d{i}" for i in range(5)]


def test_interrupted_run_leaves_whole_lines_and_resumes(tmp_path):
    docs = [Document(f"d{i}", text=LINE) for i in range(6)]
    docs[3].text = LINE + "STOP\n"
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        annotate(ruler_nlp("interrupt_on_stop"), docs, out, batch_size=1)
    assert [r["id"] for r in read_lines(out)] == ["d0", "d1", "d2"]
    docs[3].text = LINE
    summary = annotate(ruler_nlp(), docs, out)
    assert summary.skipped == 3 and [r["id"] for r in read_lines(out)] == [f"d{i}" for i in range(6)]


def test_a_torn_last_line_is_dropped_and_its_document_redone(tmp_path):
    out = tmp_path / "out.jsonl"
    annotate(ruler_nlp(), [Document("a", text=LINE)], out)
    with out.open("ab") as f:
        f.write(b'{"id": "b", "entit')
    summary = annotate(ruler_nlp(), [Document("a", text=LINE), Document("b", text=LINE)], out)
    assert (summary.skipped, summary.written) == (1, 1)
    assert [r["id"] for r in read_lines(out)] == ["a", "b"]


def test_foreign_content_in_the_output_is_refused_naming_the_line(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a"}\nnot ours\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"out.jsonl line 2 is not an annotation record"):
        annotate(ruler_nlp(), [Document("c", text=LINE)], out)
    assert out.read_text(encoding="utf-8") == '{"id": "a"}\nnot ours\n{"id": "b"}\n'


def test_a_failed_write_is_rolled_back(tmp_path, monkeypatch):
    out = tmp_path / "out.jsonl"
    writer = JsonlAppender(out)
    writer.write({"id": "a"})
    real_write = os.write

    def half_then_disk_full(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_disk_full)
    with pytest.raises(OSError, match="No space"):
        writer.write({"id": "b", "text": "x" * 100})
    monkeypatch.undo()
    writer.close()
    assert out.read_text(encoding="utf-8") == '{"id": "a"}\n'


@pytest.fixture(scope="module")
def ruler_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("ruler") / "pipeline"
    ruler_nlp().to_disk(path)
    return path


def run_cli(args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "pt_legal_ner", "annotate", *args], capture_output=True, text=True, cwd=ROOT, **kwargs
    )


def test_cli_reads_jsonl_from_stdin_and_keeps_its_fields(ruler_dir, tmp_path):
    out = tmp_path / "out.jsonl"
    lines = [json.dumps({"text": LINE, "processo": "0001"}), json.dumps({"texto": "sem campo text"})]
    stdin = "\n".join(lines) + "\n"
    result = run_cli(["-", "-o", str(out), "--model", str(ruler_dir)], input=stdin)
    assert result.returncode == 0, result.stderr
    first, second = read_lines(out)
    assert first["id"] == 1 and first["fields"] == {"processo": "0001"} and len(first["entities"]) == 3
    assert second["id"] == 2 and 'no "text" field' in second["error"]
    assert "2 documents written (1 with an error, 3 entities), 0 already there" in result.stderr
    again = run_cli(["-", "-o", str(out), "--model", str(ruler_dir)], input=stdin)
    assert "0 documents written" in again.stderr and "2 already there" in again.stderr


def test_cli_names_a_missing_input(ruler_dir, tmp_path):
    result = run_cli([str(tmp_path / "nada"), "-o", str(tmp_path / "out.jsonl"), "--model", str(ruler_dir)])
    assert result.returncode == 2 and "input not found" in result.stderr and "nada" in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_cli_annotates_a_folder_with_bad_files(ruler_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(LINE, encoding="utf-8")
    (folder / "latin1.txt").write_bytes(LINE.encode("latin-1"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4\x00\x01")
    out = tmp_path / "out.jsonl"
    result = run_cli([str(folder), "-o", str(out), "--model", str(ruler_dir), "--html", str(tmp_path / "html")])
    assert result.returncode == 0, result.stderr
    records = {r["id"]: r for r in read_lines(out)}
    assert set(records) == {d.id for d in open_documents([str(folder)])[1]}
    assert records["latin1.txt"]["encoding"] == "cp1252"
    assert records["latin1.txt"]["entities"] == records["a.txt"]["entities"]
    assert "PDF" in records["scan.pdf"]["error"]
    assert len(list((tmp_path / "html").iterdir())) == 3
