"""Pseudonymization: one placeholder per entity, originals only in the mapping, the command line."""

import json
import os
import stat
import subprocess
import sys

import pytest
import spacy

from pt_legal_ner.privacy.pseudonyms import pseudonymize
from tests.conftest import ROOT

TEXT = (
    "João da Silva Santos, CPF 111.444.777-35, contra Maria Souza. "
    "Depois, SILVA e o Sr. Santos pediram; JOÃO DA SILVA SANTOS (CPF 11144477735) e Maria assinaram."
)


def spans_at(text, *items):
    """Spans for each (substring, label[, occurrence]) item; identifiers get their normalised value."""
    spans = []
    for item in items:
        value, label, nth = (*item, 0) if len(item) == 2 else item
        start = -1
        for _ in range(nth + 1):
            start = text.index(value, start + 1)
        span = {"start": start, "end": start + len(value), "label": label, "source": "model", "confidence": 0.9}
        if label == "CPF":
            span.update(source="rule", confidence=1.0, normalized="".join(c for c in value if c.isdigit()))
        spans.append(span)
    return spans


SPANS = spans_at(
    TEXT,
    ("João da Silva Santos", "PESSOA"),
    ("111.444.777-35", "CPF"),
    ("Maria Souza", "PESSOA"),
    ("SILVA", "PESSOA"),
    ("Santos", "PESSOA", 1),
    ("JOÃO DA SILVA SANTOS", "PESSOA"),
    ("11144477735", "CPF"),
    ("Maria", "PESSOA", 1),
)
LABELS = ["PESSOA", "CPF"]


def test_one_entity_keeps_one_placeholder_however_it_is_written():
    result = pseudonymize(TEXT, SPANS, LABELS)
    assert [r["placeholder"] for r in result.replacements] == [
        "[PESSOA_1]",
        "[CPF_1]",
        "[PESSOA_2]",
        "[PESSOA_1]",  # surname only, in capitals
        "[PESSOA_1]",
        "[PESSOA_1]",  # the full name in capitals
        "[CPF_1]",  # the same number without its formatting
        "[PESSOA_2]",  # first name only
    ]
    assert result.text.startswith("[PESSOA_1], CPF [CPF_1], contra [PESSOA_2]. Depois, [PESSOA_1] e o Sr. [PESSOA_1]")


def test_a_mention_two_people_share_gets_its_own_placeholder():
    text = "Ana Costa e Ana Lima vieram; Ana falou."
    result = pseudonymize(
        text, spans_at(text, ("Ana Costa", "PESSOA"), ("Ana Lima", "PESSOA"), ("Ana", "PESSOA", 2)), LABELS
    )
    assert [r["entity"] for r in result.replacements] == ["PESSOA_1", "PESSOA_2", "PESSOA_3"]


@pytest.mark.parametrize("style", ["placeholder", "initials", "mask"])
def test_no_original_value_is_left_in_the_text(style):
    result = pseudonymize(TEXT, SPANS, LABELS, style=style)
    for value in ("João", "Silva", "SILVA", "Santos", "Maria", "111.444.777-35", "11144477735", "444"):
        assert value not in result.text
    for r in result.replacements:
        assert result.text[r["start"] : r["end"]] == r["placeholder"]
    mapped = {e["entity"]: e["values"] for e in result.mapping}
    assert mapped["CPF_1"] == ["111.444.777-35", "11144477735"]
    assert "JOÃO DA SILVA SANTOS" in mapped["PESSOA_1"]


def test_styles():
    assert pseudonymize(TEXT, SPANS, LABELS, style="initials").text.startswith("J. S. S., CPF [CPF_1]")
    assert pseudonymize(TEXT, SPANS, LABELS, style="mask").text.startswith("**** ** ***** ******, CPF ***.***.***-**")


def test_a_missed_mention_of_a_masked_full_name_is_masked_too():
    text = "Maria Souza pediu. Maria Souza assinou; MARIA  SOUZA saiu."
    spans = spans_at(text, ("Maria Souza", "PESSOA"))
    kept = pseudonymize(text, spans, LABELS, propagate=False)
    assert "Maria Souza assinou" in kept.text
    result = pseudonymize(text, spans, LABELS, propagate=True)
    assert result.text == "[PESSOA_1] pediu. [PESSOA_1] assinou; [PESSOA_1] saiu."
    assert [r["source"] for r in result.replacements] == ["model", "propagated", "propagated"]


