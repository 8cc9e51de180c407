"""The correction loop: annotate's records out to an annotation tool, reviewed spans back as a DocBin.

``export_tasks`` writes one task per document, least confident first, so reviewers spend their
time where the model doubts. ``import_corrections`` turns the tool's export into a spaCy corpus
for training; it checks every span first and writes nothing unless all are good, naming the
file, record and span of each problem.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, DocBin

from pt_legal_ner.io.atomic import write_bytes_atomic
from pt_legal_ner.io.documents import bounded_lines
from pt_legal_ner.io.limits import DEFAULT_LIMITS, LimitExceeded
from pt_legal_ner.io.parts import open_jsonl, part_files
from pt_legal_ner.review.formats import FORMATS, FormatError, Reviewed, read_items

ALIGNMENTS = ("strict", "contract", "expand")
# problems listed in one error before "... and N more"
MAX_LISTED = 20


def read_records(paths: Iterable[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, record) of annotate's output: JSONL files, gzip parts, or folders of them (a Ray run).

    A line that is no record (damaged, cut, not UTF-8, over the line limit) comes as a record
    without an id whose ``error`` says where and why: export leaves it out and counts it.
    """
    for path in paths:
        for file in part_files(path) if path.is_dir() else [path]:
            with open_jsonl(file) as f:
                for number, (line, size) in enumerate(bounded_lines(f, DEFAULT_LIMITS.max_bytes), start=1):
                    if line is not None and not line.strip():
                        continue
                    where = f"{file} line {number}"
                    try:
                        record = _record(line, size)
                    except (ValueError, RecursionError) as err:  # JSON's and UTF-8's errors are ValueErrors
                        record = {"id": None, "text": None, "entities": None, "error": f"{where}: {err}"}
                    yield where, record


def _record(line: bytes | None, size: int) -> dict[str, Any]:
    if line is None:
        raise LimitExceeded("bytes in the line", size, "max_bytes", DEFAULT_LIMITS)
    try:
        record = json.loads(line)
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 ({err})") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"invalid JSON ({err})") from None
    if not isinstance(record, dict) or "id" not in record or "entities" not in record:
        raise ValueError("not an annotate record (no id and entities)")
    return record


def task_score(spans: list[dict[str, Any]]) -> float:
    """A document's review priority: its least confident span (1.0 when none has a confidence)."""
    scores = [s["confidence"] for s in spans if s.get("confidence") is not None]
    return min(scores, default=1.0)


@dataclass
class ExportSummary:
    tasks: int = 0
    spans: int = 0
    errors: int = 0
    # where and why, for records that could not be read or made into a task
    unreadable: list[str] = field(default_factory=list)
    # the tool's project config written beside the tasks (Label Studio's labeling config)
    config: Path | None = None


def export_tasks(
    records: Iterable[tuple[str, dict[str, Any]]], out: Path, fmt: str, labels: list[str], nlp: Language
) -> ExportSummary:
    """Write ``fmt``'s tasks for the records' spans with ``labels``, least confident document first.

    Records with an error are left out (counted). ``nlp`` tokenizes for formats that need tokens.
    A tool that needs a project config (Label Studio) gets it beside ``out`` (``summary.config``).
    """
    tool = FORMATS[fmt]
    keep = set(labels)
    summary = ExportSummary()
    scored = []
    for where, record in records:
        if record.get("error") is not None or record.get("text") is None:
            summary.errors += 1
            if record.get("id") is None:
                summary.unreadable.append(record.get("error") or f"{where}: no id")
            continue
        try:  # one record that is not as annotate writes it is left out, not the export
            spans = [s for s in record["entities"] or [] if s["label"] in keep]
            score = task_score(spans)
            scored.append((score, len(scored), tool.task(record, spans, score, nlp)))
        except Exception as err:
            summary.errors += 1
            summary.unreadable.append(f"{where}: not an annotate record ({type(err).__name__}: {err})")
            continue
        summary.spans += len(spans)
    tasks = [task for _, _, task in sorted(scored, key=lambda t: t[:2])]
    summary.tasks = len(tasks)
    if tool.json_list:
        data = json.dumps(tasks, ensure_ascii=False, indent=1) + "\n"
    else:
        data = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks)
    write_bytes_atomic(out, data.encode("utf-8"))
    if hasattr(tool, "config"):  # Label Studio: the project's labeling config, beside the tasks
        summary.config = out.with_name(out.stem + ".label_config.xml")
        write_bytes_atomic(summary.config, tool.config(labels).encode("utf-8"))
    return summary


