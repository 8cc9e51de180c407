"""llm_fallback: ask an LLM about the sentences the trained NER is unsure of, and merge.

- A sentence goes to the LLM when its confidence (lowest token confidence of the trained
  NER) is below ``threshold``; 0 never asks, 1 asks for every sentence.
- LLM spans fill gaps, and replace trained spans only when every overlapped trained span is
  itself below ``threshold``. Each entity records ``span._.source`` and ``span._.confidence``.
- Faults (no server, timeout, HTTP errors, unknown model, bad answers) never lose a trained
  entity: they are counted in ``doc._.llm_fallback`` and logged once per cause, unless
  ``strict`` is set, which raises them instead.
"""

import json
import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from pt_legal_ner.answer_cache import AnswerCache
from pt_legal_ner.extensions import SOURCE_LLM, SOURCE_MODEL, register_extensions
from pt_legal_ner.llm_task import LegalNERTask, MalformedAnswer, legal_ner_task
from pt_legal_ner.ollama_model import OllamaBadAnswer, OllamaChat, OllamaError

logger = logging.getLogger("pt_legal_ner")
register_extensions()
if not Doc.has_extension("llm_fallback"):
    Doc.set_extension("llm_fallback", default=None)

PROMPT_FILE = "prompt.json"
# causes after which the server is left alone for `cooldown_s`, so a dead server costs one
# timeout per batch rather than one per sentence
BREAKER_CAUSES = {"unreachable", "timeout", "model_not_found", "http_error"}


@Language.factory(
    "llm_fallback",
    requires=["doc.ents", "doc.sents"],
    assigns=["doc.ents", "span._.source", "span._.confidence", "doc._.llm_fallback"],
    default_config={
        "threshold": 0.5,
        "model": {"@llm_models": "pt_legal_ner.Ollama.v1", "name": "llama3"},
        "cache": {"@llm_misc": "pt_legal_ner.AnswerCache.v1", "path": None, "enabled": True},
        "extra_labels": {},
        "strict": False,
        "llm_confidence": 0.5,
        "cooldown_s": 30.0,
    },
    default_score_weights={},
)
def make_llm_fallback(
    nlp: Language,
    name: str,
    threshold: float,
    model: OllamaChat,
    cache: AnswerCache,
    extra_labels: dict[str, str],
    strict: bool,
    llm_confidence: float,
    cooldown_s: float,
) -> "LLMFallback":
    return LLMFallback(
        name,
        threshold=threshold,
        model=model,
        cache=cache,
        extra_labels=extra_labels,
        strict=strict,
        llm_confidence=llm_confidence,
        cooldown_s=cooldown_s,
    )


def new_stats() -> dict[str, Any]:
    return {"sent": 0, "answered": 0, "cached": 0, "failed": 0, "errors": {}, "spans_added": 0, "spans_dropped": {}}


