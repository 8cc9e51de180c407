"""llm_fallback against the fake Ollama server: what is sent, how answers merge, every fault."""

import json
import logging

import pytest
import spacy
from spacy.tokens import Span

import pt_legal_ner  # noqa: F401
from tests.conftest import ROOT, free_port
from tests.fake_ollama import FakeOllama

TEXT = "O Supremo Tribunal Federal julgou o caso. O recurso veio de Goiânia em 2015."
LLM_ANSWERS = {
    "O Supremo Tribunal Federal julgou o caso.": [{"text": "Supremo Tribunal Federal", "label": "ORGANIZACAO"}],
    "O recurso veio de Goiânia em 2015.": [{"text": "Goiânia", "label": "LOCAL"}, {"text": "2015", "label": "TEMPO"}],
}


def sentence_of(prompt: str) -> str:
    return prompt.rsplit("Texto: ", 1)[1].split("\nResposta:")[0]


def scripted(prompt: str) -> str:
    return json.dumps({"entities": LLM_ANSWERS.get(sentence_of(prompt), [])}, ensure_ascii=False)


def make_nlp(base_url: str, tmp_path, **settings):
    nlp = spacy.blank("pt")
    nlp.add_pipe("sentencizer")
    config = {
        "model": {"base_url": base_url, "timeout": 1.0, "max_retries": 0},
        "cache": {"path": str(tmp_path / "cache.sqlite3")},
        **settings,
    }
    fallback = nlp.add_pipe("llm_fallback", config=config)
    examples = tmp_path / "examples.json"
    examples.write_text(json.dumps([{"text": "Em Recife .", "entities": [{"text": "Recife", "label": "LOCAL"}]}]))
    fallback.initialize(
        labels_path=ROOT / "configs/llm/labels_pt.json",
        template_path=ROOT / "configs/llm/prompt_pt.jinja",
        examples_path=examples,
    )
    return nlp


def trained_doc(nlp, ents=(("Supremo Tribunal Federal", "ORGANIZACAO", 0.97),), token_conf=0.99, low=()):
    """A doc as the trained NER leaves it: entities with confidences, per-token confidences."""
    doc = nlp.make_doc(TEXT)
    spans = []
    for surface, label, conf in ents:
        start = TEXT.index(surface)
        spans.append((doc.char_span(start, start + len(surface), label=label), conf))
    doc.ents = [s for s, _ in spans]
    for span, conf in spans:
        span._.source, span._.confidence = "model", conf
    confidence = [token_conf] * len(doc)
    for word, value in low:
        confidence[next(t.i for t in doc if t.text == word)] = value
    doc._.token_confidence = confidence
    return doc


def run(nlp, doc):
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return doc


def ents(doc):
    return [(e.text, e.label_, e._.source) for e in doc.ents]


@pytest.fixture
def fake():
    with FakeOllama(answer=scripted) as server:
        yield server


def test_threshold_one_sends_every_sentence_and_adds_llm_entities(fake, tmp_path):
    doc = run(make_nlp(fake.url, tmp_path, threshold=1.0), trained_doc(spacy.blank("pt")))
    assert len(fake.chat_requests()) == 2
    assert ents(doc) == [
        ("Supremo Tribunal Federal", "ORGANIZACAO", "model"),
        ("Goiânia", "LOCAL", "llm"),
        ("2015", "TEMPO", "llm"),
    ]
    assert all(e._.confidence == 0.5 for e in doc.ents if e._.source == "llm")
    assert doc._.llm_fallback["sent"] == 2 and doc._.llm_fallback["answered"] == 2
    assert doc._.llm_fallback["failed"] == 0 and doc._.llm_fallback["spans_added"] == 2


def test_threshold_zero_sends_nothing(fake, tmp_path):
    doc = run(make_nlp(fake.url, tmp_path, threshold=0.0), trained_doc(spacy.blank("pt"), token_conf=0.01))
    assert fake.requests == []
    assert doc._.llm_fallback["sent"] == 0
    assert ents(doc) == [("Supremo Tribunal Federal", "ORGANIZACAO", "model")]


