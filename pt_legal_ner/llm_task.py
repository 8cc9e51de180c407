"""The zero-shot NER task for spacy-llm: Portuguese label definitions, few-shot examples,
a Jinja prompt, and a strict parser of the model's JSON answer.

Strict means nothing is guessed: a span whose text is not in the sentence, or whose label is
not in the label set, is dropped and counted; an answer that is not the expected JSON is
rejected whole.
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import jinja2
from spacy.tokens import Doc
from spacy.util import filter_spans
from spacy_llm.registry import registry

_FENCED = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class MalformedAnswer(ValueError):
    pass


# no `from __future__ import annotations` in this module: `spacy package --code` imports it
# outside sys.modules, where dataclasses cannot resolve string annotations
@dataclass
class ParsedAnswer:
    spans: list[tuple[int, int, str]] = field(default_factory=list)  # character offsets in the text
    not_in_text: int = 0
    unknown_label: int = 0
    bad_items: int = 0


class LegalNERTask:
    """Implements spacy-llm's non-sharding task protocol (generate_prompts / parse_responses)."""

    def __init__(self, labels: dict[str, str], examples: list[dict], template: str) -> None:
        if not labels:
            raise ValueError("the LLM task needs at least one label with its definition")
        self.labels = dict(labels)
        self.examples = [
            {"text": ex["text"], "answer": json.dumps({"entities": ex["entities"]}, ensure_ascii=False)}
            for ex in examples
        ]
        self._template_text = template
        self._template = jinja2.Environment(autoescape=False, keep_trailing_newline=True).from_string(template)

    @property
    def prompt_template(self) -> str:
        return self._template_text

    def render(self, text: str) -> str:
        return self._template.render(labels=self.labels, examples=self.examples, text=text)

    def generate_prompts(self, docs: Iterable[Doc]) -> list[str]:
        return [self.render(doc.text) for doc in docs]

    def parse(self, text: str, answer: str) -> ParsedAnswer:
        """Spans of ``text`` named by ``answer``; raises MalformedAnswer if it is not the expected JSON."""
        items = _entity_items(answer)
        parsed = ParsedAnswer()
        for item in items:
            if not (
                isinstance(item, dict) and isinstance(item.get("text"), str) and isinstance(item.get("label"), str)
            ):
                parsed.bad_items += 1
                continue
            surface, label = item["text"], item["label"].strip().upper()
            if label not in self.labels:
                parsed.unknown_label += 1
                continue
            occurrences = _find_all(text, surface) if surface.strip() else []
            if not occurrences:
                parsed.not_in_text += 1
                continue
            parsed.spans += [(start, start + len(surface), label) for start in occurrences]
        return parsed

    def parse_responses(self, docs: Iterable[Doc], responses: Iterable[str]) -> list[Doc]:
        """spacy-llm protocol: write the parsed spans as doc.ents (malformed answers leave a doc as is)."""
        out = []
        for doc, response in zip(docs, responses, strict=True):
            answer = response if isinstance(response, str) else "".join(response)
            try:
                parsed = self.parse(doc.text, answer)
            except MalformedAnswer:
                out.append(doc)
                continue
            spans = [doc.char_span(s, e, label=label) for s, e, label in parsed.spans]
            doc.ents = filter_spans([s for s in spans if s is not None])
            out.append(doc)
        return out


def _entity_items(answer: str) -> list:
    text = answer.strip()
    fenced = _FENCED.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except ValueError:
        raise MalformedAnswer(f"answer is not JSON: {answer[:120]!r}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entities"), list):
        raise MalformedAnswer(f'answer lacks an "entities" list: {answer[:120]!r}')
    return data["entities"]


def _find_all(text: str, surface: str) -> list[int]:
    """Start offsets of every non-overlapping occurrence: all of them, since picking one would be a guess."""
    starts, pos = [], text.find(surface)
    while pos != -1:
        starts.append(pos)
        pos = text.find(surface, pos + len(surface))
    return starts


@registry.llm_tasks("pt_legal_ner.LegalNER.v1")
def legal_ner_task(labels: dict[str, str], examples: list[dict], template: str) -> LegalNERTask:
    """labels: label -> definition; examples: [{"text", "entities": [{"text", "label"}]}]; template: Jinja."""
    return LegalNERTask(labels, examples, template)
