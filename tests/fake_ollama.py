"""A scripted stand-in for an Ollama server (stdlib only, 127.0.0.1, a free port).

It speaks the routes the pipeline and Ollama's official client use (/api/version, /api/tags,
/api/chat, /api/generate) with Ollama's JSON shapes, and, as Ollama does, the OpenAI-compatible
/v1/models and /v1/chat/completions; tests/test_fake_ollama.py checks it against the official
`ollama` and `openai` clients so it cannot drift from either wire format.
Faults are switched on per test: refuse (server closed), slow answers, HTTP errors with
Ollama's {"error": ...} body, unknown model, empty or malformed answers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ChatScript = Callable[[str], str]  # prompt -> assistant content
CHAT_PATHS = ("/api/chat", "/v1/chat/completions")


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class FakeOllama:
    def __init__(self, models: tuple[str, ...] = ("llama3:latest",), answer: ChatScript | None = None) -> None:
        self.models = list(models)
        self.answer: ChatScript = answer or (lambda prompt: '{"entities": []}')
        self.delay_s = 0.0
        self.fail_status: int | None = None  # e.g. 500: every /api/chat answers this
        self.requests: list[tuple[str, str, Any]] = []
        self.headers: list[dict] = []  # of each chat request, names lowercased
        self.max_in_flight = 0  # the most chat requests answered at once
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def chat_requests(self) -> list[dict]:
        return [body for method, path, body in self.requests if path in CHAT_PATHS]

    def prompts(self) -> list[str]:
        return [body["messages"][-1]["content"] for body in self.chat_requests()]

    def __enter__(self) -> FakeOllama:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            _counted = False  # this request is in fake's in-flight count

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self._done()  # before the answer leaves: the client may send its next request at once
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path, None))
                if self.path == "/api/version":
                    self._send(200, {"version": "0.12.0"})
                elif self.path == "/api/tags":
                    self._send(200, {"models": [_model_entry(m) for m in fake.models]})
                elif self.path == "/v1/models":
                    self._send(200, {"object": "list", "data": [_openai_model_entry(m) for m in fake.models]})
                else:
                    self._send(404, {"error": "404 page not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(("POST", self.path, body))
                if self.path not in ("/api/chat", "/api/generate", "/v1/chat/completions"):
                    return self._send(404, {"error": "404 page not found"})
                openai = self.path.startswith("/v1/")
                if self.path in CHAT_PATHS:
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                model = body.get("model", "")
                if model not in fake.models and f"{model}:latest" not in fake.models:
                    return self._error(404, f'model "{model}" not found, try pulling it first', openai)
                with fake._count_lock:
                    fake._in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake._in_flight)
                self._counted = True
                try:
                    if fake.delay_s:
                        time.sleep(fake.delay_s)
                    if fake.fail_status:
                        return self._error(fake.fail_status, "llama runner process has terminated", openai)
                    self._answer(model, body)
                finally:
                    self._done()

            def _done(self) -> None:
                if self._counted:
                    self._counted = False
                    with fake._count_lock:
                        fake._in_flight -= 1

            def _error(self, status: int, message: str, openai: bool) -> None:
                if openai:  # Ollama's /v1 wraps errors as OpenAI does
                    error = {"message": message, "type": "api_error", "param": None, "code": None}
                    return self._send(status, {"error": error})
                return self._send(status, {"error": message})

            def _answer(self, model: str, body: dict) -> None:
                if self.path == "/api/generate":
                    content = fake.answer(body.get("prompt", ""))
                    reply = {"model": model, "created_at": _now(), "response": content, "done": True}
                    return self._send(200, reply | {"done_reason": "stop"})
                prompt = body["messages"][-1]["content"]
                content = fake.answer(prompt)
                if self.path == "/api/chat":
                    return self._send(
                        200,
                        {
                            "model": model,
                            "created_at": _now(),
                            "message": {"role": "assistant", "content": content},
                            "done": True,
                            "done_reason": "stop",
                            "total_duration": 1000,
                            "prompt_eval_count": len(prompt.split()),
                            "eval_count": len(content.split()),
                        },
                    )
                usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(content.split())}
                self._send(
                    200,
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "system_fingerprint": "fp_ollama",
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                        ],
                        "usage": usage | {"total_tokens": sum(usage.values())},
                    },
                )

        return Handler


def _model_entry(name: str) -> dict:
    return {
        "name": name,
        "model": name,
        "modified_at": _now(),
        "size": 4661224676,
        "digest": "365c0bd3c000a25d28ddbf732fe1c6add414de7275464c4e4d1c3b5fcb5d8ad1",
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "8.0B",
            "quantization_level": "Q4_0",
        },
    }


def _openai_model_entry(name: str) -> dict:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "library"}
