"""What every chat model of llm_fallback shares: spacy-llm's model protocol over HTTP.

A model is called with a batch's prompts, one list per doc (spacy-llm's shards), and answers
each prompt with a ``str``. The transport (`_chat`, `check_model`) is the subclass's; the rest
lives here, once:

- the answer cache: a prompt answered before is not sent again (`Cached` answers);
- concurrency: a batch's distinct prompts go to the server at most ``concurrency`` at a time;
- retries: refused connections and 5xx answers are retried with backoff (`_request`), except
  when probing a server the breaker had left alone;
- the circuit breaker: after a fault that says the server is down (refused, timeout, 5xx,
  unknown model, refused key) the server is left alone for ``cooldown_s``, doubling at each
  failed probe up to ``max_cooldown_s``; until one answer has come back, a batch sends one
  prompt first, so a dead server costs one fault per cooldown, not one per sentence.

Faults never raise here: a prompt without a usable answer gets a `Failure`, a ``str`` whose text
says why (so spacy-llm's ``save_io`` records it), for the task to count or, if strict, raise.
"""

import json
import socket
import threading
import time
import typing
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pt_legal_ner.llm.cache import AnswerCache

# a cautious characters-per-token estimate for Portuguese with llama-family tokenizers
CHARS_PER_TOKEN = 3.0


class LLMError(RuntimeError):
    """A failed request; ``cause`` is a short stable name used to count and group warnings."""

    cause = "error"


class LLMUnreachable(LLMError):
    cause = "unreachable"


class LLMTimeout(LLMError):
    cause = "timeout"


class LLMHTTPError(LLMError):
    cause = "http_error"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message = status, message

    def __reduce__(self):  # its arguments are not its message
        return (type(self), (self.status, self.message))


class LLMUnauthorized(LLMError):
    cause = "unauthorized"


class LLMModelNotFound(LLMError):
    cause = "model_not_found"


class LLMBadAnswer(LLMError):
    cause = "bad_answer"


class LLMPromptTooLong(LLMError):
    cause = "prompt_too_long"


# faults that say the server (not this prompt) is the problem
BREAKER_CAUSES = {"unreachable", "timeout", "http_error", "model_not_found", "unauthorized"}


class Failure(str):
    """The response to a prompt that got no usable answer; ``error`` is the LLMError."""

    error: LLMError

    def __new__(cls, error: LLMError) -> "Failure":
        failure = super().__new__(cls, f"[{error.cause}] {error}")
        failure.error = error
        return failure

    def __reduce__(self):  # str subclasses pickle by value; keep the error
        return (Failure, (self.error,))


class Cached(str):
    """An answer read from the answer cache (the task counts these)."""


