"""``pseudonymize``'s side of the records: `annotate`'s records pseudonymized before they are
written (pt_legal_ner/privacy/pseudonyms.py holds the policy), the originals only in the mapping.

Outputs:
- a JSONL file (``id``, ``text``, ``replacements``, ``error``), or a folder with one ``.txt``
  per document and ``.pseudonymize.jsonl`` beside them (the same records without the text, and
  the file each document went to: names are unique by construction, never replacing a file);
- ``--mapping``: JSONL, one line per document, placeholder -> original values; mode 0600;
  append-only: each line names the output it belongs to, so batches written to other outputs
  (whose ids may repeat) share one mapping; a line already there is not written again;
- ``--html``: a review page per document, the ORIGINAL text with every masked span marked,
  those below the review cut flagged; mode 0600, as they hold what was masked.
- A scanned PDF's record names its OCRed pages (``ocr_pages``); a replacement over OCR words has
  their lowest confidence (``ocr_confidence``) and, below the review cut, ``review: true``: the
  text under it may be misread, so a value beside it may be too.
A document's mapping line is written and fsynced before its output record: a crash between the
two leaves a mapping line whose document is redone, and the redone line is the same one.
"""

# no `from __future__ import annotations`: see annotate.py
import hashlib
import html
import logging
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from pt_legal_ner.annotation.mapping import PRIVATE, Mapping
from pt_legal_ner.annotation.records import entity_dicts, ocr_confidences, span_dict
from pt_legal_ner.annotation.render import html_name, label_color
from pt_legal_ner.components.token_ner import TaggingNER
from pt_legal_ner.io.atomic import create_bytes_atomic, write_text_atomic
from pt_legal_ner.io.inputs import JSONL_SUFFIXES
from pt_legal_ner.io.jsonl import JsonlAppender, RecordWriter
from pt_legal_ner.privacy.legal_ids import LegalIds
from pt_legal_ner.privacy.patterns import LABELS as ID_LABELS
from pt_legal_ner.privacy.pseudonyms import PERSON, Pseudonymized, pseudonymize
from pt_legal_ner.privacy.style import Style

logger = logging.getLogger("pt_legal_ner")
DEFAULT_LABELS: tuple[str, ...] = (PERSON, *ID_LABELS)
DEFAULT_REVIEW_BELOW = 0.8
# recall first: PESSOA's tag probabilities times this before decoding; chosen on dev (metrics/README.md)
DEFAULT_PERSON_WEIGHT = 64.0
MANIFEST = ".pseudonymize.jsonl"
SPANS_KEY = "legal_ids"
# a pseudonymize record: what tells it from an annotate record (which has "entities")
PSEUDONYMIZE_KEYS = ("replacements",)
# bytes of a file name the output folder keeps before shortening it with a hash (most file
# systems allow 255)
MAX_NAME_BYTES = 200


def masked_spans(spans_key: str = SPANS_KEY) -> Callable[[Doc, int], list[dict[str, Any]]]:
    """A piece's entities plus every identifier of ``legal_ids``, also those inside an entity."""

    def spans_of(doc: Doc, offset: int) -> list[dict[str, Any]]:
        return entity_dicts(doc, offset) + [span_dict(s, offset) for s in doc.spans.get(spans_key, [])]

    return spans_of


def with_legal_ids(nlp: Language, kinds: Iterable[str] = ID_LABELS) -> str:
    """The span group key of the pipeline's ``legal_ids``, made to find every one of ``kinds``:
    a pipeline without one (built before it existed) gets it, and one that finds fewer kinds
    (packaged before they were added) learns the rest, so that no identifier asked for may pass."""
    kinds = [k for k in kinds if k in ID_LABELS]
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, LegalIds):
            missing = [k for k in kinds if k not in pipe.labels]
            if missing:
                logger.warning(
                    "the pipeline's legal_ids finds %d identifier kinds; adding %s (a pipeline packaged before they"
                    " were added)",
                    len(pipe.labels),
                    ", ".join(missing),
                )
                pipe.labels = (*pipe.labels, *missing)
            return pipe.spans_key
    logger.warning("the pipeline has no legal_ids component; adding one with its default settings")
    nlp.add_pipe("legal_ids", config={"ents_filter": {"@misc": "pt_legal_ner.ids_spans_only.v1"}})
    return SPANS_KEY


def weigh_person(nlp: Language, weight: float) -> None:
    """Recall first for names: the trained NER's PESSOA probabilities times ``weight`` before decoding."""
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, TaggingNER) and PERSON in pipe.labels:
            pipe.label_weights = {**pipe.label_weights, PERSON: weight}


