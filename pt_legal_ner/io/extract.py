"""Text out of PDF (its text layer, through PDFium) and DOCX (python-docx), with page starts.

Why these libraries: pypdfium2 (Apache-2.0/BSD-3) wraps Chrome's PDFium, which reads a
300-page judgment in about a second and marks the hyphens it sees at line ends; PyMuPDF is as
fast but AGPL, pdfplumber/pdfminer are MIT but pure Python and many times slower. python-docx
(MIT) reads the body of a DOCX in document order.

What the extracted text is (offsets in annotate's output refer to it, and the record carries it):
- PDF: each page's text with lines joined by "\\n" and pages by "\\n"; ``pages`` holds each
  page's start offset. A line at the top or bottom of most pages (digits ignored, so "Página 3
  de 9" counts) is a running header or footer and is left out. A word that PDFium says was
  hyphenated at a line end is joined ("pro-/cesso" -> "processo"), but keeps its hyphen
  where Portuguese keeps one: before a capital or digit ("Decreto-/Lei") and before a clitic
  pronoun ("manifestou-/se").
- PDF pages without a usable text layer (scans; ``page_kind``) are read by OCR where asked and
  Tesseract is installed (pt_legal_ner/io/ocr.py): their text is Tesseract's lines, a word
  hyphenated at a line end joined as above, and ``ocr_pages``/``ocr_words`` say which pages
  and each word's place and confidence. Without OCR such pages are left out and named.
- DOCX: the body's paragraphs and tables in order (cells by tabs, rows and paragraphs by
  "\\n"); page headers, footers, footnotes and comments are not read; DOCX has no fixed pages,
  so ``pages`` is None.
"""

import io
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pt_legal_ner.io.limits import DEFAULT_LIMITS, MIB, Limits, check
from pt_legal_ner.io.ocr import DEFAULT_OCR, Ocr, missing, read_pages
from pt_legal_ner.io.ocr_text import Word, keeps_hyphen, shifted

PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
# PDFium's stand-in for a hyphen it found at a line end (the line break is gone with it)
PDFIUM_LINE_END_HYPHEN = "\ufffe"
# readers look for %%EOF in the last 1024 bytes (PDF 1.7, 7.5.5 note): without it, bytes are missing
EOF_WINDOW = 1024
# lines at each page's top and bottom that may be running headers or footers
EDGE_LINES = 2
# a line must repeat at the same edge on more than this share of the pages to be a header or
# footer: headers often skip the first page, and a body line may open two pages of four
REPEAT_SHARE = 0.6
IMAGE_OBJECT = 3  # FPDF_PAGEOBJ_IMAGE
# an image over this share of a page makes it a scan (--ocr auto), unless the text layer holds
# MIN_LETTERS_OVER_IMAGE letters or more: an OCRed scan carries its words, a stamp a few
COVERED = 0.5
MIN_LETTERS_OVER_IMAGE = 200
# a text layer with more than this share of characters no font maps to Unicode is garbage
GARBAGE_SHARE = 0.1
MIN_VOWEL_SHARE = 0.2
# members smaller than this are not held to max_ratio: small XML parts compress very well
RATIO_FLOOR = MIB
PDF_HINT = "pip install 'pypdfium2>=4.30'"
DOCX_HINT = "pip install 'python-docx>=1.1'"


class ExtractionError(ValueError):
    """A PDF or DOCX whose text cannot be had; the message says why and what to do."""


@dataclass
class Extracted:
    text: str
    pages: list[int] | None = None
    # header/footer lines left out, pages without a text layer (not OCRed): said in the output record
    removed_lines: int = 0
    pages_without_text: tuple[int, ...] = ()
    # pages whose text OCR read, its words' (start, end, confidence) in ``text``, what it said of pages
    ocr_pages: tuple[int, ...] = ()
    ocr_words: list[Word] = field(default_factory=list)
    ocr_notes: tuple[str, ...] = ()