class LLMFallback:
    def __init__(
        self,
        name: str,
        *,
        threshold: float,
        model: OllamaChat,
        cache: AnswerCache,
        extra_labels: dict[str, str] | None = None,
        strict: bool = False,
        llm_confidence: float = 0.5,
        cooldown_s: float = 30.0,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"llm_fallback threshold must be within [0, 1], got {threshold}")
        self.name = name
        self.threshold = threshold
        self.model = model
        self.cache = cache
        self.extra_labels = dict(extra_labels or {})
        self.strict = strict
        self.llm_confidence = llm_confidence
        self.cooldown_s = cooldown_s
        self.prompt_data: dict[str, Any] | None = None
        self._task: LegalNERTask | None = None
        self._warned: set[str] = set()
        self._breaker: tuple[float, OllamaError] | None = None

    # --- set-up and serialisation -------------------------------------------------

    def initialize(
        self,
        get_examples=None,
        *,
        nlp: Language | None = None,
        labels_path: str | Path | None = None,
        template_path: str | Path | None = None,
        examples_path: str | Path | None = None,
    ) -> None:
        """Read the label definitions, prompt template and few-shot examples into the component."""
        missing = [n for n, p in [("labels_path", labels_path), ("template_path", template_path)] if p is None]
        if missing:
            raise ValueError(
                f"{self.name}: initialize needs {', '.join(missing)} ([initialize.components.{self.name}])"
            )
        examples = json.loads(Path(examples_path).read_text(encoding="utf-8")) if examples_path else []
        self.set_prompt_data(
            {
                "labels": json.loads(Path(labels_path).read_text(encoding="utf-8")),
                "template": Path(template_path).read_text(encoding="utf-8"),
                "examples": examples,
            }
        )

    def set_prompt_data(self, data: dict[str, Any]) -> None:
        self.prompt_data = data
        self._task = legal_ner_task({**data["labels"], **self.extra_labels}, data["examples"], data["template"])

    @property
    def task(self) -> LegalNERTask:
        if self._task is None:
            raise ValueError(
                f"{self.name}: no prompt data; run nlp.initialize() with its labels_path and template_path"
            )
        return self._task

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / PROMPT_FILE).write_text(json.dumps(self.prompt_data, ensure_ascii=False, indent=1), encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> "LLMFallback":
        data = json.loads((Path(path) / PROMPT_FILE).read_text(encoding="utf-8"))
        if data is not None:
            self.set_prompt_data(data)
        return self

    # --- processing ----------------------------------------------------------------

    def __call__(self, doc: Doc) -> Doc:
        return self._process([doc])[0]

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 32) -> Iterator[Doc]:
        for batch in minibatch(stream, batch_size):
            yield from self._process(list(batch))

    def wants_llm(self, sentence: Span) -> bool:
        if self.threshold <= 0.0 or not sentence.text.strip():
            return False
        if self.threshold >= 1.0:
            return True
        confidence = sentence._.ner_confidence
        return confidence is None or confidence < self.threshold

    def _process(self, docs: list[Doc]) -> list[Doc]:
        requests: list[tuple[Doc, Span]] = []
        for doc in docs:
            doc._.llm_fallback = new_stats()
            sentences = doc.sents if doc.has_annotation("SENT_START") else [doc[:]]
            requests += [(doc, sent) for sent in sentences if self.wants_llm(sent)]
        answers: dict[str, str | OllamaError] = {}
        for doc, sent in requests:
            stats = doc._.llm_fallback
            stats["sent"] += 1
            prompt = self.task.render(sent.text)
            if prompt not in answers:
                answers[prompt] = self._ask(prompt, stats)
            answer = answers[prompt]
            if isinstance(answer, OllamaError):
                self._fail(stats, answer)
                continue
            try:
                parsed = self.task.parse(sent.text, answer)
            except MalformedAnswer as err:
                self._fail(stats, OllamaBadAnswer(str(err)))
                continue
            stats["answered"] += 1
            _count(stats["spans_dropped"], "not_in_text", parsed.not_in_text)
            _count(stats["spans_dropped"], "unknown_label", parsed.unknown_label)
            _count(stats["spans_dropped"], "bad_item", parsed.bad_items)
            self._merge(doc, sent, parsed.spans, stats)
        return docs

    def _ask(self, prompt: str, stats: dict[str, Any]) -> str | OllamaError:
        key = AnswerCache.key(self.model.identity, prompt)
        cached = self.cache.get(key)
        if cached is not None:
            stats["cached"] += 1
            return cached
        if self._breaker is not None:
            opened_at, error = self._breaker
            if time.monotonic() - opened_at < self.cooldown_s:
                return error
            self._breaker = None
        try:
            answer = self.model.chat(prompt)
        except OllamaError as err:
            # its traceback's frames hold this batch's docs; the breaker keeps the error for minutes
            err.__traceback__ = None
            if err.cause in BREAKER_CAUSES:
                self._breaker = (time.monotonic(), err)
            return err
        self.cache.put(key, answer)
        return answer

    def _fail(self, stats: dict[str, Any], error: OllamaError) -> None:
        if self.strict:
            raise error
        stats["failed"] += 1
        _count(stats["errors"], error.cause, 1)
        if error.cause not in self._warned:
            self._warned.add(error.cause)
            logger.warning(
                "llm_fallback: %s (%s); trained entities are kept. Further '%s' faults are counted in "
                "doc._.llm_fallback without another warning.",
                error,
                error.cause,
                error.cause,
            )

    def _merge(self, doc: Doc, sent: Span, spans: list[tuple[int, int, str]], stats: dict[str, Any]) -> None:
        ents = list(doc.ents)
        added: list[Span] = []
        for start, end, label in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
            span = doc.char_span(sent.start_char + start, sent.start_char + end, label=label)
            if span is None:
                _count(stats["spans_dropped"], "misaligned", 1)
                continue
            if any(a.start < span.end and span.start < a.end for a in added):
                _count(stats["spans_dropped"], "overlap", 1)
                continue
            overlapped = [e for e in ents if e.start < span.end and span.start < e.end]
            if any((e.start, e.end, e.label_) == (span.start, span.end, span.label_) for e in overlapped):
                continue  # the trained model already has it
            if any(e._.source != SOURCE_MODEL or (e._.confidence or 0.0) >= self.threshold for e in overlapped):
                _count(stats["spans_dropped"], "conflict", 1)
                continue
            ents = [e for e in ents if e not in overlapped]
            added.append(span)
        if not added:
            return
        doc.ents = sorted(ents + added, key=lambda s: s.start)
        for span in added:
            span._.source = SOURCE_LLM
            span._.confidence = self.llm_confidence
        stats["spans_added"] += len(added)


def _count(counter: dict[str, int], key: str, n: int) -> None:
    if n:
        counter[key] = counter.get(key, 0) + n
