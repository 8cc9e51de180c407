"""OllamaChat against the fake server: the request it sends and every fault it can meet (raised by
`chat`; inside llm_fallback they are counted instead: test_llm_models.py)."""

import pytest

from pt_legal_ner.llm.chat import (
    LLMBadAnswer,
    LLMHTTPError,
    LLMModelNotFound,
    LLMPromptTooLong,
    LLMTimeout,
    LLMUnreachable,
)
from pt_legal_ner.llm.ollama import OllamaChat
from tests.conftest import free_port
from tests.fake_ollama import FakeOllama


def test_sends_deterministic_options_and_reads_the_answer():
    with FakeOllama(answer=lambda p: f"eco: {p}") as fake:
        model = OllamaChat("llama3", fake.url, seed=7)
        assert fake.requests == []  # constructing touches no network
        assert model([["a", "b"], ["c"]]) == [["eco: a", "eco: b"], ["eco: c"]]
        body = fake.chat_requests()[0]
        assert body["stream"] is False and body["format"] == "json"
        assert body["options"] == {"temperature": 0.0, "seed": 7, "num_predict": 512}
        # the model list is asked for once, not per prompt
        assert [p for _, p, _ in fake.requests].count("/api/tags") == 1


def test_reads_ollama_host(monkeypatch):
    with FakeOllama() as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.host)
        assert OllamaChat("llama3").chat("x") == '{"entities": []}'


def test_refused_connection():
    model = OllamaChat("llama3", f"127.0.0.1:{free_port()}", max_retries=1, retry_backoff=0.01)
    with pytest.raises(LLMUnreachable):
        model.chat("x")


def test_timeout_is_bounded():
    with FakeOllama() as fake:
        fake.delay_s = 2.0
        model = OllamaChat("llama3", fake.url, timeout=0.3, max_retries=0)
        with pytest.raises(LLMTimeout):
            model.chat("x")


def test_server_errors_are_retried_then_raised():
    with FakeOllama() as fake:
        fake.fail_status = 500
        model = OllamaChat("llama3", fake.url, max_retries=2, retry_backoff=0.01)
        with pytest.raises(LLMHTTPError, match="llama runner process has terminated") as err:
            model.chat("x")
        assert err.value.status == 500
        assert len(fake.chat_requests()) == 3


def test_unknown_model():
    with FakeOllama(models=("mistral:latest",)) as fake:
        with pytest.raises(LLMModelNotFound, match="ollama pull llama3"):
            OllamaChat("llama3", fake.url).chat("x")
        assert fake.chat_requests() == []


def test_model_removed_after_the_check_is_reported_from_the_404_body():
    with FakeOllama() as fake:
        model = OllamaChat("llama3", fake.url)
        model.chat("x")
        fake.models = []
        with pytest.raises(LLMModelNotFound, match="not found"):
            model.chat("y")


@pytest.mark.parametrize("content", ["", "   "])
def test_empty_answer(content):
    with FakeOllama(answer=lambda p: content) as fake:
        with pytest.raises(LLMBadAnswer, match="empty"):
            OllamaChat("llama3", fake.url).chat("x")


def test_prompt_beyond_the_context_length_is_not_sent():
    with FakeOllama() as fake:
        model = OllamaChat("llama3", fake.url, context_length=1024, num_predict=24)
        assert model.chat("x" * 2900) == '{"entities": []}'
        with pytest.raises(LLMPromptTooLong):
            model.chat("x" * 3100)
        assert len(fake.chat_requests()) == 1