def output_name(doc_id: str) -> PurePosixPath:
    """A relative path inside the output folder for a document id, ending in .txt (a name too
    long for a file system is shortened, with a hash of the id to keep it apart)."""
    parts = [p for p in PurePosixPath(str(doc_id).replace(":", "_")).parts if p not in ("/", "..", ".")]
    name = PurePosixPath(*parts) if parts else PurePosixPath("doc")
    name = name if name.suffix == ".txt" else name.with_name(name.name + ".txt")
    if len(name.name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        digest = hashlib.sha1(str(doc_id).encode("utf-8", "surrogatepass")).hexdigest()[:12]
        short = name.name.encode("utf-8", "surrogatepass")[: MAX_NAME_BYTES - 20].decode("utf-8", "ignore")
        name = name.with_name(f"{short}~{digest}.txt")
    return name


def numbered(name: PurePosixPath, number: int) -> PurePosixPath:
    """``a.txt`` -> ``a~2.txt``: the name of the number-th document that wanted ``name``."""
    return name.with_name(f"{name.name[: -len('.txt')]}~{number}.txt")


class FolderWriter:
    """One pseudonymized .txt per document, then its record in the folder's manifest.

    A file never replaces another: two ids that want one name (``decisao`` and ``decisao.txt``,
    ``x.jsonl:3`` and a file ``x.jsonl_3``), or a name a file already has, get ``~2``, ``~3``...;
    the manifest records which file each document went to."""

    def __init__(self, folder: Path) -> None:
        self.folder = self.path = folder
        self.taken: set[str] = set()  # the names of earlier runs' files, read with their records

        def take(record: dict[str, Any]) -> None:
            if record.get("file"):
                self.taken.add(record["file"].casefold())

        self.manifest = JsonlAppender(folder / MANIFEST, "pseudonymize", PSEUDONYMIZE_KEYS, each=take)
        self.done = self.manifest.done

    def write(self, record: dict[str, Any]) -> None:
        if record["text"] is not None:
            name = self.place(output_name(record["id"]), record["text"].encode("utf-8", "replace"))
            record = {**record, "file": name.as_posix()}
        self.manifest.write({k: v for k, v in record.items() if k != "text"})

    def place(self, wanted: PurePosixPath, data: bytes) -> PurePosixPath:
        """Write ``data`` under ``wanted``, or the first free numbered name (case aside, so that
        the folder copies whole to a file system that ignores case)."""
        number = 1
        while True:
            name = wanted if number == 1 else numbered(wanted, number)
            if name.as_posix().casefold() not in self.taken and create_bytes_atomic(self.folder / name, data):
                self.taken.add(name.as_posix().casefold())
                return name
            number += 1

    def close(self) -> None:
        self.manifest.close()


class PseudonymizingWriter:
    """Takes `annotate`'s records, writes their pseudonymized form to ``out``."""

    def __init__(
        self,
        out: RecordWriter,
        labels: Iterable[str] = DEFAULT_LABELS,
        style: Style | str = "placeholder",
        propagate: bool = False,
        mapping: "Path | Mapping | None" = None,
        review_dir: Path | None = None,
        review_below: float = DEFAULT_REVIEW_BELOW,
        key: bytes | None = None,
    ) -> None:
        # the style (and its key) checked before the mapping is opened
        self.style = style if isinstance(style, Style) else Style(style, key)
        self.out, self.done = out, out.done
        self.labels, self.propagate = tuple(labels), propagate
        if mapping is not None and not isinstance(mapping, Mapping):
            mapping = Mapping(mapping, Path(out.path))
        self.mapping = mapping
        self.key_texts = key_texts(self.style.key) if self.style.key is not None else ()
        self.review_dir, self.review_below = review_dir, review_below
        self.replaced = self.sensitive = self.to_review = 0

    def write(self, record: dict[str, Any]) -> None:
        error = record["error"]
        if error is None and any(key in record["text"] for key in self.key_texts):
            # a key file read as a document (the key came from the environment): never published
            error = "it holds the secret key of --style keyed: not written (keep the key outside the input folders)"
        if error is None:
            try:  # a failure here is this document's error line; one of the outputs stops the run
                result = pseudonymize(record["text"], record["entities"], self.labels, self.style, self.propagate)
                if record.get("ocr_pages"):
                    self.flag_ocr(result, record["ocr_words"])
                page = review_page(record["id"], record["text"], result, self.review_below) if self.review_dir else None
            except Exception as err:
                error = f"pseudonymizing failed: {type(err).__name__}: {err}"
        if error is not None:
            self.out.write({"id": record["id"], "text": None, "replacements": None, "error": error})
            return
        ocr = {"ocr_pages": record["ocr_pages"]} if record.get("ocr_pages") else {}
        if self.mapping is not None:
            self.mapping.write(record["id"], result.mapping)
        if page is not None:
            write_text_atomic(self.review_dir / html_name(record["id"]), page, PRIVATE, errors="replace")
        out = {"id": record["id"], "text": result.text, "replacements": result.replacements, "error": None}
        self.out.write({**out, **ocr})
        self.replaced += len(result.replacements)
        self.sensitive += sum(1 for r in result.replacements if r.get("sensitive"))
        self.to_review += sum(1 for r in result.replacements if r.get("review"))

    def flag_ocr(self, result: Pseudonymized, words: list) -> None:
        """Replacements over OCR words: their lowest confidence, and ``review`` below the cut."""
        for replacement, ocr in zip(result.replacements, ocr_confidences(result.spans, words), strict=True):
            if ocr is not None:
                replacement["ocr_confidence"] = ocr
                if ocr < self.review_below:
                    replacement["review"] = True

    def summary(self) -> str:
        review = f"; {self.to_review} over OCR text of low confidence, flagged for review" if self.to_review else ""
        return f"{self.replaced} spans masked ({self.sensitive} of them health data, LGPD art. 11{review})"

    def close(self) -> None:
        try:
            self.out.close()
        finally:
            if self.mapping is not None:
                self.mapping.close()


def key_texts(key: bytes) -> tuple[str, ...]:
    """``key`` as each decoding a text file may have had (what a key file read as a document holds)."""
    texts = []
    for encoding in ("utf-8", "cp1252", "latin-1"):
        try:
            texts.append(key.decode(encoding))
        except UnicodeDecodeError:
            continue
    return tuple(dict.fromkeys(texts))


def open_writer(output: Path, mapping: Path | None = None, **settings: Any) -> PseudonymizingWriter:
    """``pseudonymize``'s writer for ``output``: a .jsonl file, or else a folder of .txt files and
    their manifest; ``settings`` are PseudonymizingWriter's (labels, style, review pages...). The
    mapping is checked first: a file that is not one is refused before OUT is created."""
    mapped = Mapping(mapping, output) if mapping is not None else None
    try:
        out = JsonlAppender(output, "pseudonymize", PSEUDONYMIZE_KEYS) if is_jsonl(output) else FolderWriter(output)
    except BaseException:
        if mapped is not None:
            mapped.close()
        raise
    try:
        return PseudonymizingWriter(out, mapping=mapped, **settings)
    except BaseException:
        out.close()
        raise


def is_jsonl(output: Path) -> bool:
    """Whether ``pseudonymize`` writes OUT as one JSONL file (else a folder of .txt files)."""
    return output.suffix.lower() in JSONL_SUFFIXES


def prepare(
    nlp: Language, person_weight: float = DEFAULT_PERSON_WEIGHT, labels: Iterable[str] = DEFAULT_LABELS
) -> Callable[[Doc, int], list[dict[str, Any]]]:
    """Adapt ``nlp`` for pseudonymizing (PESSOA weighed, ``legal_ids`` added or taught the kinds of
    ``labels`` it lacks); returns what goes into a record's entities (``annotate``'s ``spans_of``)."""
    weigh_person(nlp, person_weight)
    return masked_spans(with_legal_ids(nlp, labels))


def review_page(doc_id: str, text: str, result: Pseudonymized, review_below: float) -> str:
    """The original text with each masked span marked by label and placeholder; spans whose
    confidence is below ``review_below`` are flagged for a person to check."""
    parts, position, flagged = [], 0, 0
    for (start, end), r in zip(result.spans, result.replacements, strict=True):
        confidence = r["confidence"]
        doubtful = bool(r.get("review")) or (confidence is not None and confidence < review_below)
        flagged += doubtful
        style = f"background: {label_color(r['label'])}; padding: 0.1em 0.3em; border-radius: 0.3em;"
        if doubtful:
            style += " outline: 3px dashed #c00;"
        title = f"{r['label']} · {r['source']} · {'-' if confidence is None else f'{confidence:.2f}'}"
        parts.append(html.escape(text[position:start]))
        parts.append(
            f'<mark class="{"review" if doubtful else "masked"}" data-label="{r["label"]}"'
            f' title="{html.escape(title)}" style="{style}">{html.escape(text[start:end])}'
            f'<sub style="font-size: 0.7em; margin-left: 0.3em">{html.escape(r["entity"])}</sub></mark>'
        )
        position = end
    parts.append(html.escape(text[position:]))
    title = html.escape(str(doc_id))
    return (
        f'<!DOCTYPE html><html lang="pt"><head><meta charset="utf-8"><title>{title}</title></head>'
        f'<body style="font-family: sans-serif; max-width: 60em; margin: 2em auto">'
        f"<h2>{title}</h2><p>{len(result.replacements)} masked spans, <strong>{flagged} to review</strong>"
        f" (dashed red outline: confidence below {review_below})</p>"
        f'<div style="white-space: pre-wrap; line-height: 1.8">{"".join(parts)}</div></body></html>'
    )
