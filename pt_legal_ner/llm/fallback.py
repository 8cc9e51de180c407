"""llm_fallback's task for spacy-llm's `llm` component: ask about the sentences the trained NER
is unsure of, and merge the answers.

- A sentence goes to the LLM when its confidence (lowest token confidence of the trained NER)
  is below ``threshold``; 0 never asks, 1 asks for every sentence. A doc's prompts are its
  shards in spacy-llm's sense: a confident doc has none.
- Answers are read strictly (`llm_prompt`); which spans win is the ``merge`` policy's choice
  (`llm_merge`). Each entity the LLM adds gets ``span._.source = "llm"`` and
  ``span._.confidence = llm_confidence``.
- A prompt without a usable answer (the model's `Failure`, an empty or malformed answer, no
  answer at all) never loses a trained entity: it is counted in ``doc._.llm_fallback`` and
  logged once per cause, unless ``strict``, which raises it.
"""

import logging
import typing
from itertools import zip_longest
from pathlib import Path
from typing import Any

import srsly
from spacy.tokens import Doc, Span

from pt_legal_ner.components.extensions import SOURCE_LLM, register_extensions
from pt_legal_ner.llm.chat import Cached, Failure, LLMBadAnswer, LLMError
from pt_legal_ner.llm.merge import MergePolicy, llm_fills_gaps
from pt_legal_ner.llm.prompt import MalformedAnswer, NERPrompt
from pt_legal_ner.llm.registry import registry

logger = logging.getLogger("pt_legal_ner")
register_extensions()
if not Doc.has_extension("llm_fallback"):
    Doc.set_extension("llm_fallback", default=None)

PROMPT_FILE = "prompt.json"


class NoAnswer(LLMError):
    """The model returned fewer answers than it was given prompts."""

    cause = "no_answer"


def new_stats() -> dict[str, Any]:
    return {"sent": 0, "answered": 0, "cached": 0, "failed": 0, "errors": {}, "spans_added": 0, "spans_dropped": {}}


class SentenceShards(list):
    """The sentences of one doc that go to the LLM (its shards); ``doc`` is that doc, which
    parse_responses updates in place, also when no sentence goes."""

    def __init__(self, doc: Doc, sentences: list[Span]) -> None:
        super().__init__(sentences)
        self.doc = doc