@dataclass
class ImportSummary:
    docs: int = 0
    spans: int = 0
    unreviewed: int = 0
    rejected: int = 0


def import_corrections(
    paths: Iterable[Path],
    out: Path,
    fmt: str,
    labels: list[str],
    nlp: Language,
    include_unreviewed: bool = False,
    alignment: str = "strict",
) -> ImportSummary:
    """The reviewed documents of the tool's files as a DocBin at ``out``, with ``labels`` only.

    Raises FormatError listing every span that does not align to ``nlp``'s tokens (under
    ``alignment``), has a label outside ``labels``, or overlaps another, and writes nothing then.
    """
    tool = FORMATS[fmt]
    known = set(labels)
    summary = ImportSummary()
    problems: list[str] = []
    docs: list[Doc] = []
    for path in paths:
        for where, item in read_items(path.read_bytes(), str(path)):
            try:
                got = tool.read(item, where)
            except FormatError:
                raise
            except Exception as err:  # a task that is not the tool's: named like any other problem
                problems.append(f"{where}: not a {fmt} task ({type(err).__name__}: {err})")
                continue
            if not got.accepted:
                summary.rejected += 1
                continue
            if not got.reviewed and not include_unreviewed:
                summary.unreviewed += 1
                continue
            if got.spans is None:
                problems.append(
                    f"{where} (document {got.id}): not reviewed, and the file holds only the ids of its predictions"
                    " (Label Studio's export); import the task file `export` wrote, or review the task"
                )
                continue
            doc = to_doc(got, where, nlp, known, alignment, problems)
            if doc is not None:
                docs.append(doc)
                summary.spans += len(doc.ents)
    if problems:
        more = f"\n... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise FormatError(f"{len(problems)} problem(s), nothing written:\n" + "\n".join(problems[:MAX_LISTED]) + more)
    corpus = DocBin(store_user_data=False, docs=docs)  # as convert_conll stores the splits
    write_bytes_atomic(out, corpus.to_bytes())
    summary.docs = len(docs)
    return summary


def to_doc(
    got: Reviewed, where: str, nlp: Language, labels: set[str], alignment: str, problems: list[str]
) -> Doc | None:
    """``got`` as a Doc whose ents are its spans (every other token outside), or None with ``problems`` added."""
    doc = nlp.make_doc(got.text)
    name = f"{where} (document {got.id})" if got.id is not None else where
    spans, found = [], len(problems)
    for start, end, label in got.spans:
        quoted = repr(got.text[start:end][:60])
        if label not in labels:
            problems.append(f"{name}: label {label!r} of {start}-{end} {quoted} is not one the model learns")
            continue
        if not 0 <= start < end <= len(got.text):
            problems.append(f"{name}: span {start}-{end} lies outside the text ({len(got.text)} characters)")
            continue
        # a selection that took a space at either end is what the reviewer meant without it
        piece = got.text[start:end]
        start, end = start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip())
        span = doc.char_span(start, end, label=label, alignment_mode=alignment) if start < end else None
        if span is None or not len(span):
            problems.append(
                f"{name}: span {start}-{end} {quoted} ({label}) does not align to token boundaries"
                f" (try --alignment expand)"
            )
            continue
        spans.append(span)
    spans.sort(key=lambda s: (s.start, s.end))
    for a, b in zip(spans, spans[1:], strict=False):
        if b.start < a.end:
            problems.append(
                f"{name}: spans {a.start_char}-{a.end_char} ({a.label_}) and {b.start_char}-{b.end_char}"
                f" ({b.label_}) overlap"
            )
    if len(problems) > found:
        return None
    doc.set_ents(spans, default="outside")
    return doc
