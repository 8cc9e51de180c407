from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from scripts.data.convert_conll import ConllError, convert


def conll_counts(path: Path) -> tuple[int, int, int]:
    """Sentences, tokens and entities counted straight from the CoNLL text."""
    sentences = tokens = entities = 0
    in_sentence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            in_sentence = False
            continue
        if not in_sentence:
            sentences += 1
            in_sentence = True
        tokens += 1
        entities += line.split()[1].startswith("B-")
    return sentences, tokens, entities


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_counts_match_the_conll_source(lener_dir, tmp_path, split):
    source = lener_dir / f"{split}.conll"
    out = tmp_path / f"{split}.spacy"
    convert(source, out, n_sents=10)
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank("pt").vocab))
    n_sents, n_tokens, n_ents = conll_counts(source)
    assert sum(len(d) for d in docs) == n_tokens
    assert sum(len(d.ents) for d in docs) == n_ents
    assert sum(len(list(d.sents)) for d in docs) == n_sents
    assert len(docs) == -(-n_sents // 10)


def test_entities_and_sentence_boundaries_are_kept(tmp_path):
    src = tmp_path / "a.conll"
    src.write_text(
        "O O\nSupremo B-ORGANIZACAO\nTribunal I-ORGANIZACAO\nFederal I-ORGANIZACAO\njulgou O\n\n"
        "Em B-LOCAL\n\nJoão B-PESSOA\nSilva I-PESSOA\n",
        encoding="utf-8",
    )
    convert(src, tmp_path / "a.spacy", n_sents=2)
    docs = list(DocBin().from_disk(tmp_path / "a.spacy").get_docs(spacy.blank("pt").vocab))
    assert len(docs) == 2
    assert [(e.text, e.label_) for e in docs[0].ents] == [
        ("Supremo Tribunal Federal", "ORGANIZACAO"),
        ("Em", "LOCAL"),
    ]
    assert [s.text for s in docs[0].sents] == ["O Supremo Tribunal Federal julgou", "Em"]
    assert [(e.text, e.label_) for e in docs[1].ents] == [("João Silva", "PESSOA")]


@pytest.mark.parametrize(
    "body, line, message",
    [
        ("A O\nB\nC O\n", 2, "expected 'TOKEN TAG'"),
        ("A O\n\nB B-PESSOA\nC B-ADVOGADO\n", 4, "unknown label 'ADVOGADO'"),
        ("A O\nB I-PESSOA\n", 2, "I-PESSOA follows O"),
        ("A B-LOCAL\nB I-PESSOA\n", 2, "I-PESSOA follows LOCAL entity"),
        ("A O\nB X-PESSOA\n", 2, "not an IOB2 tag"),
    ],
)
def test_malformed_input_names_file_and_line_and_writes_nothing(tmp_path, body, line, message):
    src = tmp_path / "bad.conll"
    src.write_text(body, encoding="utf-8")
    out = tmp_path / "out" / "bad.spacy"
    with pytest.raises(ConllError) as err:
        convert(src, out)
    assert err.value.line == line
    assert str(err.value).startswith(f"{src}:{line}: ")
    assert message in str(err.value)
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_failed_conversion_keeps_the_previous_output(tmp_path):
    good, bad, out = tmp_path / "good.conll", tmp_path / "bad.conll", tmp_path / "x.spacy"
    good.write_text("A B-TEMPO\n", encoding="utf-8")
    bad.write_text("A I-TEMPO\n", encoding="utf-8")
    convert(good, out)
    before = out.read_bytes()
    with pytest.raises(ConllError):
        convert(bad, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.conll", "good.conll", "x.spacy"]