def looks_like_docx(data: bytes) -> bool:
    if not data.startswith(ZIP_MAGIC):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def extract_pdf(
    data: bytes, limits: Limits = DEFAULT_LIMITS, ocr: Ocr = DEFAULT_OCR, alive: Callable[[], None] | None = None
) -> Extracted:
    """The text of a PDF: its text layer, and OCR of the pages ``ocr`` says (pt_legal_ner/io/ocr.py);
    raises ExtractionError for an encrypted, damaged or unreadable one, LimitExceeded past
    ``limits.max_pages`` or ``max_chars`` (checked page by page). ``alive()`` is called before OCR
    and after each OCRed page."""
    try:
        import pypdfium2
    except ImportError:
        raise ExtractionError(f"reading PDF needs pypdfium2: {PDF_HINT}") from None
    if PDF_MAGIC not in data[:1024]:
        raise ExtractionError("not a PDF (no %PDF- header)")
    if b"%%EOF" not in data[-EOF_WINDOW:]:
        raise ExtractionError("truncated PDF: no %%EOF at its end, so part of it is missing; get the whole file")
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as err:
        if "password" in str(err).lower():
            raise ExtractionError("encrypted PDF (it needs a password): decrypt it first (qpdf --decrypt)") from None
        raise ExtractionError(f"damaged PDF ({err})") from None
    unable = None if ocr.mode == "never" else missing(ocr.language)
    if ocr.mode == "always" and unable:
        pdf.close()
        raise ExtractionError(f"--ocr always, but {unable}")
    reading = "never" if unable else ocr.mode
    try:
        check("pages", len(pdf), "max_pages", limits)
        page_lines, scanned, to_read, chars = [], [], [], 0
        for number, page in enumerate(pdf, start=1):
            textpage = page.get_textpage()
            raw = textpage.get_text_range() if textpage.count_chars() else ""
            textpage.close()
            chars += len(raw)
            check(f"characters in the first {number} pages", chars, "max_chars", limits)
            kind = page_kind(raw, lambda page=page: _image_share(page), reading)
            page.close()
            (to_read if kind == "ocr" else scanned if kind == "scan" else []).append(number)
            page_lines.append([] if kind == "ocr" else _lines(raw))  # an OCRed page's text comes later
        if to_read and alive is not None:
            alive()  # the text layer is read: OCR's pages each have their own time
        reads = read_pages(pdf, to_read, ocr, limits.max_read_seconds, alive) if to_read else {}
    finally:
        pdf.close()
    read = {n: r.text for n, r in reads.items() if r.text is not None}
    if not read and not any(line.strip() for lines in page_lines for line in lines):
        if scanned:
            why = "--ocr never was given" if ocr.mode == "never" else unable
            raise ExtractionError(f"no text layer: its {len(scanned)} page(s) are images (a scan), and {why}")
        if reads:
            notes = "; ".join(note for r in reads.values() for note in r.notes)
            raise ExtractionError(f"OCR found no text in its {len(reads)} page(s): {notes}")
    removed = _drop_running_lines(page_lines)
    texts = [read[n].text if n in read else _join_hyphenated("\n".join(lines)) for n, lines in enumerate(page_lines, 1)]
    starts, words, position = [], [], 0
    for number, text in enumerate(texts, start=1):
        starts.append(position)
        if number in read:
            words += shifted(read[number].words, position)
        position += len(text) + 1
    check("characters", position - 1, "max_chars", limits)
    notes = tuple(note for n in sorted(reads) for note in reads[n].notes)
    return Extracted("\n".join(texts), starts, removed, tuple(scanned), tuple(sorted(read)), words, notes)


def page_kind(raw: str, image_share: Callable[[], float], mode: str) -> str:
    """ "ocr" (OCR reads the page), "scan" (an image without text, left out) or "text".

    ``--ocr auto`` reads a page whose text layer is unusable: no letters, or garbage (a font
    without a Unicode map), on a page with an image or with text; or one an image mostly covers
    whose text layer holds little (a stamp on a scan). ``image_share()`` is asked only then.
    """
    if mode == "always":
        return "ocr"
    letters = sum(ch.isalpha() for ch in raw)
    if letters >= MIN_LETTERS_OVER_IMAGE and usable_text(raw):
        return "text"
    share = image_share()
    if mode == "auto" and (
        (share >= COVERED and letters < MIN_LETTERS_OVER_IMAGE) or ((share > 0 or raw.strip()) and not usable_text(raw))
    ):
        return "ocr"
    return "scan" if share > 0 and not raw.strip() else "text"


