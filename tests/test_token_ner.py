"""The legal_ner component on a small CNN encoder: learns, decodes, serialises."""

import random

import pytest
import spacy
from spacy.training import Example

import pt_legal_ner  # noqa: F401

CNN = {
    "@architectures": "spacy.HashEmbedCNN.v2",
    "width": 64,
    "depth": 2,
    "embed_size": 500,
    "window_size": 1,
    "maxout_pieces": 2,
    "subword_features": True,
    "pretrained_vectors": None,
}
TRAIN = [
    ("O juiz João Silva decidiu em Brasília .", [(2, 4, "PESSOA"), (6, 7, "LOCAL")]),
    ("Maria Souza mora em Recife .", [(0, 2, "PESSOA"), (4, 5, "LOCAL")]),
    ("Em Brasília , Pedro Alves recorreu .", [(1, 2, "LOCAL"), (3, 5, "PESSOA")]),
]


def make_examples(nlp):
    examples = []
    for text, spans in TRAIN:
        doc = nlp.make_doc(text)
        ref = doc.copy()
        ref.ents = [spacy.tokens.Span(ref, s, e, label=lab) for s, e, lab in spans]
        examples.append(Example(doc, ref))
    return examples


@pytest.fixture(scope="module")
def trained():
    random.seed(0)
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("pt")
    nlp.add_pipe("legal_ner", name="ner", config={"model": {"tok2vec": CNN}})
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(60):
        random.shuffle(examples)
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp


def test_learns_labels_from_the_data(trained):
    assert trained.get_pipe("ner").labels == ("LOCAL", "PESSOA")


def test_predicts_entities_with_source_and_confidence(trained):
    doc = trained("O juiz João Silva decidiu em Brasília .")
    assert [(e.text, e.label_) for e in doc.ents] == [("João Silva", "PESSOA"), ("Brasília", "LOCAL")]
    for ent in doc.ents:
        assert ent._.source == "model"
        assert 0.5 < ent._.confidence <= 1.0
    assert len(doc._.token_confidence) == len(doc)


def test_scores_like_spacy_ner(trained):
    scores = trained.evaluate(make_examples(trained))
    assert scores["ents_f"] == 1.0
    assert set(scores["ents_per_type"]) == {"PESSOA", "LOCAL"}


def test_round_trip_through_disk(trained, tmp_path):
    trained.to_disk(tmp_path / "m")
    nlp2 = spacy.load(tmp_path / "m")
    text = "Maria Souza mora em Recife ."
    a, b = trained(text), nlp2(text)
    assert [(e.text, e.label_, e._.confidence) for e in a.ents] == [(e.text, e.label_, e._.confidence) for e in b.ents]


def test_empty_and_whitespace_docs(trained):
    assert list(trained.pipe(["", "   ", "\n\n"])) is not None
    assert trained("").ents == ()


def test_a_label_weight_lowers_that_labels_threshold_only(trained):
    ner = trained.get_pipe("ner")
    text = "Depois , Carla Nunes viajou para Recife ."  # names the model never saw
    as_trained = trained(text)
    try:
        ner.label_weights = {"PESSOA": 1e6}  # every token whose PESSOA probability is not ~0
        weighted = trained(text)
    finally:
        ner.label_weights = {}
    people = lambda doc: sum(len(e) for e in doc.ents if e.label_ == "PESSOA")  # noqa: E731
    assert people(weighted) > people(as_trained)
    assert [t.text for t in trained(text)] == [t.text for t in as_trained] and people(trained(text)) == people(
        as_trained
    )


def test_label_weights_are_checked(trained):
    ner = trained.get_pipe("ner")
    with pytest.raises(ValueError, match="must be > 0"):
        ner.label_weights = {"PESSOA": 0.0}
    ner.label_weights = {"NOME": 2.0}
    try:
        with pytest.raises(ValueError, match="unknown labels \\['NOME'\\]"):
            trained("Maria Souza mora em Recife .")
    finally:
        ner.label_weights = {}
