"""Merging corpus files keeps every doc and its entities, in order, and fails clearly."""

import pytest
import spacy
from spacy.tokens import DocBin, Span

from scripts.data.merge_corpora import merge


def write_docs(path, texts, label="PESSOA"):
    nlp = spacy.blank("pt")
    db = DocBin()
    for text in texts:
        doc = nlp(text)
        doc.ents = [Span(doc, 0, 1, label=label)]
        db.add(doc)
    db.to_disk(path)


def test_merge_keeps_docs_and_entities_in_order(tmp_path):
    write_docs(tmp_path / "a.spacy", ["João foi.", "Maria veio."])
    write_docs(tmp_path / "b.spacy", ["Brasília fica."], label="LOCAL")
    assert merge([tmp_path / "a.spacy", tmp_path / "b.spacy"], tmp_path / "out.spacy") == 3
    docs = list(DocBin().from_disk(tmp_path / "out.spacy").get_docs(spacy.blank("pt").vocab))
    assert [d.text for d in docs] == ["João foi.", "Maria veio.", "Brasília fica."]
    assert [(e.text, e.label_) for d in docs for e in d.ents] == [
        ("João", "PESSOA"),
        ("Maria", "PESSOA"),
        ("Brasília", "LOCAL"),
    ]


def test_unreadable_input_names_the_file_and_writes_nothing(tmp_path):
    write_docs(tmp_path / "a.spacy", ["João foi."])
    (tmp_path / "broken.spacy").write_bytes(b"not a docbin")
    with pytest.raises(SystemExit, match="broken.spacy"):
        merge([tmp_path / "a.spacy", tmp_path / "broken.spacy"], tmp_path / "out.spacy")
    assert not (tmp_path / "out.spacy").exists()
