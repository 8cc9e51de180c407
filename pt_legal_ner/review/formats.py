"""Annotation tools' task formats: our predictions out for review, the reviewed spans back in.

One class per tool, each with what its documentation gives as the import format (``task``)
and what the tool exports after review (``read``):

- Label Studio (labelstud.io/guide/predictions, /guide/export): a JSON list of tasks,
  ``data.text`` and ``predictions[].result[]`` of type ``labels``, with ``score`` per task (the
  Data Manager sorts by it) and per result. Back: the full JSON export (the latest annotation
  not cancelled; a task nobody annotated still holds only our prediction) or JSON-MIN.
- doccano (doccano.github.io/doccano/tutorial, sequence labeling): JSONL with ``text`` and
  ``label`` as ``[start, end, label]``; other keys (``doc_id``, ``score``) become metadata, since
  doccano has no score field. Back: the same, or the ``entities`` export of newer versions;
  doccano keeps no review state, so every line counts as reviewed.
- Prodigy (prodi.gy/docs/api-interfaces#ner_manual): JSONL with ``text``, ``tokens``, ``spans``
  (with token indices) and ``meta.score`` (shown on the card). Back: ``db-out``'s lines; only
  ``answer: accept`` counts as reviewed, ``reject``/``ignore`` are left out.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from spacy.language import Language

MODEL_VERSION = "pt_legal_ner"
# Label Studio: the control and object tag names the labeling config and every result share
LS_FROM, LS_TO = "label", "text"


@dataclass
class Reviewed:
    """One document read back from a tool: its text and (start, end, label) spans."""

    id: Any
    text: str
    # None: the file does not hold them (Label Studio exports only the ids of predictions)
    spans: list[tuple[int, int, str]] | None = field(default_factory=list)
    # False: nobody reviewed it in the tool (it holds our predictions only)
    reviewed: bool = True
    # False: a reviewer rejected or skipped it
    accepted: bool = True


class FormatError(ValueError):
    """A record that is not what the tool writes; the message names it."""


class LabelStudio:
    name = "labelstudio"
    # Label Studio imports a JSON list (JSONL only from cloud storage)
    json_list = True

    @staticmethod
    def config(labels: list[str]) -> str:
        """The labeling config the tasks are written for (paste it into the project's settings)."""
        choices = "\n".join(f'    <Label value="{label}"/>' for label in labels)
        return (
            f'<View>\n  <Labels name="{LS_FROM}" toName="{LS_TO}">\n{choices}\n  </Labels>\n'
            f'  <Text name="{LS_TO}" value="${LS_TO}"/>\n</View>\n'
        )

    @staticmethod
    def task(record: dict[str, Any], spans: list[dict[str, Any]], score: float, nlp: Language) -> dict[str, Any]:
        data = {"text": record["text"], "doc_id": record["id"]}
        if record.get("pages") is not None:
            data["pages"] = record["pages"]
        result = [
            {
                "id": f"e{i}",
                "from_name": LS_FROM,
                "to_name": LS_TO,
                "type": "labels",
                "value": {"start": s["start"], "end": s["end"], "text": s["text"], "labels": [s["label"]]},
                **({"score": s["confidence"]} if s.get("confidence") is not None else {}),
            }
            for i, s in enumerate(spans)
        ]
        return {
            "data": data,
            "predictions": [{"model_version": MODEL_VERSION, "score": score, "result": result}],
        }

    @staticmethod
    def read(item: dict[str, Any], where: str) -> Reviewed:
        if "data" not in item:  # JSON-MIN: the task's data with the annotation's labels beside it
            spans = [_ls_value(value, where) for value in item.get("label") or []]
            return Reviewed(item.get("doc_id", item.get("id")), _text(item, where), [s for v in spans for s in v])
        data = item["data"]
        text = _text(data, where)
        annotations = [a for a in item.get("annotations") or [] if not a.get("was_cancelled")]
        cancelled = bool(item.get("annotations")) and not annotations
        doc_id = data.get("doc_id", item.get("id"))
        if annotations:
            chosen = annotations[-1]
        else:
            # our own task file holds the predictions; Label Studio's export lists only their ids
            predictions = [p for p in item.get("predictions") or [] if isinstance(p, dict)]
            if item.get("predictions") and not predictions:
                return Reviewed(doc_id, text, None, reviewed=False, accepted=not cancelled)
            chosen = predictions[-1] if predictions else {}
        spans = [
            span
            for result in chosen.get("result") or []
            if result.get("type") == "labels"
            for span in _ls_value(result.get("value") or {}, where)
        ]
        return Reviewed(doc_id, text, spans, bool(annotations), not cancelled)


def _ls_value(value: dict[str, Any], where: str) -> list[tuple[int, int, str]]:
    try:
        return [(int(value["start"]), int(value["end"]), label) for label in value["labels"]]
    except (KeyError, TypeError, ValueError):
        raise FormatError(
            f"{where}: a labels result without start, end and labels: {json.dumps(value)[:200]}"
        ) from None


def _text(item: dict[str, Any], where: str) -> str:
    text = item.get("text")
    if not isinstance(text, str):
        raise FormatError(f'{where}: no "text" string')
    return text


class Doccano:
    name = "doccano"
    json_list = False

    @staticmethod
    def task(record: dict[str, Any], spans: list[dict[str, Any]], score: float, nlp: Language) -> dict[str, Any]:
        return {
            "text": record["text"],
            "label": [[s["start"], s["end"], s["label"]] for s in spans],
            "doc_id": record["id"],
            "score": score,
            "confidences": [s.get("confidence") for s in spans],
        }

    @staticmethod
    def read(item: dict[str, Any], where: str) -> Reviewed:
        text = _text(item, where)
        try:
            if "entities" in item:  # doccano >= 1.6 with relations
                spans = [(int(e["start_offset"]), int(e["end_offset"]), e["label"]) for e in item["entities"]]
            else:
                spans = [(int(s), int(e), label) for s, e, label in item.get("label") or []]
        except (KeyError, TypeError, ValueError):
            raise FormatError(f"{where}: spans are neither [start, end, label] nor doccano entities") from None
        return Reviewed(item.get("doc_id", item.get("id")), text, spans)


class Prodigy:
    name = "prodigy"
    json_list = False

    @staticmethod
    def task(record: dict[str, Any], spans: list[dict[str, Any]], score: float, nlp: Language) -> dict[str, Any]:
        doc = nlp.make_doc(record["text"])
        out = []
        for s in spans:
            span = doc.char_span(s["start"], s["end"], alignment_mode="expand")
            entry = {"start": s["start"], "end": s["end"], "label": s["label"]}
            if span is not None:
                entry.update(token_start=span.start, token_end=span.end - 1)
            out.append(entry)
        tokens = [
            {"text": t.text, "start": t.idx, "end": t.idx + len(t), "id": t.i, "ws": bool(t.whitespace_)} for t in doc
        ]
        meta = {"doc_id": record["id"], "score": score}
        return {"text": record["text"], "tokens": tokens, "spans": out, "meta": meta}

    @staticmethod
    def read(item: dict[str, Any], where: str) -> Reviewed:
        text = _text(item, where)
        try:
            spans = [(int(s["start"]), int(s["end"]), s["label"]) for s in item.get("spans") or []]
        except (KeyError, TypeError, ValueError):
            raise FormatError(f"{where}: a span without start, end and label") from None
        answer = item.get("answer")
        doc_id = (item.get("meta") or {}).get("doc_id", item.get("_input_hash"))
        return Reviewed(doc_id, text, spans, reviewed=answer is not None, accepted=answer in (None, "accept"))


FORMATS = {f.name: f for f in (LabelStudio, Doccano, Prodigy)}


def read_items(data: bytes, origin: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, item) for each task of a tool's file: a JSON list or JSONL, whichever it holds."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise FormatError(f"{origin}: not UTF-8 ({err})") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as err:
            raise FormatError(f"{origin}: invalid JSON ({err})") from None
        for number, item in enumerate(items, start=1):
            yield f"{origin} item {number}", _object(item, f"{origin} item {number}")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            where = f"{origin} line {number}"
            try:
                yield where, _object(json.loads(line), where)
            except json.JSONDecodeError as err:
                raise FormatError(f"{where}: invalid JSON ({err})") from None


def _object(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise FormatError(f"{where}: expected a JSON object, got {type(item).__name__}")
    return item
