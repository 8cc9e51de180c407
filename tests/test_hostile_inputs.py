"""Hostile and damaged inputs: decompression bombs, billion laughs, seeded mutations of valid PDF,
DOCX, JSONL and text files. Every file gets exactly one record (a JSONL file, one per line), the
run exits 0, the good files' records equal a clean run's, and the peak memory of the command and
everything it starts is measured and bounded. Limits name themselves; the reader process dies
and comes back; one document's failure anywhere is its own error line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

from pt_legal_ner.annotation.records import annotate
from pt_legal_ner.io.documents import Document, bounded_lines, document_from_bytes, read_jsonl
from pt_legal_ner.io.inputs import open_documents, plan
from pt_legal_ner.io.limits import DEFAULT_LIMITS, Limits, with_overrides
from pt_legal_ner.io.reader_process import ReaderProcess
from scripts.benchmarks.hostile_files import (
    GOOD_TEXT,
    PARQUET_ROWS,
    careless_files,
    docx_template,
    good_jsonl,
    hostile_folder,
    pdf_bomb,
    pdf_good,
    write_mutations,
)
from scripts.benchmarks.process_memory import run_measured
from tests.conftest import ROOT

PATTERNS = [{"label": "PESSOA", "pattern": "Pedro Cabral"}, {"label": "LOCAL", "pattern": "Brasília"}]
SEED = 20261204
MUTATIONS = {"pdf": 30, "docx": 30, "jsonl": 10, "txt": 10}
# the ruler pipeline's process is ~300 MiB and the reader is capped at 384 MiB (a run with a
# 512 MiB cap peaked at 874 MiB); with the caps raised, the PDF bomb alone took the run to 2.4 GiB
PEAK_BOUND = 1.25 * 1024**3
RUN_TIMEOUT = 300


@pytest.fixture(scope="module")
def ruler_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ruler") / "model"
    nlp = spacy.blank("pt")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile") / "in"
    hostile_folder(folder, SEED, MUTATIONS)
    (folder / "good.jsonl").write_bytes(good_jsonl())
    careless_files(folder, folder.parent / "outside.txt")
    return folder


def command(name: str, inputs: list[Path], out: Path, model: Path, *extra: str) -> list[str]:
    files = [str(path) for path in inputs]
    return [sys.executable, "-m", "pt_legal_ner", name, *files, "-o", str(out), "--model", str(model), *extra]


def expected_ids(folder: Path) -> list[str]:
    """One id per file, one per non-blank line of a JSONL file and per row of a Parquet file:
    counted here, not by the planner. A link out of the folder is no input; a name that is not
    UTF-8 has its bytes escaped."""
    ids = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if folder.resolve() not in path.resolve().parents:
            continue
        name = (
            path.relative_to(folder).as_posix().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        )
        if path.suffix == ".jsonl":
            lines = path.read_bytes().split(b"\n")
            ids += [f"{name}:{n}" for n, line in enumerate(lines, start=1) if line.strip()]
        elif path.suffix == ".parquet":
            ids += [f"{name}:{n}" for n in range(1, PARQUET_ROWS + 2)]
        else:
            ids.append(name)
    return ids


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", ["annotate", "pseudonymize"])
def test_a_folder_of_bombs_and_mutations_gives_one_record_per_document_in_bounded_memory(
    name, folder, ruler_model, tmp_path
):
    out = tmp_path / "out.jsonl"
    done, seconds, peak = run_measured(command(name, [folder], out, ruler_model), RUN_TIMEOUT, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    got = records(out)
    assert [r["id"] for r in got] == expected_ids(folder)
    by_id = {r["id"]: r for r in got}
    assert "max_inflated" in by_id["bomb-one-run.docx"]["error"]
    assert "max_inflated" in by_id["bomb-paragraphs.docx"]["error"]
    assert "amplification" in by_id["billion-laughs.docx"]["error"]
    assert "PDF reader died" in by_id["bomb.pdf"]["error"] and "max_read_memory" in by_id["bomb.pdf"]["error"]
    assert "Exceeds the limit" in by_id["careless.jsonl:2"]["error"]
    assert "max_parsed" in by_id["careless.jsonl:4"]["error"] and by_id["careless.jsonl:3"]["error"] is None
    assert all("max_chars" in by_id[f"repeated.parquet:{n}"]["error"] for n in range(1, PARQUET_ROWS + 1))
    assert by_id[f"repeated.parquet:{PARQUET_ROWS + 1}"]["error"] is None
    assert by_id["decis\\xe3o.txt"]["error"] is None and b"outside the folder" not in out.read_bytes()
    assert peak.total < PEAK_BOUND, f"peak {peak.total / 2**20:.0f} MiB"
    assert seconds < RUN_TIMEOUT
    # the good files alone, in a folder of their own (so their ids are the same): the same records
    goods = tmp_path / "goods"
    goods.mkdir()
    for good in ("good.txt", "good.jsonl"):
        (goods / good).write_bytes((folder / good).read_bytes())
    clean = tmp_path / "clean.jsonl"
    subprocess.run(command(name, [goods], clean, ruler_model), cwd=ROOT, check=True, capture_output=True)
    expected = records(clean)
    assert len(expected) == 7 and all(record["error"] is None for record in expected)
    assert [by_id[record["id"]] for record in expected] == expected


def test_documents_over_a_limit_get_an_error_naming_it_and_the_rest_go_on(ruler_model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "big.txt").write_bytes(GOOD_TEXT.encode() * 400)  # ~76 KiB
    (folder / "long.txt").write_text("palavra " * 1000, encoding="utf-8")  # 8,000 characters
    (folder / "pages.pdf").write_bytes(pdf_good())  # 2 pages
    lines = [json.dumps({"text": "Pedro Cabral"}), json.dumps({"text": "x" * 70_000}), json.dumps({"text": "ok"})]
    (folder / "lines.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "ok.txt").write_text("Pedro Cabral em Brasília", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    limits = ["--limit", "max_bytes=64KiB", "--limit", "max_chars=5000", "--limit", "max_pages=1"]
    done = subprocess.run(command("annotate", [folder], out, ruler_model, *limits), cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
    by_id = {r["id"]: r for r in records(out)}
    lines_ids = {"lines.jsonl:1", "lines.jsonl:2", "lines.jsonl:3"}
    assert set(by_id) == {"big.txt", "long.txt", "pages.pdf", "ok.txt"} | lines_ids
    assert "over the limit max_bytes=65,536: raise it with --limit max_bytes=N" in by_id["big.txt"]["error"]
    assert "characters (8,000) is over the limit max_chars=5,000" in by_id["long.txt"]["error"]
    assert "pages (2) is over the limit max_pages=1" in by_id["pages.pdf"]["error"]
    assert "line 2: bytes in the line (70,013) is over the limit max_bytes" in by_id["lines.jsonl:2"]["error"]
    assert [e["text"] for e in by_id["lines.jsonl:1"]["entities"]] == ["Pedro Cabral"]
    assert by_id["lines.jsonl:3"]["error"] is None and len(by_id["ok.txt"]["entities"]) == 2
    bad = subprocess.run(
        command("annotate", [folder], out, ruler_model, "--limit", "max_pixels=3"), cwd=ROOT, capture_output=True
    )
    assert bad.returncode == 2 and b"--limit takes NAME=VALUE with NAME one of max_bytes" in bad.stderr


def test_a_docx_with_too_many_parts_or_too_high_a_ratio_is_refused_before_inflating(tmp_path):
    import zipfile

    many = tmp_path / "many.docx"
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(20):
            archive.writestr(f"part{i}.xml", "<a/>")
    assert (
        "members in the archive (20) is over the limit max_parts=10"
        in document_from_bytes("many.docx", many.read_bytes(), "many.docx", Limits(max_parts=10)).error
    )
    squeezed = tmp_path / "squeezed.docx"
    with zipfile.ZipFile(squeezed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b" " * 2 * 1024**2)
    error = document_from_bytes("s.docx", squeezed.read_bytes(), "s.docx").error
    assert "inflation ratio of word/document.xml" in error and "max_ratio=100" in error


def test_the_reader_process_dies_or_overruns_and_the_next_file_is_read(tmp_path):
    from pt_legal_ner.io.extract import ExtractionError

    bomb = tmp_path / "bomb.pdf"
    pdf_bomb(bomb)  # 1 GiB inflated: ~5 s of PDFium's time and ~2 GiB of its memory
    reader = ReaderProcess()
    try:
        with pytest.raises(ExtractionError, match=r"PDF reader died reading it \(signal 6 \(SIGABRT\)\)"):
            reader.extract("pdf", bomb.read_bytes(), Limits(max_read_memory=128 * 1024**2))
        assert reader.extract("pdf", pdf_good(), DEFAULT_LIMITS).text.startswith("O réu Pedro Cabral")
        slow = Limits(max_read_seconds=1, max_read_memory=8 * 1024**3)
        with pytest.raises(ExtractionError, match="took over 1 s, the limit max_read_seconds"):
            reader.extract("pdf", bomb.read_bytes(), slow)
        assert reader.extract("docx", docx_template(), DEFAULT_LIMITS).text == GOOD_TEXT.rstrip("\n")
    finally:
        reader.close()


def test_long_lines_are_read_past_in_pieces_and_offsets_still_add_up(tmp_path):
    import io

    data = b'{"text": "a"}\n' + b"x" * 5000 + b"\n\n" + b'{"text": "b"}'
    lines = list(bounded_lines(io.BytesIO(data), 100))
    assert lines == [(b'{"text": "a"}\n', 14), (None, 5001), (b"\n", 1), (b'{"text": "b"}', 13)]
    assert sum(size for _, size in lines) == len(data)
    documents = list(read_jsonl(lines, "f.jsonl", limits=Limits(max_bytes=100)))
    assert [d.id for d in documents] == [1, 2, 4] and "f.jsonl line 2: bytes in the line (5,001)" in documents[1].error
    (tmp_path / "f.jsonl").write_bytes(data)
    whole = plan([str(tmp_path / "f.jsonl")], 2, limits=Limits(max_bytes=100))
    assert whole.total == 3 and [s.count for part in whole.parts for s in part] == [2, 1]
    _, read = open_documents([str(tmp_path / "f.jsonl")], limits=Limits(max_bytes=100))
    assert [d.text for d in read] == ["a", None, "b"]


def test_any_failure_of_one_document_is_its_error_line(tmp_path, monkeypatch):
    from pt_legal_ner.annotation.masking import PseudonymizingWriter
    from pt_legal_ner.annotation.masking import pseudonymize as real_pseudonymize
    from pt_legal_ner.io import documents as documents_module

    class Broken:
        def extract(self, *args):
            raise RuntimeError("a bug in a reader")

    monkeypatch.setattr(documents_module, "shared_reader", lambda: Broken())
    document = document_from_bytes("x.pdf", pdf_good(), "in/x.pdf")
    assert document.error == "in/x.pdf: cannot be read (RuntimeError: a bug in a reader)"

    def spans_of(doc, offset):
        if "BOOM" in doc.text:
            raise KeyError("no such span")
        return [{"start": offset, "end": offset + 1, "label": "X", "text": doc.text[:1]}]

    docs = [Document("a", text="um"), Document("b", text="BOOM"), Document("c", text="três")]
    out = tmp_path / "out.jsonl"
    summary = annotate(spacy.blank("pt"), docs, out, spans_of=spans_of)
    got = records(out)
    assert [r["id"] for r in got] == ["a", "b", "c"] and summary.errors == 1
    assert "KeyError" in got[1]["error"] and got[0]["error"] is None and got[2]["entities"][0]["text"] == "t"

    def pseudonymize(text, *args):
        if "BOOM" in text:
            raise IndexError("span past the end")
        return real_pseudonymize(text, *args)

    monkeypatch.setattr("pt_legal_ner.annotation.masking.pseudonymize", pseudonymize)
    masked = tmp_path / "masked.jsonl"
    from pt_legal_ner.annotation.records import JsonlAppender

    two = [Document("a", text="um"), Document("b", text="BOOM")]
    annotate(spacy.blank("pt"), two, PseudonymizingWriter(JsonlAppender(masked)))
    first, second = records(masked)
    assert first["error"] is None and second["error"] == "pseudonymizing failed: IndexError: span past the end"


def test_limits_are_set_by_name_with_sizes_and_refuse_what_they_do_not_know():
    limits = with_overrides(DEFAULT_LIMITS, ["max_bytes=1GiB", "max-chars=20_000_000"])
    assert (limits.max_bytes, limits.max_chars) == (1024**3, 20_000_000)
    assert limits.max_pages == DEFAULT_LIMITS.max_pages
    for bad in ("max_bytes", "nothing=3", "max_bytes=lots", "max_pages=0"):
        with pytest.raises(ValueError, match="--limit"):
            with_overrides(DEFAULT_LIMITS, [bad])


def test_the_mutations_are_the_same_for_the_same_seed(tmp_path):
    first = write_mutations(tmp_path / "a", 7, {"pdf": 3, "docx": 3})
    second = write_mutations(tmp_path / "b", 7, {"pdf": 3, "docx": 3})
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert len({p.read_bytes() for p in first}) == 6


def test_damaged_annotate_output_and_tool_exports_never_crash_export_or_import(tmp_path):
    """Export leaves out (and names) what is not a record; import refuses a damaged file as a
    whole with a FormatError naming it, as it refuses a bad span: never a traceback."""
    import random

    from pt_legal_ner.review.formats import FORMATS, FormatError
    from pt_legal_ner.review.loop import export_tasks, import_corrections, read_records
    from scripts.benchmarks.hostile_files import mutate

    nlp = spacy.blank("pt")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    texts = [Document(f"d{i}", text=f"O réu Pedro Cabral {i}, em Brasília.") for i in range(4)]
    annotated = tmp_path / "annotated.jsonl"
    annotate(nlp, texts, annotated)
    rng = random.Random(SEED)
    data = annotated.read_bytes()
    for number in range(40):
        damaged = tmp_path / f"damaged{number}.jsonl"
        damaged.write_bytes(mutate(data, rng))
        lines = [line for line in damaged.read_bytes().split(b"\n") if line.strip()]
        summary = export_tasks(read_records([damaged]), tmp_path / "tasks.json", "doccano", ["PESSOA"], nlp)
        assert summary.tasks + summary.errors == len(lines)
        assert all(" line " in problem for problem in summary.unreadable)
    for fmt in sorted(FORMATS):
        exported = tmp_path / f"{fmt}.json"
        export_tasks(read_records([annotated]), exported, fmt, ["PESSOA", "LOCAL"], nlp)
        clean = exported.read_bytes()
        for _ in range(20):
            exported.write_bytes(mutate(clean, rng))
            try:
                import_corrections([exported], tmp_path / "out.spacy", fmt, ["PESSOA", "LOCAL"], nlp, True)
            except FormatError as err:
                assert str(exported) in str(err)