class LegalNERFallback:
    DEFAULT_THRESHOLD = 0.5
    DEFAULT_LLM_CONFIDENCE = 0.5

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        extra_labels: dict[str, str] | None = None,
        merge: MergePolicy | None = None,
        strict: bool = False,
        llm_confidence: float = DEFAULT_LLM_CONFIDENCE,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"llm_fallback threshold must be within [0, 1], got {threshold}")
        self.threshold = threshold
        self.extra_labels = dict(extra_labels or {})
        self.merge = merge if merge is not None else llm_fills_gaps()
        self.strict = strict
        self.llm_confidence = llm_confidence
        self.prompt_data: dict[str, Any] | None = None
        self._prompt: NERPrompt | None = None
        self._warned: set = set()

    # --- prompt data: set up, serialise ----------------------------------------------

    def initialize(
        self,
        get_examples=None,
        *,
        nlp=None,
        labels_path: str | None = None,
        template_path: str | None = None,
        examples_path: str | None = None,
    ) -> None:
        """Read the label definitions, prompt template and few-shot examples into the task."""
        missing = [n for n, p in [("labels_path", labels_path), ("template_path", template_path)] if p is None]
        if missing:
            raise ValueError(f"llm_fallback: initialize needs {', '.join(missing)} ([initialize.components.…])")
        self.set_prompt_data(
            {
                "labels": srsly.read_json(labels_path),
                "template": Path(template_path).read_text(encoding="utf-8"),
                "examples": srsly.read_json(examples_path) if examples_path else [],
            }
        )

    def set_prompt_data(self, data: dict[str, Any]) -> None:
        self._prompt = NERPrompt({**data["labels"], **self.extra_labels}, data["examples"], data["template"])
        self.prompt_data = data

    @property
    def prompt(self) -> NERPrompt:
        if self._prompt is None:
            raise ValueError(
                "llm_fallback: no prompt data; run nlp.initialize() with its labels_path and template_path"
            )
        return self._prompt

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self._prompt.labels) if self._prompt is not None else tuple(self.extra_labels)

    @property
    def prompt_template(self) -> str:
        """spacy-llm's BatchCache checks it, if a user turns that cache on."""
        return self._prompt.prompt_template if self._prompt is not None else ""

    def to_bytes(self, *, exclude: tuple[str, ...] = tuple()) -> bytes:
        return srsly.json_dumps(self.prompt_data).encode("utf-8")

    def from_bytes(self, bytes_data: bytes, *, exclude: tuple[str, ...] = tuple()) -> "LegalNERFallback":
        data = srsly.json_loads(bytes_data)
        if data is not None:
            self.set_prompt_data(data)
        return self

    def to_disk(self, path: Path, *, exclude: tuple[str, ...] = tuple()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / PROMPT_FILE, self.prompt_data)

    def from_disk(self, path: Path, *, exclude: tuple[str, ...] = tuple()) -> "LegalNERFallback":
        data = srsly.read_json(Path(path) / PROMPT_FILE)
        if data is not None:
            self.set_prompt_data(data)
        return self

    # --- spacy-llm's sharding task protocol ------------------------------------------

    def wants_llm(self, sentence: Span) -> bool:
        if self.threshold <= 0.0 or not sentence.text.strip():
            return False
        if self.threshold >= 1.0:
            return True
        confidence = sentence._.ner_confidence
        return confidence is None or confidence < self.threshold

    # spacy-llm tells a sharding task by these signatures, read as typing's aliases (`typing.Tuple`)
    def generate_prompts(
        self, docs: typing.Iterable[Doc], context_length: int | None = None
    ) -> typing.Iterable[typing.Tuple[typing.Iterable[str], typing.Iterable[Span]]]:  # noqa: UP006
        """One prompt per unsure sentence; the model refuses a prompt beyond its context length."""
        for doc in docs:
            sentences = doc.sents if doc.has_annotation("SENT_START") else [doc[:]]
            unsure = [sent for sent in sentences if self.wants_llm(sent)]
            doc._.llm_fallback = new_stats()
            doc._.llm_fallback["sent"] = len(unsure)
            yield [self.prompt.render(sent.text) for sent in unsure], SentenceShards(doc, unsure)

    def parse_responses(
        self, shards: typing.Iterable[typing.Iterable[Span]], responses: typing.Iterable[typing.Iterable[str]]
    ) -> typing.Iterable[Doc]:
        for doc_shards, answers in zip_longest(shards, responses, fillvalue=()):
            if not isinstance(doc_shards, SentenceShards):
                break  # answers for docs that were not asked about
            yield self._merge_answers(doc_shards.doc, doc_shards, answers)

    # --- reading and merging one doc's answers ------------------------------------------

    def _merge_answers(self, doc: Doc, sentences: list[Span], answers: typing.Iterable[str]) -> Doc:
        stats = doc._.llm_fallback
        proposed: list[Span] = []
        for sent, answer in zip_longest(sentences, answers):
            if sent is None:
                break  # a model that answers once per doc however many prompts it got
            spans = self._read(sent, answer, stats)
            proposed += spans
        if not proposed:
            return doc
        merged = self.merge(list(doc.ents), proposed, self.threshold)
        _count_all(stats["spans_dropped"], merged.dropped)
        if merged.added:
            doc.ents = merged.ents
            for span in merged.added:
                span._.source = SOURCE_LLM
                span._.confidence = self.llm_confidence
            stats["spans_added"] += len(merged.added)
        return doc

    def _read(self, sent: Span, answer: str | None, stats: dict[str, Any]) -> list[Span]:
        """The answer's spans in ``sent``, aligned to tokens; a fault is counted (or raised) instead."""
        if answer is None:
            return self._fail(stats, NoAnswer("the model gave no answer to this prompt"))
        if isinstance(answer, Failure):
            return self._fail(stats, answer.error)
        if isinstance(answer, Cached):
            stats["cached"] += 1
        try:
            parsed = self.prompt.parse(sent.text, str(answer))
        except MalformedAnswer as err:
            return self._fail(stats, LLMBadAnswer(str(err)))
        stats["answered"] += 1
        dropped = stats["spans_dropped"]
        _count_all(
            dropped,
            {"not_in_text": parsed.not_in_text, "unknown_label": parsed.unknown_label, "bad_item": parsed.bad_items},
        )
        spans = []
        for start, end, label in parsed.spans:
            span = sent.doc.char_span(sent.start_char + start, sent.start_char + end, label=label)
            if span is None:
                _count_all(dropped, {"misaligned": 1})  # not stretched to token boundaries: a guess
            else:
                spans.append(span)
        return spans

    def _fail(self, stats: dict[str, Any], error: LLMError) -> list[Span]:
        if self.strict:
            raise error
        stats["failed"] += 1
        _count_all(stats["errors"], {error.cause: 1})
        if error.cause not in self._warned:
            self._warned.add(error.cause)
            logger.warning(
                "llm_fallback: %s (%s); trained entities are kept. Further '%s' faults are counted in "
                "doc._.llm_fallback without another warning.",
                error,
                error.cause,
                error.cause,
            )
        return []


def _count_all(counter: dict[str, int], counts: dict[str, int]) -> None:
    for key, n in counts.items():
        if n:
            counter[key] = counter.get(key, 0) + n


@registry.llm_tasks("pt_legal_ner.LegalNERFallback.v1")
def legal_ner_fallback(
    threshold: float = LegalNERFallback.DEFAULT_THRESHOLD,
    extra_labels: dict[str, str] | None = None,
    merge: MergePolicy | None = None,
    strict: bool = False,
    llm_confidence: float = LegalNERFallback.DEFAULT_LLM_CONFIDENCE,
) -> LegalNERFallback:
    """extra_labels: label -> definition, zero-shot labels only the LLM knows; merge None = llm_fills_gaps."""
    return LegalNERFallback(
        threshold=threshold, extra_labels=extra_labels, merge=merge, strict=strict, llm_confidence=llm_confidence
    )
