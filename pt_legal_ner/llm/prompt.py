"""The prompt of llm_fallback and its parser: label definitions, few-shot examples, a Jinja
template, and a strict reading of the model's JSON answer.

Strict means nothing is guessed: a span whose text is not in the sentence, or whose label is
not in the label set, is dropped and counted; an answer that is not the expected JSON is
rejected whole.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field

import jinja2

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


class NERPrompt:
    """Renders one sentence's prompt and reads the answer to it."""

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


def described(answer: str) -> str:
    """An answer named without its words (they may quote the sentence, names and all): its
    length and a hash, enough to tell two answers apart in a log."""
    digest = hashlib.sha256(answer.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{len(answer)} characters, sha256 {digest}"


def _entity_items(answer: str) -> list:
    text = answer.strip()
    fenced = _FENCED.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except ValueError:
        raise MalformedAnswer(f"answer is not JSON ({described(answer)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("entities"), list):
        raise MalformedAnswer(f'answer lacks an "entities" list ({described(answer)})')
    return data["entities"]


def _find_all(text: str, surface: str) -> list[int]:
    """Start offsets of every non-overlapping occurrence: all of them, since picking one would be a guess."""
    starts, pos = [], text.find(surface)
    while pos != -1:
        starts.append(pos)
        pos = text.find(surface, pos + len(surface))
    return starts
