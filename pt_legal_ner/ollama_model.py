"""A spacy-llm model that talks to a local Ollama server over its REST API.

spacy-llm 0.7.4 ships no Ollama model, and its OpenAI models check the OpenAI host at
start-up, which fails offline. This one uses only the standard library, touches the
network on the first prompt (never at construction, so ``spacy.load`` stays offline and
fast), and reads OLLAMA_HOST exactly as Ollama's own Python client does.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Any

from spacy_llm.registry import registry

DEFAULT_PORT = 11434
# a cautious characters-per-token estimate for Portuguese with llama-family tokenizers
CHARS_PER_TOKEN = 3.0


class OllamaError(RuntimeError):
    """A failed request; ``cause`` is a short stable name used to group warnings."""

    cause = "error"


class OllamaUnreachable(OllamaError):
    cause = "unreachable"


class OllamaTimeout(OllamaError):
    cause = "timeout"


class OllamaHTTPError(OllamaError):
    cause = "http_error"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class OllamaModelNotFound(OllamaError):
    cause = "model_not_found"


class OllamaBadAnswer(OllamaError):
    cause = "bad_answer"


class OllamaPromptTooLong(OllamaError):
    cause = "prompt_too_long"


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


class OllamaChat:
    """Callable over spacy-llm's prompt shards: Iterable[Iterable[str]] -> Iterable[Iterable[str]]."""

    def __init__(
        self,
        name: str = "llama3",
        base_url: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        context_length: int = 8192,
        temperature: float = 0.0,
        seed: int = 0,
        num_predict: int = 512,
        json_format: bool = True,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"Ollama timeout must be positive, got {timeout}")
        self.name = name
        self._base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.context_length = context_length
        self.options = {"temperature": temperature, "seed": seed, "num_predict": num_predict}
        self.json_format = json_format
        self._model_checked = False

    @property
    def base_url(self) -> str:
        # resolved per call, so OLLAMA_HOST set after spacy.load still applies
        return parse_host(self._base_url or os.environ.get("OLLAMA_HOST"))

    @property
    def identity(self) -> dict[str, Any]:
        """What an answer depends on besides the prompt (the cache key uses it)."""
        return {"model": self.name, "options": self.options, "format": "json" if self.json_format else None}

    def __call__(self, prompts: Iterable[Iterable[str]]) -> Iterable[Iterable[str]]:
        return [[self.chat(prompt) for prompt in shard] for shard in prompts]

    def chat(self, prompt: str) -> str:
        """One prompt -> the assistant's answer text. Raises OllamaError subclasses."""
        budget = self.context_length - self.options["num_predict"]
        if len(prompt) / CHARS_PER_TOKEN > budget:
            # Ollama would silently truncate the prompt's start (the instructions) instead
            raise OllamaPromptTooLong(f"prompt of {len(prompt)} characters exceeds the {budget}-token budget")
        self.check_model()
        body: dict[str, Any] = {
            "model": self.name,
            "messages": [{"role": "user", "content": prompt}],
            "stream": False,
            "options": self.options,
        }
        if self.json_format:
            body["format"] = "json"
        reply = self._request("POST", "/api/chat", body)
        message = reply.get("message") if isinstance(reply, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            raise OllamaBadAnswer(f"/api/chat reply has no message.content: {str(reply)[:200]}")
        if not content.strip():
            raise OllamaBadAnswer("empty answer")
        return content

    def check_model(self) -> None:
        """Ask /api/tags once whether the model exists (on the first prompt, not at load)."""
        if self._model_checked:
            return
        tags = self._request("GET", "/api/tags")
        names = {m.get("name") for m in tags.get("models", []) if isinstance(m, dict)}
        names |= {m.get("model") for m in tags.get("models", []) if isinstance(m, dict)}
        wanted = {self.name, f"{self.name}:latest"}
        if not wanted & names:
            raise OllamaModelNotFound(
                f"model {self.name!r} not found on {self.base_url} (has: {sorted(n for n in names if n)}); "
                f"run `ollama pull {self.name}`"
            )
        self._model_checked = True

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        url = self.base_url + path
        data = json.dumps(body).encode("utf-8") if body is not None else None
        last: OllamaError | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))
            try:
                return self._send(method, url, data)
            except (OllamaUnreachable, OllamaTimeout) as err:
                last = err
            except OllamaHTTPError as err:
                if err.status < 500:
                    raise
                last = err
        assert last is not None
        raise last

    def _send(self, method: str, url: str, data: bytes | None) -> dict:
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json", "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            message = _error_message(err.read())
            if err.code == 404 and "not found" in message.lower():
                raise OllamaModelNotFound(f"{self.name!r}: {message}") from None
            raise OllamaHTTPError(err.code, message) from None
        except TimeoutError as err:
            raise OllamaTimeout(f"no answer from {url} within {self.timeout} s") from err
        except urllib.error.URLError as err:
            if isinstance(err.reason, (TimeoutError, socket.timeout)):
                raise OllamaTimeout(f"no answer from {url} within {self.timeout} s") from None
            raise OllamaUnreachable(f"cannot reach Ollama at {url}: {err.reason}") from None
        except (ConnectionError, OSError) as err:
            raise OllamaUnreachable(f"cannot reach Ollama at {url}: {err}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise OllamaBadAnswer(f"{url} returned non-JSON: {raw[:200]!r}") from None


def _error_message(raw: bytes) -> str:
    """Ollama reports errors as {"error": "..."}; fall back to the raw body."""
    try:
        body = json.loads(raw)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return body["error"]
    except ValueError:
        pass
    return raw.decode("utf-8", "replace")[:200]


@registry.llm_models("pt_legal_ner.Ollama.v1")
def ollama_chat(
    name: str = "llama3",
    base_url: str | None = None,
    timeout: float = 60.0,
    max_retries: int = 2,
    context_length: int = 8192,
    temperature: float = 0.0,
    seed: int = 0,
    num_predict: int = 512,
) -> OllamaChat:
    """Ollama's /api/chat (stream false, JSON answers). base_url None = $OLLAMA_HOST or 127.0.0.1:11434."""
    return OllamaChat(
        name,
        base_url,
        timeout=timeout,
        max_retries=max_retries,
        context_length=context_length,
        temperature=temperature,
        seed=seed,
        num_predict=num_predict,
    )
