"""A spacy-llm model for any OpenAI-compatible chat server (/v1/chat/completions).

llama.cpp's ``llama-server``, vLLM, LM Studio, Groq and Ollama's own ``/v1`` speak it. The base
URL ends in the API version (``http://127.0.0.1:8080/v1``); null reads OPENAI_BASE_URL, as the
official client does. A key, if the server wants one, is read from the environment variable
named by ``api_key_env`` at each request, never stored in a config.
"""

import os
from typing import Any

from pt_legal_ner.llm.cache import AnswerCache
from pt_legal_ner.llm.chat import (
    ChatModel,
    LLMBadAnswer,
    LLMError,
    LLMHTTPError,
    LLMModelNotFound,
    LLMUnauthorized,
    error_message,
)
from pt_legal_ner.llm.registry import registry

DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1"  # llama-server's


class OpenAICompatibleChat(ChatModel):
    def __init__(
        self,
        name: str,
        base_url: str | None = None,
        *,
        api_key_env: str | None = None,
        temperature: float = 0.0,
        seed: int = 0,
        max_tokens: int = 512,
        json_mode: bool = True,
        **settings: Any,
    ) -> None:
        super().__init__(name, answer_tokens=max_tokens, **settings)
        self._base_url = base_url
        self.api_key_env = api_key_env
        self.generation = {"temperature": temperature, "seed": seed, "max_tokens": max_tokens}
        self.json_mode = json_mode

    @property
    def base_url(self) -> str:
        return (self._base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")

    @property
    def identity(self) -> dict[str, Any]:
        # one name may be another model on another server (llama-server serves whatever it loaded)
        return {
            "api": "openai",
            "base_url": self.base_url,
            "model": self.name,
            "json": self.json_mode,
        } | self.generation

    def _headers(self) -> dict[str, str]:
        if not self.api_key_env:
            return {}
        key = os.environ.get(self.api_key_env)
        if not key:
            raise LLMUnauthorized(f"the environment variable {self.api_key_env} (api_key_env) is not set")
        return {"Authorization": f"Bearer {key}"}

    def check_model(self) -> None:
        try:
            listing = self._request("GET", self.base_url + "/models", headers=self._headers())
        except LLMHTTPError as err:
            if err.status in (404, 405):  # a server without the listing route: the chat will tell
                return
            raise
        ids = {m.get("id") for m in listing.get("data", []) if isinstance(m, dict)}
        if ids and not {self.name, f"{self.name}:latest"} & ids:  # Ollama's /v1 lists tags
            raise LLMModelNotFound(f"model {self.name!r} not served at {self.base_url} (has: {sorted(ids)})")

    def _chat(self, prompt: str) -> str:
        body: dict[str, Any] = {
            "model": self.name,
            "messages": [{"role": "user", "content": prompt}],
            **self.generation,
        }
        if self.json_mode:
            body["response_format"] = {"type": "json_object"}
        reply = self._request("POST", self.base_url + "/chat/completions", body, headers=self._headers())
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            content = None
        if not isinstance(content, str):
            raise LLMBadAnswer(f"/chat/completions reply has no choices[0].message.content: {str(reply)[:200]}")
        return content

    def _http_error(self, status: int, raw: bytes) -> LLMError:
        message = error_message(raw)
        if status == 404 and ("not found" in message.lower() or "does not exist" in message.lower()):
            return LLMModelNotFound(f"{self.name!r}: {message}")
        return super()._http_error(status, raw)


@registry.llm_models("pt_legal_ner.OpenAICompatible.v1")
def openai_compatible_chat(
    name: str,
    base_url: str | None = None,
    api_key_env: str | None = None,
    timeout: float = ChatModel.DEFAULT_TIMEOUT,
    max_retries: int = ChatModel.DEFAULT_MAX_RETRIES,
    context_length: int = ChatModel.DEFAULT_CONTEXT_LENGTH,
    concurrency: int = ChatModel.DEFAULT_CONCURRENCY,
    cooldown_s: float = ChatModel.DEFAULT_COOLDOWN_S,
    temperature: float = 0.0,
    seed: int = 0,
    max_tokens: int = 512,
    json_mode: bool = True,
    cache: AnswerCache | None = None,
) -> OpenAICompatibleChat:
    """POST {base_url}/chat/completions. base_url None = $OPENAI_BASE_URL or http://127.0.0.1:8080/v1."""
    return OpenAICompatibleChat(**locals())  # every setting under its own name