def test_only_unsure_sentences_are_sent(fake, tmp_path):
    nlp = make_nlp(fake.url, tmp_path, threshold=0.6)
    doc = run(nlp, trained_doc(nlp, low=[("Goiânia", 0.4)]))
    assert [sentence_of(b["messages"][0]["content"]) for b in fake.chat_requests()] == [
        "O recurso veio de Goiânia em 2015."
    ]
    assert ("Goiânia", "LOCAL", "llm") in ents(doc)


def test_llm_replaces_only_low_confidence_trained_spans(fake, tmp_path):
    nlp = make_nlp(fake.url, tmp_path, threshold=0.6)
    # trained: "Supremo Tribunal" (unsure, 0.3) and "Goiânia em" (sure, 0.9) as PESSOA
    doc = trained_doc(
        nlp,
        ents=(("Supremo Tribunal", "ORGANIZACAO", 0.3), ("Goiânia em", "PESSOA", 0.9)),
        low=[("julgou", 0.2), ("veio", 0.2)],
    )
    doc = run(nlp, doc)
    assert ents(doc) == [
        ("Supremo Tribunal Federal", "ORGANIZACAO", "llm"),  # replaced the unsure span
        ("Goiânia em", "PESSOA", "model"),  # sure span kept, the LLM's Goiânia dropped
        ("2015", "TEMPO", "llm"),
    ]
    assert doc._.llm_fallback["spans_dropped"] == {"conflict": 1}


def test_strict_parsing_drops_and_counts(tmp_path):
    answers = {
        "O Supremo Tribunal Federal julgou o caso.": [
            {"text": "Supremo Tribunal Federal", "label": "ORGANIZACAO"},
            {"text": "Tribunal de Marte", "label": "ORGANIZACAO"},  # not in the text
            {"text": "caso", "label": "ASSUNTO"},  # not a label
            {"nome": "x"},  # not an entity item
            {"text": "Supremo Tribunal", "label": "ORGANIZACAO"},  # overlaps the first
        ],
        # in the text, but ends inside the token "veio": not stretched to a token boundary
        "O recurso veio de Goiânia em 2015.": [{"text": "recurso ve", "label": "ORGANIZACAO"}],
    }

    def answer(prompt):
        return json.dumps({"entities": answers[sentence_of(prompt)]})

    with FakeOllama(answer=answer) as fake:
        nlp = make_nlp(fake.url, tmp_path, threshold=1.0)
        doc = run(nlp, trained_doc(nlp, ents=()))
    assert ents(doc) == [("Supremo Tribunal Federal", "ORGANIZACAO", "llm")]
    assert doc._.llm_fallback["spans_dropped"] == {
        "not_in_text": 1,
        "unknown_label": 1,
        "bad_item": 1,
        "overlap": 1,
        "misaligned": 1,
    }


def test_extra_labels_reach_the_prompt_and_the_parser(tmp_path):
    def answer(prompt):
        assert "VALOR_MONETARIO: quantia em reais" in prompt
        return json.dumps({"entities": [{"text": "2015", "label": "VALOR_MONETARIO"}]})

    with FakeOllama(answer=answer) as fake:
        nlp = make_nlp(fake.url, tmp_path, threshold=1.0, extra_labels={"VALOR_MONETARIO": "quantia em reais"})
        doc = run(nlp, trained_doc(nlp))
    assert ("2015", "VALOR_MONETARIO", "llm") in ents(doc)


def test_answers_are_cached_on_disk(fake, tmp_path):
    run(make_nlp(fake.url, tmp_path, threshold=1.0), trained_doc(spacy.blank("pt")))
    assert len(fake.chat_requests()) == 2
    nlp2 = make_nlp(fake.url, tmp_path, threshold=1.0)  # a new process would reopen the same file
    doc = run(nlp2, trained_doc(nlp2))
    assert len(fake.chat_requests()) == 2
    assert doc._.llm_fallback["cached"] == 2 and ("Goiânia", "LOCAL", "llm") in ents(doc)
    # another model name is another key
    nlp3 = make_nlp(fake.url, tmp_path, threshold=1.0, model={"name": "llama3", "base_url": fake.url, "seed": 1})
    run(nlp3, trained_doc(nlp3))
    assert len(fake.chat_requests()) == 4


