"""OpenAICompatibleChat against the fake server's /v1 (Ollama's own OpenAI-compatible API): the
request it sends, its key, its model check, and the faults `chat` raises (inside llm_fallback
they are counted instead: test_llm_models.py)."""

import pytest

from pt_legal_ner.llm.chat import LLMBadAnswer, LLMHTTPError, LLMModelNotFound, LLMUnauthorized
from pt_legal_ner.llm.openai import OpenAICompatibleChat
from tests.fake_ollama import FakeOllama


def test_sends_deterministic_settings_and_reads_the_answer():
    with FakeOllama(answer=lambda p: f"eco: {p}") as fake:
        model = OpenAICompatibleChat("llama3", f"{fake.url}/v1", seed=7, max_tokens=64)
        assert fake.requests == []  # constructing touches no network
        assert model([["a", "b"], ["c"]]) == [["eco: a", "eco: b"], ["eco: c"]]
        body = fake.chat_requests()[0]
        assert body["temperature"] == 0.0 and body["seed"] == 7 and body["max_tokens"] == 64
        assert body["response_format"] == {"type": "json_object"}
        assert [p for _, p, _ in fake.requests].count("/v1/models") == 1  # checked once, not per prompt


def test_reads_openai_base_url(monkeypatch):
    with FakeOllama() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{fake.url}/v1/")
        assert OpenAICompatibleChat("llama3").chat("x") == '{"entities": []}'


def test_the_key_comes_from_the_named_environment_variable(monkeypatch):
    with FakeOllama() as fake:
        model = OpenAICompatibleChat("llama3", f"{fake.url}/v1", api_key_env="PT_LEGAL_NER_TEST_KEY")
        monkeypatch.delenv("PT_LEGAL_NER_TEST_KEY", raising=False)
        with pytest.raises(LLMUnauthorized, match="PT_LEGAL_NER_TEST_KEY"):
            model.chat("x")
        assert fake.requests == []  # nothing is sent without the key
        monkeypatch.setenv("PT_LEGAL_NER_TEST_KEY", "sk-test")
        model.chat("x")
        assert fake.headers[-1]["authorization"] == "Bearer sk-test"
    assert "sk-test" not in repr(model.identity)  # the key is in no cache key


def test_no_key_no_authorization_header():
    with FakeOllama() as fake:
        OpenAICompatibleChat("llama3", f"{fake.url}/v1").chat("x")
        assert "authorization" not in fake.headers[-1]


def test_unknown_model_names_what_the_server_has():
    with FakeOllama(models=("mistral:latest",)) as fake:
        with pytest.raises(LLMModelNotFound, match="mistral:latest"):
            OpenAICompatibleChat("llama3", f"{fake.url}/v1").chat("x")
        assert fake.chat_requests() == []


def test_a_model_removed_after_the_check_is_reported_from_the_404_body():
    with FakeOllama() as fake:
        model = OpenAICompatibleChat("llama3", f"{fake.url}/v1")
        model.chat("x")
        fake.models = []
        with pytest.raises(LLMModelNotFound, match="not found"):
            model.chat("y")


def test_server_errors_are_retried_then_raised_with_the_servers_message():
    with FakeOllama() as fake:
        fake.fail_status = 500
        model = OpenAICompatibleChat("llama3", f"{fake.url}/v1", max_retries=2, retry_backoff=0.01)
        with pytest.raises(LLMHTTPError, match="llama runner process has terminated"):
            model.chat("x")
        assert len(fake.chat_requests()) == 3


def test_empty_answer():
    with FakeOllama(answer=lambda p: "  ") as fake:
        with pytest.raises(LLMBadAnswer, match="empty"):
            OpenAICompatibleChat("llama3", f"{fake.url}/v1").chat("x")
