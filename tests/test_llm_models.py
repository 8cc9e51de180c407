"""Both HTTP models inside llm_fallback, against the fake Ollama (its native API and its /v1):
every fault keeps the trained entities, and the settings users change go by the documented
config paths (components.llm_fallback.model.name / base_url / timeout, task.threshold).
"""

import json
import logging
import time

import pytest
import spacy

from tests.conftest import free_port
from tests.fake_ollama import FakeOllama
from tests.llm_pipeline import FIRST, SECOND, ents, run, sentence_prompt_nlp, trained_doc

ANSWERS = {
    FIRST: [{"text": "Supremo Tribunal Federal", "label": "ORGANIZACAO"}],
    SECOND: [{"text": "Goiânia", "label": "LOCAL"}, {"text": "2015", "label": "TEMPO"}],
}
MODELS = {
    "ollama": {"@llm_models": "pt_legal_ner.Ollama.v1", "url": lambda server: server},
    "openai": {"@llm_models": "pt_legal_ner.OpenAICompatible.v1", "url": lambda server: f"{server}/v1"},
}


def scripted(prompt: str) -> str:
    """The prompt template of these tests is the sentence alone."""
    return json.dumps({"entities": ANSWERS.get(prompt, [])}, ensure_ascii=False)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """sentencizer + llm_fallback with the sentence as its whole prompt, saved as a user would have it."""
    folder = tmp_path_factory.mktemp("llm")
    sentence_prompt_nlp(folder, {"@llm_models": "pt_legal_ner.Ollama.v1"}).to_disk(folder / "pipe")
    return folder / "pipe"


def load(pipeline, kind, url, tmp_path, task=None, **model):
    """The pipeline as `spacy.load` gives it with these settings (a fresh answer cache in tmp_path)."""
    settings = {
        "@llm_models": MODELS[kind]["@llm_models"],
        "name": "llama3",
        "base_url": MODELS[kind]["url"](url),
        "timeout": 1.0,
        "max_retries": 0,
        "cache": {"@llm_misc": "pt_legal_ner.AnswerCache.v1", "path": str(tmp_path / "answers.sqlite3")},
        **model,
    }
    overrides = {"components": {"llm_fallback": {"task": task or {"threshold": 1.0}, "model": settings}}}
    return spacy.load(pipeline, config=overrides)


@pytest.fixture
def fake():
    with FakeOllama(answer=scripted) as server:
        yield server


@pytest.fixture(params=sorted(MODELS))
def kind(request):
    return request.param


def test_answers_merge_through_either_model(pipeline, fake, kind, tmp_path):
    nlp = load(pipeline, kind, fake.url, tmp_path)
    doc = run(nlp, trained_doc(nlp))
    assert ents(doc) == [
        ("Supremo Tribunal Federal", "ORGANIZACAO", "model"),
        ("Goiânia", "LOCAL", "llm"),
        ("2015", "TEMPO", "llm"),
    ]
    assert sorted(fake.prompts()) == sorted(ANSWERS)
    assert {b["model"] for b in fake.chat_requests()} == {"llama3"}


def test_threshold_zero_sends_nothing(pipeline, fake, kind, tmp_path):
    nlp = load(pipeline, kind, fake.url, tmp_path, task={"threshold": 0.0})
    run(nlp, trained_doc(nlp))
    assert fake.requests == []


def refused(fake):
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


# fault -> (the cause counted, how the fake is set up, the URL the model is given)
FAULTS = {
    "refused": ("unreachable", {}, refused),
    "timeout": ("timeout", {"delay_s": 1.5}, None),
    "http_500": ("http_error", {"fail_status": 500}, None),
    "http_503": ("http_error", {"fail_status": 503}, None),
    "unknown_model": ("model_not_found", {"models": ["mistral:latest"]}, None),
    "empty_answer": ("bad_answer", {"answer": lambda prompt: ""}, None),
    "malformed_answer": ("bad_answer", {"answer": lambda prompt: "Goiânia é um LOCAL"}, None),
    "wrong_json": ("bad_answer", {"answer": lambda prompt: '{"ents": []}'}, None),
}


def arm(fake, fault):
    cause, settings, url = FAULTS[fault]
    for name, value in settings.items():
        setattr(fake, name, value)
    return cause, (url(fake) if url else fake.url)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faults_keep_every_trained_entity_and_warn_once(pipeline, fake, kind, tmp_path, caplog, fault):
    cause, url = arm(fake, fault)
    nlp = load(pipeline, kind, url, tmp_path)
    with caplog.at_level(logging.WARNING, logger="pt_legal_ner"):
        docs = [run(nlp, trained_doc(nlp)) for _ in range(2)]
    for doc in docs:
        assert ents(doc) == [("Supremo Tribunal Federal", "ORGANIZACAO", "model")]
        stats = doc._.llm_fallback
        assert (stats["sent"], stats["failed"], stats["answered"]) == (2, 2, 0)
        assert stats["errors"] == {cause: 2}
    warnings = [r for r in caplog.records if r.name == "pt_legal_ner"]
    assert len(warnings) == 1 and cause in warnings[0].getMessage()