def test_only_words_written_as_a_name_are_propagated():
    # the model took a heading for a name: its words in running text are no name
    text = "DA SEXTA PARTE. A sexta parte é devida; a SEXTA PARTE também."
    spans = spans_at(text, ("SEXTA PARTE", "PESSOA"))
    result = pseudonymize(text, spans, LABELS, propagate=True)
    assert result.text == "DA [PESSOA_1]. A sexta parte é devida; a [PESSOA_1] também."


def test_overlapping_spans_are_masked_as_one_and_whitespace_ends_are_kept():
    text = "Autor: Pedro Cabral\n\nCPF 111.444.777-35"
    spans = [
        {"start": 7, "end": 21, "label": "PESSOA", "source": "model", "confidence": 0.4},  # takes the line break in
        {"start": 13, "end": 19, "label": "PESSOA", "source": "llm", "confidence": 0.5},
        {"start": 19, "end": 21, "label": "PESSOA", "source": "model", "confidence": 0.3},  # whitespace alone
    ]
    result = pseudonymize(text, spans, LABELS)
    assert result.text == "Autor: [PESSOA_1]\n\nCPF 111.444.777-35"  # CPF: no span given, nothing masked
    (only,) = result.replacements
    assert only["source"] == "llm+model" and only["confidence"] == 0.4 and result.spans == [(7, 19)]


def test_labels_outside_the_policy_stay():
    result = pseudonymize(TEXT, SPANS, ["CPF"])
    assert "João da Silva Santos" in result.text and "[CPF_1]" in result.text


# the command line, on a real pipeline: an entity_ruler for names, legal_ids added by the command
@pytest.fixture(scope="module")
def ruler_dir(tmp_path_factory):
    nlp = spacy.blank("pt")
    nlp.add_pipe("entity_ruler").add_patterns(
        [{"label": "PESSOA", "pattern": "Pedro Cabral"}, {"label": "LOCAL", "pattern": "Brasília"}]
    )
    path = tmp_path_factory.mktemp("ruler") / "pipeline"
    nlp.to_disk(path)
    return path


DOC = "O réu Pedro Cabral, CPF 111.444.777-35, mora em Brasília. PEDRO CABRAL (CPF 11144477735) assina.\n"


