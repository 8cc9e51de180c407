"""Annotate documents into a JSONL file (and displaCy pages), resumably and without torn lines.

- Long documents are cut at line breaks into pieces of at most `max_chars`, so memory stays
  bounded by the batch, not by the longest document; offsets are mapped back to the document.
- Each output line is appended with one write() to an O_APPEND file. A re-run skips the ids
  already written and drops an incomplete last line (a machine crash mid-write), so that
  document is done again.
- A document that cannot be read or fails in the pipeline gets a line with its error.
- A PDF's OCRed pages are named (``ocr_pages``) with each OCR word's place and confidence
  (``ocr_words``: [start, end, 0-100]); an entity over OCR words gets the lowest of their
  confidences as ``ocr_confidence``, and its ``confidence`` is no higher than that.
"""

import json
import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from pt_legal_ner.annotation.render import html_name, render_page
from pt_legal_ner.components.extensions import SOURCE_RULE, register_extensions
from pt_legal_ner.io.atomic import write_text_atomic
from pt_legal_ner.io.documents import Document
from pt_legal_ner.io.jsonl import JsonlAppender, RecordWriter, Summary, read_done_ids  # noqa: F401  (their old home)
from pt_legal_ner.io.ocr_text import Word, lowest_confidence
from pt_legal_ner.privacy.patterns import LABELS as ID_LABELS
from pt_legal_ner.privacy.patterns import SENSITIVE

logger = logging.getLogger("pt_legal_ner")
register_extensions()
MAX_CHUNK_CHARS = 10_000
# texts per nlp.pipe batch: the command line's, the Ray actors' and the Python API's default
DEFAULT_BATCH_SIZE = 16


class Progress(Protocol):
    def update(self, n: int = 1) -> Any: ...


def split_text(text: str, max_chars: int = MAX_CHUNK_CHARS) -> list[tuple[int, str]]:
    """(offset, piece) pairs covering `text`, each piece at most `max_chars` long.

    Cuts after the last line break in the window, else after a sentence end, else at a space,
    looking no further back than half the window; hard cut only for text without whitespace.
    """
    pieces: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > max_chars:
        window = text[start : start + max_chars]
        cut = window.rfind("\n") + 1
        if cut <= max_chars // 2:
            cut = max(window.rfind(". "), window.rfind("; ")) + 2
        if cut <= max_chars // 2:
            cut = window.rfind(" ") + 1
        if cut <= 0:
            cut = max_chars
        pieces.append((start, window[:cut]))
        start += cut
    pieces.append((start, text[start:]))
    return pieces


_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (JSON text may hold one; spaCy cannot store it) as U+FFFD,
    one character for one, so offsets into the original text stay right."""
    return _SURROGATE.sub("\ufffd", text) if not text.isascii() and _SURROGATE.search(text) else text


def span_dict(span: Span, offset: int = 0) -> dict[str, Any]:
    record = {
        "start": span.start_char + offset,
        "end": span.end_char + offset,
        "label": span.label_,
        "text": span.text,
        "source": span._.source,
        "confidence": None if span._.confidence is None else round(float(span._.confidence), 4),
    }
    if span.label_ in ID_LABELS:
        # an identifier of legal_ids; an entity over the same characters shares its extension
        # values (spaCy keys them by offsets), so the label decides, not the values
        record.update(source=SOURCE_RULE, confidence=1.0, normalized=span._.normalized, valid=span._.valid)
        if span.label_ in SENSITIVE:
            record["sensitive"] = True  # health data, LGPD art. 11
    return record


def entity_dicts(doc: Doc, offset: int = 0) -> list[dict[str, Any]]:
    return [span_dict(ent, offset) for ent in doc.ents]


@dataclass
class Slot:
    """A document between reading and writing: its pieces still in the pipeline."""

    document: Document
    remaining: int
    entities: list[dict[str, Any]] = field(default_factory=list)


def make_record(slot: Slot) -> dict[str, Any]:
    doc = slot.document
    ok = doc.error is None
    record = {
        "id": doc.id,
        "fields": doc.fields,
        "encoding": doc.encoding,
        "text": doc.text if ok else None,
        # pieces come back in order, and each doc's ents are sorted
        "entities": slot.entities if ok else None,
        "error": doc.error,
    }
    if ok and doc.pages is not None:
        record["pages"] = doc.pages
    if ok and doc.warning is not None:
        record["warning"] = doc.warning
    if ok and doc.ocr_pages:
        record["ocr_pages"] = list(doc.ocr_pages)
        record["ocr_words"] = [list(word) for word in doc.ocr_words]
        with_ocr_confidence(record["entities"], doc.ocr_words)
    return record


def ocr_confidences(spans: list[tuple[int, int]], words: list[Word]) -> list[float | None]:
    """Per span, the lowest confidence (0-1) of the OCR words under it; None where none is."""
    starts = [word[0] for word in words]
    lowest = (lowest_confidence(words, starts, start, end) for start, end in spans)
    return [None if value is None else value / 100 for value in lowest]


def with_ocr_confidence(entities: list[dict[str, Any]], words: list[Word]) -> None:
    """Entities over OCR words: their ``ocr_confidence``, and ``confidence`` no higher than it."""
    spans = [(entity["start"], entity["end"]) for entity in entities]
    for entity, ocr in zip(entities, ocr_confidences(spans, words), strict=True):
        if ocr is not None:
            entity["ocr_confidence"] = ocr
            current = entity.get("confidence")
            entity["confidence"] = ocr if current is None else min(current, ocr)


def finished(slot: Slot, html: bool) -> tuple[dict[str, Any], str | None]:
    """A finished document's record and its displaCy page (if ``html``); any failure in making
    them is the document's error record."""
    try:
        record = make_record(slot)
        # what the writer will do, on what can fail (spans_of's output, the fields), not the text
        json.dumps([record["entities"], record["fields"]])
        return record, render_page(record) if html and record["error"] is None else None
    except Exception as err:
        document = slot.document
        reason = f"its record could not be made: {type(err).__name__}: {err}"
        return make_record(Slot(Document(document.id, fields=document.fields, error=reason), 0)), None


