"""The fake server agrees with the official Python clients (`ollama` on its native API, `openai` on
its /v1), and our clients with them."""

import json

import ollama
import openai
import pytest
from ollama._client import _parse_host

from pt_legal_ner.llm.ollama import OllamaChat, parse_host
from pt_legal_ner.llm.openai import OpenAICompatibleChat
from tests.fake_ollama import FakeOllama


@pytest.fixture
def fake():
    with FakeOllama(answer=lambda prompt: json.dumps({"entities": [{"text": "Brasília", "label": "LOCAL"}]})) as server:
        yield server


def test_official_client_lists_chats_and_generates(fake):
    client = ollama.Client(host=fake.url)
    assert [m.model for m in client.list().models] == ["llama3:latest"]
    reply = client.chat(model="llama3", messages=[{"role": "user", "content": "oi"}], options={"temperature": 0})
    assert json.loads(reply.message.content)["entities"][0]["label"] == "LOCAL"
    assert reply.done and reply.message.role == "assistant"
    assert client.generate(model="llama3", prompt="oi").response.startswith("{")


@pytest.mark.parametrize("status", [404, 500])
def test_official_client_reads_the_fake_errors(fake, status):
    client = ollama.Client(host=fake.url)
    if status == 500:
        fake.fail_status = 500
        model = "llama3"
    else:
        model = "mistral"
    with pytest.raises(ollama.ResponseError) as err:
        client.chat(model=model, messages=[{"role": "user", "content": "oi"}])
    assert err.value.status_code == status
    assert ("not found" in err.value.error) == (status == 404)


def test_our_request_body_matches_the_official_clients(fake):
    options = {"temperature": 0.0, "seed": 0, "num_predict": 512}
    ollama.Client(host=fake.url).chat(
        model="llama3", messages=[{"role": "user", "content": "Texto"}], options=options, format="json"
    )
    OllamaChat("llama3", fake.url).chat("Texto")
    official, ours = fake.chat_requests()
    # the official client adds an empty tool list; everything else is the same
    assert {k: v for k, v in official.items() if v not in (None, [])} == ours


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "1.2.3.4",
        ":56789",
        "1.2.3.4:56789",
        "http://1.2.3.4",
        "https://1.2.3.4:56789",
        "example.com",
        "example.com:56789/path/",
        "https://example.com",
        "0.0.0.0",
        "[::1]",
        "[::1]:8080",
        "http://[::1]/x",
        "localhost:11434",
    ],
)
def test_ollama_host_is_read_like_the_official_client(value):
    assert parse_host(value) == _parse_host(value)


def test_version_route(fake):
    import urllib.request

    with urllib.request.urlopen(fake.url + "/api/version") as r:
        assert "version" in json.loads(r.read())


def test_official_openai_client_lists_and_chats_on_the_fakes_v1(fake):
    client = openai.OpenAI(base_url=f"{fake.url}/v1", api_key="ollama", max_retries=0)
    assert [m.id for m in client.models.list()] == ["llama3:latest"]
    reply = client.chat.completions.create(model="llama3", messages=[{"role": "user", "content": "oi"}])
    assert json.loads(reply.choices[0].message.content)["entities"][0]["label"] == "LOCAL"
    assert reply.choices[0].finish_reason == "stop" and reply.usage.total_tokens > 0


def test_official_openai_client_reads_the_fakes_v1_errors(fake):
    client = openai.OpenAI(base_url=f"{fake.url}/v1", api_key="ollama", max_retries=0)
    with pytest.raises(openai.NotFoundError, match="not found"):
        client.chat.completions.create(model="mistral", messages=[{"role": "user", "content": "oi"}])
    fake.fail_status = 500
    with pytest.raises(openai.InternalServerError, match="llama runner"):
        client.chat.completions.create(model="llama3", messages=[{"role": "user", "content": "oi"}])


def test_our_openai_request_matches_the_official_clients(fake):
    client = openai.OpenAI(base_url=f"{fake.url}/v1", api_key="ollama", max_retries=0)
    client.chat.completions.create(
        model="llama3",
        messages=[{"role": "user", "content": "Texto"}],
        temperature=0.0,
        seed=0,
        max_tokens=512,
        response_format={"type": "json_object"},
    )
    OpenAICompatibleChat("llama3", f"{fake.url}/v1").chat("Texto")
    official, ours = fake.chat_requests()
    assert official == ours
    assert fake.headers[0]["authorization"] == "Bearer ollama" and "authorization" not in fake.headers[1]
