"""Documents to annotate: decoding text files, PDF and DOCX, parsing JSONL lines, stdin.

A document that cannot be read carries its error instead of text, so it gets an output line
rather than silence. Which files are read, and the ids, are pt_legal_ner/inputs.py's.
"""

# no `from __future__ import annotations` here: string annotations break dataclasses under
# spacy.util.import_file, which `spacy package --code` runs on each module
import json
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pt_legal_ner.extract import (
    OLE_MAGIC,
    PDF_MAGIC,
    ZIP_MAGIC,
    ExtractionError,
    extract_docx,
    extract_pdf,
    looks_like_docx,
)

# magic numbers of the binary formats court systems hand out instead of text
BINARY_SIGNATURES = {
    b"%PDF-": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (DOCX/ODT are ZIP archives)",
    b"\xd0\xcf\x11\xe0": "an OLE file (DOC/XLS)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
    b"\x7fELF": "an executable program",
}
WHITESPACE_CONTROLS = set("\t\n\r\f\v")
# share of control characters above which decoded bytes are not text
MAX_CONTROL_SHARE = 0.05


class DocumentError(ValueError):
    """A document that cannot be annotated; the message names the reason."""


@dataclass
class Document:
    id: str | int
    text: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    encoding: str | None = None
    error: str | None = None
    # PDF: each page's start offset in ``text``
    pages: list[int] | None = None
    # said in the output record: what of the file did not make it into ``text``
    warning: str | None = None


def document_from_bytes(doc_id: str | int, data: bytes, origin: str) -> Document:
    """A file's document: PDF and DOCX by their content (whatever the name), else decoded text.

    A file that cannot be read gives a Document with an error naming ``origin``.
    """
    try:
        if PDF_MAGIC in data[:1024]:
            got, encoding = extract_pdf(data), "pdf"
        elif looks_like_docx(data) or (origin.lower().endswith(".docx") and data.startswith((ZIP_MAGIC, OLE_MAGIC))):
            got, encoding = extract_docx(data), "docx"
        else:
            text, encoding = decode_text(data)
            return Document(doc_id, text=text, encoding=encoding)
    except (DocumentError, ExtractionError) as err:
        return Document(doc_id, error=f"{origin}: {err}")
    warnings = []
    if got.pages_without_text:
        listed = ", ".join(map(str, got.pages_without_text))
        warnings.append(f"page(s) {listed} are images without a text layer (not annotated); OCR them to include them")
    if got.removed_lines:
        warnings.append(f"{got.removed_lines} running header/footer line(s) left out")
    return Document(doc_id, text=got.text, encoding=encoding, pages=got.pages, warning="; ".join(warnings) or None)


def decode_text(data: bytes) -> tuple[str, str]:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252 / Latin-1.

    Raises DocumentError for binary data. Returns the text and the encoding used.
    """
    for magic, kind in BINARY_SIGNATURES.items():
        if data.startswith(magic):
            raise DocumentError(f"binary file ({kind}), not text: convert it to text first")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as err:
            raise DocumentError(f"UTF-16 byte-order mark but invalid UTF-16: {err}") from None
    if b"\x00" in data:
        raise DocumentError("binary file (NUL bytes), not text")
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        # Brazilian court systems still export Windows-1252 / ISO-8859-1; cp1252 leaves 5
        # bytes undefined, which Latin-1 maps to C1 controls
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "latin-1"
    sample = text[:20000]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in WHITESPACE_CONTROLS)
    if sample and controls / len(sample) > MAX_CONTROL_SHARE:
        raise DocumentError(f"binary file ({controls} control characters in its first {len(sample)}), not text")
    return text, encoding


def parse_jsonl_line(line: str, doc_id: int, origin: str) -> Document:
    where = f"{origin} line {doc_id}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        return Document(doc_id, error=f"{where}: invalid JSON ({err})")
    if not isinstance(record, dict):
        return Document(doc_id, error=f"{where}: expected a JSON object, got {type(record).__name__}")
    text = record.pop("text", None)
    if not isinstance(text, str):
        problem = 'no "text" field' if text is None else f'"text" is {type(text).__name__}, not a string'
        return Document(doc_id, fields=record, error=f"{where}: {problem}")
    return Document(doc_id, text=text, fields=record)


def read_jsonl(lines: Iterable[bytes], origin: str, first_number: int = 1) -> Iterator[Document]:
    """One document per non-blank line; the id is the line number (``first_number`` for the first line)."""
    for number, raw in enumerate(lines, start=first_number):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as err:
            yield Document(number, error=f"{origin} line {number}: not UTF-8 ({err})")
            continue
        yield parse_jsonl_line(line, number, origin)


def read_stdin() -> Iterator[Document]:
    """stdin is JSONL when its first non-blank line is a JSON object, else one text document "-"."""
    data = sys.stdin.buffer.read()
    lines = data.splitlines()
    first = next((line for line in lines if line.strip()), b"")
    try:
        looks_jsonl = isinstance(json.loads(first), dict)
    except ValueError:
        looks_jsonl = False
    if looks_jsonl:
        yield from read_jsonl(iter(lines), "stdin")
        return
    yield document_from_bytes("-", data, "stdin")
