"""A scripted stand-in for an Ollama server (stdlib only, 127.0.0.1, a free port).

It speaks the routes the pipeline and Ollama's official client use (/api/version, /api/tags,
/api/chat, /api/generate) with Ollama's JSON shapes; tests/test_fake_ollama.py checks it
against the official `ollama` client so it cannot drift from the real wire format.
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


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class FakeOllama:
    def __init__(self, models: tuple[str, ...] = ("llama3:latest",), answer: ChatScript | None = None) -> None:
        self.models = list(models)
        self.answer: ChatScript = answer or (lambda prompt: '{"entities": []}')
        self.delay_s = 0.0
        self.fail_status: int | None = None  # e.g. 500: every /api/chat answers this
        self.requests: list[tuple[str, str, Any]] = []
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
        return [body for method, path, body in self.requests if path == "/api/chat"]

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
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
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
                else:
                    self._send(404, {"error": "404 page not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(("POST", self.path, body))
                if self.path not in ("/api/chat", "/api/generate"):
                    return self._send(404, {"error": "404 page not found"})
                model = body.get("model", "")
                if model not in fake.models and f"{model}:latest" not in fake.models:
                    return self._send(404, {"error": f'model "{model}" not found, try pulling it first'})
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                if fake.fail_status:
                    return self._send(fake.fail_status, {"error": "llama runner process has terminated"})
                if self.path == "/api/chat":
                    prompt = body["messages"][-1]["content"]
                    content = fake.answer(prompt)
                    self._send(
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
                else:
                    content = fake.answer(body.get("prompt", ""))
                    self._send(
                        200,
                        {
                            "model": model,
                            "created_at": _now(),
                            "response": content,
                            "done": True,
                            "done_reason": "stop",
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