def annotate(
    nlp: Language,
    documents: Iterable[Document],
    out: Path | RecordWriter,
    *,
    html_dir: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    n_process: int = 1,
    max_chars: int = MAX_CHUNK_CHARS,
    progress: Progress | None = None,
    spans_of: Callable[[Doc, int], list[dict[str, Any]]] = entity_dicts,
) -> Summary:
    """Annotate `documents` with `nlp` into `out` (a JSONL file, appended), skipping ids already there.

    A record's ``entities`` are ``spans_of(doc, offset)`` of each piece (default: ``doc.ents``).
    """
    writer = JsonlAppender(out) if isinstance(out, Path) else out
    summary = Summary()
    queue: deque[Slot] = deque()

    def flush() -> None:
        # write finished documents in input order; a failure of the output itself stops the run
        while queue and queue[0].remaining == 0:
            record, page = finished(queue.popleft(), html_dir is not None)
            if page is not None:
                write_text_atomic(html_dir / html_name(record["id"]), page, errors="replace")
            writer.write(record)
            summary.written += 1
            summary.errors += record["error"] is not None
            summary.entities += len(record["entities"] or ())
            summary.words += len(record["text"].split()) if record["text"] else 0
            if progress is not None:
                progress.update(1)

    def pieces() -> Iterator[tuple[str, tuple[Slot, int]]]:
        for document in documents:
            if document.id in writer.done:
                summary.skipped += 1
                if progress is not None:
                    progress.update(1)
                continue
            split = [] if document.error or not document.text.strip() else split_text(document.text, max_chars)
            slot = Slot(document, remaining=len(split))
            queue.append(slot)
            for offset, piece in split:
                yield without_surrogates(piece), (slot, offset)

    def done_piece(slot: Slot, offset: int, length: int, doc: Doc | None, error: Exception | None) -> None:
        slot.remaining -= 1
        if doc is not None and slot.document.error is None:
            try:
                slot.entities.extend(spans_of(doc, offset))
            except Exception as err:  # the document's error, like a failure in the pipeline
                error = err
        if error is not None and slot.document.error is None:
            span = f"characters {offset}-{offset + length}"
            slot.document.error = f"pipeline failed on {span}: {type(error).__name__}: {error}"
        flush()

    try:
        for group in minibatch(pieces(), size=batch_size * max(n_process, 1) * 8):
            texts = [text for text, _ in group]
            results = pipe_isolating_errors(nlp, texts, batch_size, n_process)
            for (text, (slot, offset)), (doc, error) in zip(group, results, strict=True):
                done_piece(slot, offset, len(text), doc, error)
        flush()
    finally:
        writer.close()
    return summary


def pipe_isolating_errors(
    nlp: Language, texts: list[str], batch_size: int, n_process: int
) -> Iterator[tuple[Doc | None, Exception | None]]:
    """(doc, None) or (None, error) per text, in order: a failing batch is redone one text at a time."""
    n_done = 0
    try:
        for doc in nlp.pipe(texts, batch_size=batch_size, n_process=n_process):
            n_done += 1
            yield doc, None
    except Exception as err:
        logger.warning("a batch failed in the pipeline (%s); retrying its documents one at a time", err)
        for text in texts[n_done:]:
            try:
                doc = nlp(text)
            except Exception as one_err:
                yield None, one_err
            else:
                yield doc, None