FAULTS = {
    "refused": ("unreachable", lambda fake: None),
    "timeout": ("timeout", lambda fake: setattr(fake, "delay_s", 1.5)),
    "http_500": ("http_error", lambda fake: setattr(fake, "fail_status", 500)),
    "http_503": ("http_error", lambda fake: setattr(fake, "fail_status", 503)),
    "unknown_model": ("model_not_found", lambda fake: setattr(fake, "models", ["mistral:latest"])),
    "empty_answer": ("bad_answer", lambda fake: setattr(fake, "answer", lambda p: "")),
    "malformed_answer": ("bad_answer", lambda fake: setattr(fake, "answer", lambda p: "Goiânia é um LOCAL")),
    "wrong_json": ("bad_answer", lambda fake: setattr(fake, "answer", lambda p: '{"ents": []}')),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faults_keep_every_trained_entity_and_warn_once(fake, tmp_path, caplog, fault):
    cause, arm = FAULTS[fault]
    arm(fake)
    url = f"http://127.0.0.1:{free_port()}" if fault == "refused" else fake.url
    nlp = make_nlp(url, tmp_path, threshold=1.0)
    with caplog.at_level(logging.WARNING, logger="pt_legal_ner"):
        docs = [run(nlp, trained_doc(nlp)) for _ in range(2)]
    for doc in docs:
        assert ents(doc) == [("Supremo Tribunal Federal", "ORGANIZACAO", "model")]
        stats = doc._.llm_fallback
        assert stats["sent"] == 2 and stats["failed"] == 2 and stats["answered"] == 0
        assert stats["errors"] == {cause: 2}
    warnings = [r for r in caplog.records if r.name == "pt_legal_ner"]
    assert len(warnings) == 1 and cause in warnings[0].getMessage()


def test_dead_server_costs_one_timeout_not_one_per_sentence(fake, tmp_path):
    fake.delay_s = 1.5
    nlp = make_nlp(fake.url, tmp_path, threshold=1.0)
    list(nlp.pipe([trained_doc(nlp) for _ in range(5)]))
    assert len(fake.chat_requests()) == 1


@pytest.mark.parametrize("fault", ["refused", "http_500", "malformed_answer"])
def test_strict_mode_raises(fake, tmp_path, fault):
    from pt_legal_ner.ollama_model import OllamaError

    FAULTS[fault][1](fake)
    url = f"http://127.0.0.1:{free_port()}" if fault == "refused" else fake.url
    nlp = make_nlp(url, tmp_path, threshold=1.0, strict=True)
    with pytest.raises(OllamaError):
        run(nlp, trained_doc(nlp))


def test_pipe_batches_and_asks_each_distinct_sentence_once(fake, tmp_path):
    nlp = make_nlp(fake.url, tmp_path, threshold=1.0)
    docs = list(nlp.pipe([trained_doc(nlp) for _ in range(4)], batch_size=4))
    assert len(fake.chat_requests()) == 2
    assert all(("Goiânia", "LOCAL", "llm") in ents(d) for d in docs)


def test_serialises_prompt_data_and_takes_settings_at_load(fake, tmp_path):
    nlp = make_nlp(fake.url, tmp_path, threshold=0.0)
    nlp.to_disk(tmp_path / "pipe")
    loaded = spacy.load(
        tmp_path / "pipe", config={"components": {"llm_fallback": {"threshold": 1.0, "model": {"name": "llama3"}}}}
    )
    fallback = loaded.get_pipe("llm_fallback")
    assert fallback.threshold == 1.0
    assert fallback.task.examples == nlp.get_pipe("llm_fallback").task.examples
    assert fake.requests == []  # loading touched no network
    doc = run(loaded, trained_doc(loaded))
    assert doc._.llm_fallback["answered"] == 2


def test_uninitialised_component_says_so(tmp_path):
    nlp = spacy.blank("pt")
    nlp.add_pipe("llm_fallback", config={"threshold": 1.0, "cache": {"enabled": False}})
    with pytest.raises(ValueError, match="labels_path"):
        nlp("Texto qualquer.")


def test_span_extension_values_follow_doc_ents():
    nlp = spacy.blank("pt")
    doc = nlp("João mora em Recife")
    span = Span(doc, 3, 4, label="LOCAL")
    doc.ents = [span]
    span._.confidence = 0.4
    assert doc.ents[0]._.confidence == 0.4
