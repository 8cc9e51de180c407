"""Entities do not depend on where lines wrap (issue 38): a line break where the text had a space
is skipped by decoding, masked in training, read as a space by the rules."""

import random

import numpy as np
import pytest
import spacy
from spacy.tokens import Span
from spacy.training import Example

import pt_legal_ner  # noqa: F401
from pt_legal_ner.components.iob import decode, tag_names
from pt_legal_ner.components.token_ner import gold_tags
from scripts.evaluation.wrapped_text import wrap, wrapped_examples

TAGS = tag_names(["LEGISLACAO", "PESSOA"])


def one_hot(tags: list[str], sure: float = 0.9) -> np.ndarray:
    probs = np.full((len(tags), len(TAGS)), (1 - sure) / (len(TAGS) - 1), dtype="f")
    for i, tag in enumerate(tags):
        probs[i, TAGS.index(tag)] = sure
    return probs


def test_decoding_skips_whitespace_tokens():
    # "Lei \n nº 8.666" with the line break's token tagged O, as a model that never saw one tags it
    probs = one_hot(["B-LEGISLACAO", "O", "I-LEGISLACAO", "I-LEGISLACAO", "O"])
    skip = np.array([False, True, False, False, False])
    spans, conf = decode(probs, TAGS, skip)
    assert spans == [(0, 4, "LEGISLACAO", pytest.approx(0.9))]
    assert conf[1] == 1.0 and conf[0] == pytest.approx(0.9)
    # without skipping, the same probabilities cut the entity in two at the line break
    assert [s[:3] for s in decode(probs, TAGS)[0]] == [(0, 1, "LEGISLACAO"), (2, 4, "LEGISLACAO")]


def test_an_entity_never_starts_or_ends_on_whitespace():
    probs = one_hot(["O", "B-PESSOA", "I-PESSOA", "B-PESSOA", "O"])
    spans, _ = decode(probs, TAGS, np.array([True, False, True, False, True]))
    assert [s[:3] for s in spans] == [(1, 2, "PESSOA"), (3, 4, "PESSOA")]
    assert decode(probs, TAGS, np.ones(5, dtype=bool))[0] == []


def test_whitespace_tokens_are_not_trained_on():
    nlp = spacy.blank("pt")
    doc = nlp.make_doc("Lei\nnº 8.666 de João")
    ref = doc.copy()
    ref.ents = [Span(ref, 0, 4, label="LEGISLACAO"), Span(ref, 5, 6, label="PESSOA")]
    assert [t.text for t in doc][:2] == ["Lei", "\n"]
    assert gold_tags(Example(doc, ref)) == ["B-LEGISLACAO", None, "I-LEGISLACAO", "I-LEGISLACAO", "O", "B-PESSOA"]


def test_rules_read_a_line_break_as_a_space():
    nlp = spacy.blank("pt")
    rules = nlp.add_pipe("legal_rules")
    doc = nlp.make_doc("Código\nde Verificação da Seção de Brasília\n( DF ) .")
    doc.ents = [Span(doc, 0, 4, label="LEGISLACAO"), Span(doc, 7, 8, label="LOCAL")]
    doc = rules(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("Brasília\n( DF )", "LOCAL")]


def test_wrap_keeps_every_character_but_spaces():
    text = "O Supremo Tribunal Federal , no julgamento do RE 123 , decidiu que a Lei nº 8.666 / 93 " * 5
    wrapped = wrap(text, 40)
    assert len(wrapped) == len(text) and wrapped != text
    assert all(a == b or (a, b) == (" ", "\n") for a, b in zip(text, wrapped, strict=True))
    assert max(len(line) for line in wrapped.split("\n")) <= 40
    assert wrap("palavra" * 10, 20) == "palavra" * 10  # a word longer than a line stays whole


def test_wrapped_examples_keep_the_entities_offsets():
    nlp = spacy.blank("pt")
    doc = nlp.make_doc("Segundo a Lei nº 8.666 / 93 , o Tribunal de Justiça do Distrito Federal decidiu em 2018 .")
    doc.ents = [doc.char_span(10, 27, label="LEGISLACAO"), doc.char_span(32, 71, label="ORGANIZACAO")]
    (eg,) = wrapped_examples(nlp, [Example(doc, doc)], width=30)
    assert "\n" in eg.reference.text
    assert [(e.start_char, e.end_char, e.label_) for e in eg.reference.ents] == [
        (10, 27, "LEGISLACAO"),
        (32, 71, "ORGANIZACAO"),
    ]
    assert any(t.is_space for e in eg.reference.ents for t in e)


@pytest.fixture(scope="module")
def trained(tiny_encoder, lener_train_docs):
    """The default config's pipeline on the tiny encoder, trained briefly on LeNER-Br documents."""
    config = spacy.util.load_config(
        "configs/legal_ner_trf.cfg",
        overrides={"paths.encoder": str(tiny_encoder), "training.optimizer.learn_rate.warmup_steps": 1},
    )
    spacy.util.fix_random_seed(0)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    docs = [doc for doc in lener_train_docs if len(doc) < 120][:40]
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in docs]
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.005
    random.seed(0)
    for _ in range(12):
        random.shuffle(examples)
        for start in range(0, len(examples), 8):
            nlp.update(examples[start : start + 8], sgd=optimizer, drop=0.1)
    return nlp, [eg.reference.text for eg in examples]


def test_a_trained_pipeline_finds_the_same_entities_however_lines_wrap(trained):
    nlp, texts = trained
    crossing = 0
    for text in texts:
        flat = nlp(text)
        # every space inside a predicted entity, and one every 30 columns elsewhere, made a line break
        chars = list(wrap(text, 30))
        for ent in flat.ents:
            for i in range(ent.start_char, ent.end_char):
                chars[i] = "\n" if text[i] == " " else chars[i]
        wrapped = nlp("".join(chars))
        assert [(e.start_char, e.end_char, e.label_) for e in wrapped.ents] == [
            (e.start_char, e.end_char, e.label_) for e in flat.ents
        ], text
        crossing += sum(any(t.is_space for t in e) for e in wrapped.ents)
    assert crossing >= 3  # the line breaks did fall inside entities


def test_a_decision_and_its_text_pdf_give_the_same_entities(trained):
    from scripts.evaluation.evaluate_layout import compare

    nlp, texts = trained
    paragraphs = [text for text in texts if nlp(text).ents][:2]
    result = compare(nlp, "\n\n".join(paragraphs))
    assert result["pdf_line_breaks"] > 3 and result["txt"]
    assert result["same"], (result["only_txt"], result["only_pdf"])
