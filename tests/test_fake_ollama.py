"""The fake server agrees with Ollama's official Python client, and our client with both."""

import json

import ollama
import pytest
from ollama._client import _parse_host

from pt_legal_ner.ollama_model import OllamaChat, parse_host
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
