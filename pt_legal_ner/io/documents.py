"""Documents to annotate: decoding text files, PDF and DOCX, parsing JSONL lines, stdin.

A document that cannot be read carries its error instead of text, so it gets an output line
rather than silence. Which files are read, and the ids, are pt_legal_ner/io/inputs.py's.
"""

import itertools
import json
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from pt_legal_ner.io.extract import OLE_MAGIC, PDF_MAGIC, ZIP_MAGIC, ExtractionError
from pt_legal_ner.io.limits import DEFAULT_LIMITS, LimitExceeded, Limits, check
from pt_legal_ner.io.ocr import DEFAULT_OCR, Ocr
from pt_legal_ner.io.ocr_text import Word
from pt_legal_ner.io.reader_process import shared_reader

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
    # said in the output record: what of the file did not make it into ``text``, what OCR said
    warning: str | None = None
    # PDF: the pages OCR read (1-based) and its words' (start, end, confidence 0-100) in ``text``
    ocr_pages: tuple[int, ...] = ()
    ocr_words: list[Word] = field(default_factory=list)


def document_from_bytes(
    doc_id: str | int, data: bytes, origin: str, limits: Limits = DEFAULT_LIMITS, ocr: Ocr = DEFAULT_OCR
) -> Document:
    """A file's document: PDF and DOCX by their content (whatever the name), else decoded text.

    A file that cannot be read, for whatever reason, gives a Document with an error naming
    ``origin``. PDF and DOCX are read in the reader process (pt_legal_ner/io/reader_process.py),
    a PDF's pages OCRed as ``ocr`` says.
    """
    try:
        return _document(doc_id, data, origin, limits, ocr)
    except (DocumentError, ExtractionError, LimitExceeded) as err:
        return Document(doc_id, error=f"{origin}: {err}")
    except Exception as err:  # one file's failure is its own error line, never the run's
        return Document(doc_id, error=f"{origin}: cannot be read ({type(err).__name__}: {err})")


def _document(doc_id: str | int, data: bytes, origin: str, limits: Limits, ocr: Ocr) -> Document:
    check("bytes", len(data), "max_bytes", limits)
    if PDF_MAGIC in data[:1024]:
        kind = "pdf"
    elif origin.lower().endswith(".docx") and data.startswith((ZIP_MAGIC, OLE_MAGIC)):
        kind = "docx"  # read as a DOCX even when damaged, so the error says what is wrong with it
    else:
        kind = "zip" if data.startswith(ZIP_MAGIC) else None
    got = shared_reader().extract(kind, data, limits, ocr) if kind else None
    if got is None:  # text, or a ZIP that holds no DOCX (decode_text names it)
        text, encoding = decode_text(data)
        check("characters", len(text), "max_chars", limits)
        return Document(doc_id, text=text, encoding=encoding)
    warnings = []
    if got.pages_without_text:
        listed = ", ".join(map(str, got.pages_without_text))
        warnings.append(f"page(s) {listed} are images without a text layer, not OCRed (not annotated; see --ocr)")
    if got.removed_lines:
        warnings.append(f"{got.removed_lines} running header/footer line(s) left out")
    warnings += got.ocr_notes
    return Document(
        doc_id,
        text=got.text,
        encoding="pdf" if kind == "pdf" else "docx",
        pages=got.pages,
        warning="; ".join(warnings) or None,
        ocr_pages=got.ocr_pages,
        ocr_words=got.ocr_words,
    )


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


# an estimate of the Python objects a JSON value adds beyond its bytes (an empty dict and the list
# slot that holds it: 72 bytes from the 3 bytes of "{},")
PARSED_BYTES_PER_VALUE = 72


def parsed_size(line: bytes | str) -> int:
    """An upper estimate of the memory ``json.loads(line)`` takes, counted without parsing."""
    if isinstance(line, str):
        line = line.encode("utf-8", "surrogatepass")
    values = sum(line.count(sign) for sign in (b"{", b"[", b",", b":"))
    return 4 * len(line) + PARSED_BYTES_PER_VALUE * values