class ChatModel:
    """spacy-llm model protocol: ``model(prompts per doc) -> answers per doc``."""

    DEFAULT_TIMEOUT = 60.0
    DEFAULT_MAX_RETRIES = 2
    DEFAULT_RETRY_BACKOFF = 0.5
    DEFAULT_CONTEXT_LENGTH = 8192
    DEFAULT_CONCURRENCY = 4
    DEFAULT_COOLDOWN_S = 30.0
    DEFAULT_MAX_COOLDOWN_S = 600.0

    def __init__(
        self,
        name: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = DEFAULT_RETRY_BACKOFF,
        context_length: int = DEFAULT_CONTEXT_LENGTH,
        answer_tokens: int = 512,
        concurrency: int = DEFAULT_CONCURRENCY,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        max_cooldown_s: float = DEFAULT_MAX_COOLDOWN_S,
        cache: AnswerCache | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"{type(self).__name__}: timeout must be positive, got {timeout}")
        if concurrency < 1:
            raise ValueError(f"{type(self).__name__}: concurrency must be at least 1, got {concurrency}")
        if answer_tokens >= context_length:
            raise ValueError(f"{type(self).__name__}: {answer_tokens} answer tokens leave no room in {context_length}")
        self.name = name
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self._context_length = context_length
        self.answer_tokens = answer_tokens
        self.concurrency = concurrency
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self.cache = cache if cache is not None else AnswerCache(None)
        self._lock = threading.Lock()
        self._model_checked = False
        self._answered_once = False
        self._breaker: tuple | None = None  # (opened at, cooldown, error)
        self._probing = False  # a probe of a failing server is one attempt, without retries

    # --- what a transport provides ------------------------------------------------

    @property
    def identity(self) -> dict[str, Any]:
        """What an answer depends on besides the prompt (the cache key uses it)."""
        raise NotImplementedError

    def check_model(self) -> None:
        """Raise LLMModelNotFound if the server lacks the model (asked once, on the first prompt)."""
        raise NotImplementedError

    def _chat(self, prompt: str) -> str:
        """One prompt -> the answer's text, or an LLMError."""
        raise NotImplementedError

    # --- spacy-llm's protocol -----------------------------------------------------

    @property
    def context_length(self) -> int:
        return self._context_length

    # spacy-llm checks this signature against the task's, read as typing's aliases (`typing.Iterable`)
    def __call__(self, prompts: typing.Iterable[typing.Iterable[str]]) -> typing.Iterable[typing.Iterable[str]]:
        shards: list[list[str]] = [list(doc_prompts) for doc_prompts in prompts]
        answers = self.answer_all(list(dict.fromkeys(p for doc_prompts in shards for p in doc_prompts)))
        return [[answers[p] for p in doc_prompts] for doc_prompts in shards]

    def answer_all(self, prompts: list[str]) -> dict[str, str]:
        """Distinct prompts -> answers (str, Cached or Failure), sent concurrently."""
        answers: dict[str, str] = {}
        pending = []
        for prompt in prompts:
            cached = self.cache.get(self._cache_key(prompt))
            if cached is not None:
                answers[prompt] = Cached(cached)
            else:
                pending.append(prompt)
        if pending and not self._answered_once:
            answers[pending[0]] = self.answer(pending[0])
            pending = pending[1:]
        if len(pending) == 1 or (pending and self.concurrency == 1):
            answers.update((p, self.answer(p)) for p in pending)
        elif pending:
            with ThreadPoolExecutor(min(self.concurrency, len(pending))) as pool:
                answers.update(zip(pending, pool.map(self.answer, pending), strict=True))
        return answers

    def answer(self, prompt: str) -> str:
        """One prompt -> its answer (then cached), or a Failure; the breaker applies."""
        refused = self._breaker_refuses()
        if refused is not None:
            return Failure(refused)
        try:
            answer = self.chat(prompt)
        except LLMError as err:
            # its traceback holds the caller's frames (docs); the breaker may keep it for minutes
            err.__traceback__ = None
            if err.cause in BREAKER_CAUSES:
                self._open_breaker(err)
            return Failure(err)
        finally:
            self._probing = False
        with self._lock:
            self._answered_once = True
            self._breaker = None
        self.cache.put(self._cache_key(prompt), answer)
        return answer

    def chat(self, prompt: str) -> str:
        """One prompt -> the answer; raises LLMError subclasses (no breaker, no cache)."""
        budget = self._context_length - self.answer_tokens
        if len(prompt) / CHARS_PER_TOKEN > budget:
            # servers silently cut a long prompt's start (the instructions) instead
            raise LLMPromptTooLong(f"prompt of {len(prompt)} characters exceeds the {budget}-token budget")
        if not self._model_checked:
            self.check_model()
            self._model_checked = True
        answer = self._chat(prompt)
        if not answer.strip():
            raise LLMBadAnswer("empty answer")
        return answer

    # --- the breaker ----------------------------------------------------------------

    def _breaker_refuses(self) -> LLMError | None:
        with self._lock:
            if self._breaker is None:
                return None
            opened_at, cooldown, error = self._breaker
            if time.monotonic() - opened_at < cooldown:
                return error
            # half-open: this prompt probes the server; a fault reopens for twice as long
            self._breaker = (time.monotonic(), min(2 * cooldown, self.max_cooldown_s), error)
            self._answered_once = False
            self._probing = True
            return None

    def _open_breaker(self, error: LLMError) -> None:
        with self._lock:
            cooldown = self.cooldown_s if self._breaker is None else self._breaker[1]
            self._breaker = (time.monotonic(), cooldown, error)
            self._answered_once = False

    # --- HTTP, with retries -------------------------------------------------------------

    def _request(self, method: str, url: str, body: dict | None = None, headers: dict | None = None) -> dict:
        """JSON over HTTP; refused connections and 5xx are retried, a timeout is not (it already waited)."""
        data = json.dumps(body).encode("utf-8") if body is not None else None
        last: LLMError | None = None
        for attempt in range(1 if self._probing else self.max_retries + 1):
            if attempt:
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))
            try:
                return self._send(method, url, data, headers or {})
            except LLMUnreachable as err:
                last = err
            except LLMHTTPError as err:
                if err.status < 500:
                    raise
                last = err
        assert last is not None
        raise last

    def _send(self, method: str, url: str, data: bytes | None, headers: dict) -> dict:
        request = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            raise self._http_error(err.code, err.read()) from None
        except TimeoutError as err:
            raise LLMTimeout(f"no answer from {url} within {self.timeout} s") from err
        except urllib.error.URLError as err:
            if isinstance(err.reason, (TimeoutError, socket.timeout)):
                raise LLMTimeout(f"no answer from {url} within {self.timeout} s") from None
            raise LLMUnreachable(f"cannot reach {url}: {err.reason}") from None
        except OSError as err:
            raise LLMUnreachable(f"cannot reach {url}: {err}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise LLMBadAnswer(f"{url} returned non-JSON: {raw[:200]!r}") from None

    def _http_error(self, status: int, raw: bytes) -> LLMError:
        """An error answer -> the LLMError it means; a subclass refines it from its API's error body."""
        message = error_message(raw)
        if status in (401, 403):
            return LLMUnauthorized(f"HTTP {status}: {message}")
        return LLMHTTPError(status, message)

    # --- cache keys and pickling ---------------------------------------------------------

    def _cache_key(self, prompt: str) -> str:
        return AnswerCache.key(self.identity, prompt)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def error_message(raw: bytes) -> str:
    """The message of an error body: Ollama's {"error": "..."}, OpenAI's {"error": {"message": "..."}}."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
    return raw.decode("utf-8", "replace")[:200]