def run_cli(*args):
    command = [sys.executable, "-m", "pt_legal_ner", "pseudonymize", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def test_cli_writes_jsonl_a_private_mapping_and_review_pages_and_resumes(ruler_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(DOC, encoding="utf-8")
    (folder / "b.txt").write_text("Sem nomes aqui.\n", encoding="utf-8")
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4\x00\x01")
    out, mapping, pages = tmp_path / "out.jsonl", tmp_path / "map.jsonl", tmp_path / "pages"
    # the ruler finds "Pedro Cabral"; --propagate masks "PEDRO CABRAL" too
    args = [folder, "-o", out, "--model", ruler_dir, "--mapping", mapping, "--html", pages, "--propagate"]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    records = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert records["a.txt"]["text"] == (
        "O réu [PESSOA_1], CPF [CPF_1], mora em Brasília. [PESSOA_1] (CPF [CPF_1]) assina.\n"
    )
    assert "PDF" in records["scan.pdf"]["error"] and records["b.txt"]["replacements"] == []
    assert "Pedro" not in out.read_text(encoding="utf-8") and "444" not in out.read_text(encoding="utf-8")
    assert stat.S_IMODE(mapping.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in mapping.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["a.txt", "b.txt"]
    assert {e["entity"]: e["values"] for e in lines[0]["entities"]} == {
        "PESSOA_1": ["Pedro Cabral", "PEDRO CABRAL"],
        "CPF_1": ["111.444.777-35", "11144477735"],
    }
    (page,) = [p for p in pages.iterdir() if p.name.startswith("a.txt")]
    assert stat.S_IMODE(page.stat().st_mode) == 0o600 and page.read_text(encoding="utf-8").count("<mark") == 4
    before = out.read_bytes(), mapping.read_bytes()
    again = run_cli(*args)
    assert "0 documents written" in again.stderr and "3 already there" in again.stderr
    assert (out.read_bytes(), mapping.read_bytes()) == before


def test_cli_writes_one_text_per_document_into_a_folder(ruler_dir, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text(DOC, encoding="utf-8")
    (folder / "b.md").write_text("Pedro Cabral.\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli(folder, "-o", out, "--model", ruler_dir, "--labels", "PESSOA", "--style", "mask")
    assert result.returncode == 0, result.stderr
    assert (out / "sub" / "a.txt").read_text(encoding="utf-8").startswith("O réu ***** ******, CPF 111.444.777-35")
    assert (out / "b.md.txt").read_text(encoding="utf-8") == "***** ******.\n"
    manifest = [json.loads(line) for line in (out / ".pseudonymize.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(m["id"], m["file"]) for m in manifest] == [("b.md", "b.md.txt"), ("sub/a.txt", "sub/a.txt")]
    assert all("text" not in m for m in manifest)


def test_cli_a_crash_between_mapping_and_output_redoes_the_document_and_adds_no_second_line(ruler_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(DOC, encoding="utf-8")
    out, mapping = tmp_path / "out.jsonl", tmp_path / "map.jsonl"
    assert run_cli(folder, "-o", out, "--model", ruler_dir, "--mapping", mapping).returncode == 0
    before = mapping.read_bytes()
    out.write_bytes(b"")  # the crash: the mapping line is there, the output record is not
    mapping.chmod(0o644)
    result = run_cli(folder, "-o", out, "--model", ruler_dir, "--mapping", mapping)
    assert result.returncode == 0, result.stderr
    assert [r["id"] for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())] == ["a.txt"]
    assert mapping.read_bytes() == before and stat.S_IMODE(mapping.stat().st_mode) == 0o600


def test_cli_refuses_unknown_labels(ruler_dir, tmp_path):
    result = run_cli(tmp_path, "-o", tmp_path / "o.jsonl", "--model", ruler_dir, "--labels", "PESSOA,NOME")
    assert result.returncode == 2 and "unknown labels ['NOME']" in result.stderr


def test_cli_refuses_a_mapping_file_that_is_not_one(ruler_dir, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(DOC, encoding="utf-8")
    mapping = tmp_path / "map.jsonl"
    mapping.write_text("nomes reais\n", encoding="utf-8")
    result = run_cli(tmp_path / "in", "-o", tmp_path / "o.jsonl", "--model", ruler_dir, "--mapping", mapping)
    assert result.returncode == 2 and "map.jsonl line 1 is not a mapping record" in result.stderr
    assert mapping.read_text(encoding="utf-8") == "nomes reais\n"
    assert not (tmp_path / "o.jsonl").exists() or not (tmp_path / "o.jsonl").read_bytes()


def test_cli_reads_the_identifiers_from_the_pipelines_own_span_group(tmp_path):
    nlp = spacy.blank("pt")
    nlp.add_pipe("legal_ids", config={"spans_key": "ids", "ents_filter": {"@misc": "pt_legal_ner.ids_spans_only.v1"}})
    nlp.to_disk(tmp_path / "pipeline")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(DOC, encoding="utf-8")
    result = run_cli(tmp_path / "in", "-o", tmp_path / "o.jsonl", "--model", tmp_path / "pipeline")
    assert result.returncode == 0, result.stderr
    assert "no legal_ids component" not in result.stderr
    text = json.loads((tmp_path / "o.jsonl").read_text(encoding="utf-8"))["text"]
    assert "111.444.777-35" not in text and text.count("[CPF_1]") == 2


def test_a_name_span_stretched_over_identifiers_leaves_each_its_own_placeholder():
    text = "Autos 0058967-77.2016.8.19.0000 de Ana Lima, CPF 111.444.777-35, fim."
    spans = spans_at(text, ("CPF 111.444.777-35", "CPF"))
    spans[0].update(start=spans[0]["start"] + 4, normalized="11144477735")
    cnj = text.index("0058967")
    number = "00589677720168190000"
    spans.append({"start": cnj, "end": cnj + 25, "label": "CNJ", "source": "rule", "normalized": number})
    spans.append({"start": 0, "end": text.index(", fim"), "label": "PESSOA", "source": "model", "confidence": 0.3})
    result = pseudonymize(text, spans, ["PESSOA", "CPF", "CNJ"])
    assert [r["label"] for r in result.replacements] == ["PESSOA", "CNJ", "PESSOA", "CPF"]
    assert result.text == "[PESSOA_1] [CNJ_1] [PESSOA_2] [CPF_1], fim."


KEY = b"a secret of thirty-two bytes...!"


def test_keyed_placeholders_are_the_same_across_documents_and_differ_by_key():
    first = pseudonymize(TEXT, SPANS, LABELS, style="keyed", key=KEY)
    # another document: the short mention and the bare CPF alone, in another order
    other_text = "JOÃO DA SILVA SANTOS assina; CPF 111.444.777-35."
    other = pseudonymize(
        other_text, spans_at(other_text, ("111.444.777-35", "CPF"), ("JOÃO DA SILVA SANTOS", "PESSOA")), LABELS,
        style="keyed", key=KEY,
    )  # fmt: skip
    placeholder = {r["entity"]: r["placeholder"] for r in first.replacements}
    assert placeholder["PESSOA_1"] in other.text and placeholder["CPF_1"] in other.text
    assert placeholder["PESSOA_1"].startswith("[PESSOA_") and placeholder["PESSOA_1"] != placeholder["PESSOA_2"]
    again = pseudonymize(TEXT, SPANS, LABELS, style="keyed", key=b"another key, also 32 bytes long!")
    assert again.text != first.text and "111" not in first.text and "João" not in first.text
    with pytest.raises(ValueError, match="secret key"):
        pseudonymize(TEXT, SPANS, LABELS, style="keyed", key=b"short")


def test_health_data_is_marked_sensitive_in_the_replacements_and_the_mapping():
    text = "Portador de esquizofrenia (CID F20), CPF 111.444.777-35."
    spans = [
        {"start": text.index(v), "end": text.index(v) + len(v), "label": label, "source": "rule", "normalized": v}
        for v, label in (("esquizofrenia", "SAUDE"), ("F20", "CID"), ("111.444.777-35", "CPF"))
    ]
    result = pseudonymize(text, spans, ["SAUDE", "CID", "CPF"])
    assert result.text == "Portador de [SAUDE_1] (CID [CID_1]), CPF [CPF_1]."
    assert [r.get("sensitive", False) for r in result.replacements] == [True, True, False]
    assert [e.get("sensitive", False) for e in result.mapping] == [True, True, False]


def test_cli_keyed_style_reads_its_key_from_a_file_or_the_environment_never_the_command_line(ruler_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(DOC, encoding="utf-8")
    (folder / "b.txt").write_text("Outro: CPF 11144477735.\n", encoding="utf-8")
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")
    by_file = run_cli(
        folder, "-o", tmp_path / "f.jsonl", "--model", ruler_dir, "--style", "keyed", "--key-file", key_file
    )
    assert by_file.returncode == 0, by_file.stderr
    env = {**os.environ, "PT_LEGAL_NER_KEY": KEY.decode()}
    command = [sys.executable, "-m", "pt_legal_ner", "pseudonymize", str(folder), "-o", str(tmp_path / "e.jsonl")]
    by_env = subprocess.run(
        [*command, "--model", str(ruler_dir), "--style", "keyed"], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert by_env.returncode == 0, by_env.stderr
    texts = [
        {r["id"]: r["text"] for r in map(json.loads, (tmp_path / name).read_text(encoding="utf-8").splitlines())}
        for name in ("f.jsonl", "e.jsonl")
    ]
    assert texts[0] == texts[1]
    cpf = texts[0]["b.txt"].split("CPF ")[1].rstrip(".\n")
    assert cpf.startswith("[CPF_") and cpf in texts[0]["a.txt"]
    missing = run_cli(folder, "-o", tmp_path / "m.jsonl", "--model", ruler_dir, "--style", "keyed")
    assert missing.returncode != 0 and "PT_LEGAL_NER_KEY" in missing.stderr and not (tmp_path / "m.jsonl").exists()
    on_line = run_cli(folder, "-o", tmp_path / "m.jsonl", "--model", ruler_dir, "--style", "keyed", "--key", "x" * 32)
    assert on_line.returncode == 2


def test_cli_teaches_a_pipeline_packaged_with_fewer_kinds_the_kinds_it_masks(tmp_path):
    # a pipeline packaged before CNH and RENAVAM existed: its legal_ids lists the old kinds; the
    # RENAVAM's eleven digits also pass CPF's check, so an old pipeline called them a CPF
    nlp = spacy.blank("pt")
    old = ["CNJ", "CNPJ", "CPF", "OAB", "CEP", "EMAIL", "TELEFONE", "RG"]
    nlp.add_pipe("legal_ids", config={"labels": old, "ents_filter": {"@misc": "pt_legal_ner.ids_spans_only.v1"}})
    nlp.to_disk(tmp_path / "pipeline")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("CNH nº 02650306461, RENAVAM 00639884962.\n", encoding="utf-8")
    result = run_cli(tmp_path / "in", "-o", tmp_path / "o.jsonl", "--model", tmp_path / "pipeline")
    assert result.returncode == 0, result.stderr
    assert "adding CNH, TITULO_ELEITOR" in result.stderr
    record = json.loads((tmp_path / "o.jsonl").read_text(encoding="utf-8"))
    assert record["text"] == "CNH nº [CNH_1], RENAVAM [RENAVAM_1].\n"
    only_cpf = run_cli(tmp_path / "in", "-o", tmp_path / "c.jsonl", "--model", tmp_path / "pipeline", "--labels", "CPF")
    assert "adding" not in only_cpf.stderr  # it already finds every kind asked for