def parse_jsonl_line(line: str, doc_id: int, origin: str, limits: Limits = DEFAULT_LIMITS) -> Document:
    """The line's document; whatever is wrong with the line (JSON, a number too long for Python,
    nesting, its parsed size) is this document's error, never the run's."""
    where = f"{origin} line {doc_id}"
    # cheap bound first: only lines that could be over the limit are counted
    if (4 + PARSED_BYTES_PER_VALUE) * len(line) > limits.max_parsed and parsed_size(line) > limits.max_parsed:
        error = LimitExceeded("estimated memory once parsed", parsed_size(line), "max_parsed", limits)
        return Document(doc_id, error=f"{where}: {error}")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        return Document(doc_id, error=f"{where}: invalid JSON ({err})")
    except RecursionError:
        return Document(doc_id, error=f"{where}: invalid JSON (nested too deeply)")
    except Exception as err:  # JSONDecodeError, and ValueError for an integer of over 4,300 digits
        return Document(doc_id, error=f"{where}: invalid JSON ({type(err).__name__}: {err})")
    if not isinstance(record, dict):
        return Document(doc_id, error=f"{where}: expected a JSON object, got {type(record).__name__}")
    text = record.pop("text", None)
    if not isinstance(text, str):
        problem = 'no "text" field' if text is None else f'"text" is {type(text).__name__}, not a string'
        return Document(doc_id, fields=record, error=f"{where}: {problem}")
    if len(text) > limits.max_chars:
        error = LimitExceeded('characters of "text"', len(text), "max_chars", limits)
        return Document(doc_id, fields=record, error=f"{where}: {error}")
    return Document(doc_id, text=text, fields=record)


def bounded_lines(stream: IO[bytes], max_bytes: int) -> Iterator[tuple[bytes | None, int]]:
    """(line, its size in bytes) of a binary stream, with None for a line over ``max_bytes``
    (read past in pieces, never held whole)."""
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        if line.endswith(b"\n") or len(line) <= max_bytes:
            yield line, len(line)
            continue
        size = len(line)
        while not line.endswith(b"\n"):
            line = stream.readline(1024 * 1024)
            if not line:
                break
            size += len(line)
        yield None, size


def read_jsonl(
    lines: Iterable[tuple[bytes | None, int]], origin: str, first_number: int = 1, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Document]:
    """One document per non-blank line of ``bounded_lines``; the id is the line number
    (``first_number`` for the first line)."""
    for number, (raw, size) in enumerate(lines, start=first_number):
        if raw is None:
            error = LimitExceeded("bytes in the line", size, "max_bytes", limits)
            yield Document(number, error=f"{origin} line {number}: {error}")
            continue
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as err:
            yield Document(number, error=f"{origin} line {number}: not UTF-8 ({err})")
            continue
        yield parse_jsonl_line(line, number, origin, limits)


def read_stdin(limits: Limits = DEFAULT_LIMITS, ocr: Ocr = DEFAULT_OCR) -> Iterator[Document]:
    """stdin is JSONL when its first non-blank line is a JSON object, else one text document "-"."""
    stream = sys.stdin.buffer
    lines = bounded_lines(stream, limits.max_bytes)
    head = []
    for line, size in lines:
        head.append((line, size))
        if line is None or line.strip():
            break
    first = head[-1][0] if head else b""
    try:
        looks_jsonl = first is not None and isinstance(json.loads(first), dict)
    except (ValueError, RecursionError):
        looks_jsonl = False
    if looks_jsonl:
        yield from read_jsonl(itertools.chain(head, lines), "stdin", limits=limits)
        return
    data = b"".join(line for line, _ in head if line is not None)
    if first is not None:
        data += stream.read(limits.max_bytes + 1 - len(data))
    if first is None or len(data) > limits.max_bytes:
        error = LimitExceeded("bytes read", max(len(data), limits.max_bytes + 1), "max_bytes", limits)
        yield Document("-", error=f"stdin: {error}")
        return
    yield document_from_bytes("-", data, "stdin", limits, ocr)
