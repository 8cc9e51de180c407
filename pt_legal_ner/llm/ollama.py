"""A spacy-llm model for Ollama's own API (/api/chat), temperature 0, a seed, JSON answers.

spacy-llm 0.7.4 ships no Ollama model, and its OpenAI models check the OpenAI host at
start-up, which fails offline. This one touches the network on the first prompt (never at
construction, so ``spacy.load`` stays offline and fast), and reads OLLAMA_HOST exactly as
Ollama's own Python client does.
"""

import ipaddress
import os
import urllib.parse
from typing import Any

from pt_legal_ner.llm.cache import AnswerCache
from pt_legal_ner.llm.chat import ChatModel, LLMBadAnswer, LLMError, LLMModelNotFound, error_message
from pt_legal_ner.llm.registry import registry

DEFAULT_PORT = 11434


def parse_host(host: str | None) -> str:
    """Base URL from an OLLAMA_HOST-style value, the same rules as ``ollama._client._parse_host``."""
    host, port = host or "", DEFAULT_PORT
    scheme, _, hostport = host.partition("://")
    if not hostport:
        scheme, hostport = "http", host
    elif scheme == "http":
        port = 80
    elif scheme == "https":
        port = 443
    split = urllib.parse.urlsplit(f"{scheme}://{hostport}")
    hostname = split.hostname or "127.0.0.1"
    port = split.port or port
    try:
        if isinstance(ipaddress.ip_address(hostname), ipaddress.IPv6Address):
            hostname = f"[{hostname}]"
    except ValueError:
        pass
    path = split.path.strip("/")
    return f"{scheme}://{hostname}:{port}/{path}" if path else f"{scheme}://{hostname}:{port}"


class OllamaChat(ChatModel):
    DEFAULT_NAME = "llama3"

    def __init__(
        self,
        name: str = DEFAULT_NAME,
        base_url: str | None = None,
        *,
        temperature: float = 0.0,
        seed: int = 0,
        num_predict: int = 512,
        json_format: bool = True,
        **settings: Any,
    ) -> None:
        super().__init__(name, answer_tokens=num_predict, **settings)
        self._base_url = base_url
        self.options = {"temperature": temperature, "seed": seed, "num_predict": num_predict}
        self.json_format = json_format

    @property
    def base_url(self) -> str:
        # resolved per call, so OLLAMA_HOST set after spacy.load still applies
        return parse_host(self._base_url or os.environ.get("OLLAMA_HOST"))

    @property
    def identity(self) -> dict[str, Any]:
        return {"model": self.name, "options": self.options, "format": "json" if self.json_format else None}

    def check_model(self) -> None:
        tags = self._request("GET", self.base_url + "/api/tags")
        entries = [m for m in tags.get("models", []) if isinstance(m, dict)]
        names = {m.get("name") for m in entries} | {m.get("model") for m in entries}
        if not {self.name, f"{self.name}:latest"} & names:
            raise LLMModelNotFound(
                f"model {self.name!r} not found on {self.base_url} (has: {sorted(n for n in names if n)}); "
                f"run `ollama pull {self.name}`"
            )

    def _chat(self, prompt: str) -> str:
        body: dict[str, Any] = {
            "model": self.name,
            "messages": [{"role": "user", "content": prompt}],
            "stream": False,
            "options": self.options,
        }
        if self.json_format:
            body["format"] = "json"
        reply = self._request("POST", self.base_url + "/api/chat", body)
        message = reply.get("message") if isinstance(reply, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            raise LLMBadAnswer(f"/api/chat reply has no message.content: {str(reply)[:200]}")
        return content

    def _http_error(self, status: int, raw: bytes) -> LLMError:
        message = error_message(raw)
        if status == 404 and "not found" in message.lower():  # the model was removed after the check
            return LLMModelNotFound(f"{self.name!r}: {message}")
        return super()._http_error(status, raw)


@registry.llm_models("pt_legal_ner.Ollama.v1")
def ollama_chat(
    name: str = OllamaChat.DEFAULT_NAME,
    base_url: str | None = None,
    timeout: float = ChatModel.DEFAULT_TIMEOUT,
    max_retries: int = ChatModel.DEFAULT_MAX_RETRIES,
    context_length: int = ChatModel.DEFAULT_CONTEXT_LENGTH,
    concurrency: int = ChatModel.DEFAULT_CONCURRENCY,
    cooldown_s: float = ChatModel.DEFAULT_COOLDOWN_S,
    temperature: float = 0.0,
    seed: int = 0,
    num_predict: int = 512,
    cache: AnswerCache | None = None,
) -> OllamaChat:
    """Ollama's /api/chat (stream false, JSON answers). base_url None = $OLLAMA_HOST or 127.0.0.1:11434."""
    return OllamaChat(**locals())  # every setting under its own name