def usable_text(raw: str) -> bool:
    """Text a reader can use: it has letters, few characters no font maps to Unicode (private use,
    unassigned, controls), and, where it has 100 Latin letters or more, vowels among them as
    Portuguese has (~45%; under 20% is glyph numbers read as letters)."""
    shown = [ch for ch in raw if not ch.isspace() and ch != PDFIUM_LINE_END_HYPHEN]
    if not any(ch.isalpha() for ch in shown):
        return False
    odd = sum(ch == "\ufffd" or unicodedata.category(ch) in ("Co", "Cn", "Cs", "Cc") for ch in shown)
    if odd > GARBAGE_SHARE * len(shown):
        return False
    latin = [ch for ch in unicodedata.normalize("NFD", "".join(shown)).lower() if "a" <= ch <= "z"]
    vowels = sum(ch in "aeiou" for ch in latin)
    return len(latin) < 100 or vowels >= MIN_VOWEL_SHARE * len(latin)


def _image_share(page) -> float:
    """The share of the page that its largest image covers (0.0 without images)."""
    width, height = page.get_size()
    largest = 0.0
    for obj in page.get_objects():
        if obj.type == IMAGE_OBJECT:
            left, bottom, right, top = obj.get_bounds()
            largest = max(largest, max(right - left, 0) * max(top - bottom, 0))
    return min(largest / max(width * height, 1.0), 1.0) if largest else 0.0


def _lines(raw: str) -> list[str]:
    return raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()))


def _edges(lines: list[str]) -> tuple[list[int], list[int]]:
    """Indices of a page's first and last EDGE_LINES non-blank lines."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return filled[:EDGE_LINES], filled[-EDGE_LINES:] if len(filled) > EDGE_LINES else []


def _drop_running_lines(pages: list[list[str]]) -> int:
    """Leave out lines repeated at the same edge of most pages; returns how many went."""
    texted = [lines for lines in pages if any(line.strip() for line in lines)]
    if len(texted) < 2:
        return 0
    need = max(2, int(len(texted) * REPEAT_SHARE) + 1)
    counts: list[Counter] = [Counter(), Counter()]
    for lines in texted:
        for edge, indices in enumerate(_edges(lines)):
            counts[edge].update({_edge_key(lines[i]) for i in indices})
    removed = 0
    for lines in pages:
        edges = enumerate(_edges(lines))
        drop = {i for edge, indices in edges for i in indices if counts[edge][_edge_key(lines[i])] >= need}
        removed += len(drop)
        lines[:] = [line for i, line in enumerate(lines) if i not in drop]
    return removed


def _join_hyphenated(text: str) -> str:
    parts = text.split(PDFIUM_LINE_END_HYPHEN)
    out = [parts[0]]
    for part in parts[1:]:
        follows = re.match(r"\w+", part)
        out.append(("-" if keeps_hyphen(follows.group(0) if follows else "") else "") + part)
    return "".join(out)


def extract_docx(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    """The body text of a DOCX; raises ExtractionError for an encrypted or damaged one,
    LimitExceeded for an archive over ``limits`` (checked before anything is inflated)."""
    if data.startswith(OLE_MAGIC):
        raise ExtractionError("encrypted DOCX (Word keeps those in an OLE container): save it without a password")
    try:
        import docx
        from docx.table import Table
    except ImportError:
        raise ExtractionError(f"reading DOCX needs python-docx: {DOCX_HINT}") from None
    check_archive(data, limits)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = []
        for block in document.iter_inner_content():
            blocks.append(_table_text(block) if isinstance(block, Table) else block.text)
    except MemoryError:  # the reader process's cap: it names the limit
        raise
    except Exception as err:  # zipfile's, lxml's and python-docx's own errors alike
        raise ExtractionError(f"damaged DOCX ({type(err).__name__}: {err})") from None
    text = "\n".join(blocks)
    check("characters", len(text), "max_chars", limits)
    return Extracted(text)


def check_archive(data: bytes, limits: Limits) -> None:
    """Refuse a ZIP whose members, as its directory declares them, are too many or inflate too far.

    The declared sizes can be trusted: Python's zipfile stops inflating a member at its declared
    size, and a member that would inflate further fails its CRC check (damaged DOCX).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as err:
        raise ExtractionError(f"damaged DOCX ({err})") from None
    check("members in the archive", len(members), "max_parts", limits)
    check("bytes inflated", sum(m.file_size for m in members), "max_inflated", limits)
    for member in members:
        if member.file_size >= RATIO_FLOOR:
            ratio = member.file_size // max(member.compress_size, 1)
            check(f"inflation ratio of {member.filename}", ratio, "max_ratio", limits)


def _table_text(table) -> str:
    rows = []
    for row in table.rows:
        seen, cells = set(), []
        for cell in row.cells:  # a merged cell comes back once per grid column it spans
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(cell.text)
        rows.append("\t".join(cells))
    return "\n".join(rows)