@pytest.mark.parametrize("fault", ["refused", "http_500", "malformed_answer"])
def test_strict_raises_the_fault(pipeline, fake, kind, tmp_path, fault):
    from pt_legal_ner.llm.chat import LLMError

    cause, url = arm(fake, fault)
    nlp = load(pipeline, kind, url, tmp_path, task={"threshold": 1.0, "strict": True})
    with pytest.raises(LLMError) as err:
        run(nlp, trained_doc(nlp))
    assert err.value.cause == cause


def test_a_dead_server_costs_one_timeout_per_cooldown_not_one_per_sentence(pipeline, fake, kind, tmp_path):
    fake.delay_s = 1.5
    nlp = load(pipeline, kind, fake.url, tmp_path)
    docs = list(nlp.pipe([trained_doc(nlp) for _ in range(5)]))
    assert len(fake.chat_requests()) == 1
    assert all(d._.llm_fallback["errors"] == {"timeout": 2} for d in docs)


def test_the_server_is_probed_again_after_the_cooldown_and_answers_resume(pipeline, fake, kind, tmp_path):
    fake.fail_status = 500
    nlp = load(pipeline, kind, fake.url, tmp_path, cooldown_s=0.3)
    run(nlp, trained_doc(nlp))
    assert len(fake.chat_requests()) == 1  # the second prompt was not sent: the breaker is open
    fake.fail_status = None
    time.sleep(0.4)
    doc = run(nlp, trained_doc(nlp))
    assert doc._.llm_fallback["answered"] == 2 and len(fake.chat_requests()) == 3


def test_a_batchs_prompts_are_sent_concurrently_within_the_bound(pipeline, fake, kind, tmp_path):
    fake.delay_s = 0.3
    sentences = [f"O recurso {i} veio de Goiânia." for i in range(8)]
    nlp = load(pipeline, kind, fake.url, tmp_path, concurrency=3, timeout=5.0)
    start = time.monotonic()
    list(nlp.pipe([" ".join(sentences)]))
    elapsed = time.monotonic() - start
    assert len(fake.chat_requests()) == 8
    assert fake.max_in_flight == 3
    assert elapsed < 8 * 0.3  # one at a time would take 2.4 s

    fake.max_in_flight = 0
    one_at_a_time = load(pipeline, kind, fake.url, tmp_path / "other", concurrency=1, timeout=5.0)
    list(one_at_a_time.pipe([" ".join(sentences)]))
    assert fake.max_in_flight == 1


def test_each_distinct_sentence_of_a_batch_is_sent_once_and_answers_are_cached_on_disk(pipeline, fake, kind, tmp_path):
    nlp = load(pipeline, kind, fake.url, tmp_path)
    docs = list(nlp.pipe([trained_doc(nlp) for _ in range(4)], batch_size=4))
    assert len(fake.chat_requests()) == 2
    assert all(("Goiânia", "LOCAL", "llm") in ents(d) for d in docs)
    again = load(pipeline, kind, fake.url, tmp_path)  # another process would reopen the same file
    doc = run(again, trained_doc(again))
    assert len(fake.chat_requests()) == 2 and doc._.llm_fallback["cached"] == 2
    assert ("Goiânia", "LOCAL", "llm") in ents(doc)
    other_seed = load(pipeline, kind, fake.url, tmp_path, seed=1)  # another setting is another key
    run(other_seed, trained_doc(other_seed))
    assert len(fake.chat_requests()) == 4


def test_loading_touches_no_network(pipeline, fake, kind, tmp_path):
    load(pipeline, kind, fake.url, tmp_path)
    assert fake.requests == []


def test_a_probe_after_the_cooldown_is_one_attempt_without_retries(pipeline, fake, kind, tmp_path):
    fake.fail_status = 503
    nlp = load(pipeline, kind, fake.url, tmp_path, max_retries=2, cooldown_s=0.3)
    run(nlp, trained_doc(nlp))
    assert len(fake.chat_requests()) == 3  # the first fault: one request and two retries
    time.sleep(0.4)
    doc = run(nlp, trained_doc(nlp))
    assert len(fake.chat_requests()) == 4  # the probe: one request; the breaker reopens
    assert doc._.llm_fallback["errors"] == {"http_error": 2}
