"""OCR of PDF pages: PDFium draws the page, Tesseract (Debian's tesseract-ocr and -por) reads it.

Why Tesseract called directly (not ocrmypdf, not Python bindings): its hOCR output gives each
word's confidence and each line's turn, which a PDF made by ocrmypdf no longer holds; the
binary is all it needs (metrics/benchmark_ocr.txt measures both ways). Each page is drawn in
grey at ``dpi`` (300: at 150 dpi noisy pages read 3.4 times worse; benchmark_ocr) and handed to
Tesseract on stdin; one Tesseract per page, one thread each, ``workers`` at once.

A page is read with automatic layout (--psm 3); one read with a mean word confidence under
RETRY_BELOW (a page turned 90/180/270 degrees reads at ~40) is read again with orientation
detection (--psm 1), which turns it. Reading every page with --psm 1 costs ~20% more time.
What cannot be read (blank, too dark, a Tesseract that fails or overruns) is a note naming the
page, never an exception. Only the standard library here: the reader process imports it.
"""

import math
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pt_legal_ner.io.ocr_text import OcrText, parse_hocr

MODES = ("never", "auto", "always")
INSTALL_HINT = (
    "apt-get install tesseract-ocr tesseract-ocr-por (Debian, Ubuntu; elsewhere Tesseract 5 and its por model)"
)
DEFAULT_DPI = 300
# pixels of one drawn page at most: A3 at 300 dpi is 17 Mpx; a page of PDF's largest size
# (200 x 200 inches) would be 3.6 Gpx at 300 dpi, so it is drawn at less
MAX_PIXELS = 40_000_000
# a page with fewer dark pixels than this share is blank (a scanner's empty back side); one
# short word ("Vistos.") on A4 is ~0.0002
BLANK_SHARE = 0.0001
# mean word confidence (0-100) under which a page is read again with orientation detection
RETRY_BELOW = 60
# mean word confidence under which a page's note asks to check it
LOW_PAGE_CONFIDENCE = 70
DARK_BYTES = bytes(1 if value < 128 else 0 for value in range(256))


class OcrError(RuntimeError):
    """Tesseract failed on a page; the message is its reason."""


@dataclass(frozen=True)
class Ocr:
    """When to OCR a PDF's pages: never; auto (pages without a usable text layer, where Tesseract
    is installed); always (every page, its text layer ignored). ``workers``: pages read at once."""

    mode: str = "auto"
    workers: int = 1
    dpi: int = DEFAULT_DPI
    language: str = "por"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"OCR mode must be one of {', '.join(MODES)}; got {self.mode!r}")
        if self.workers < 1 or self.dpi < 50:
            raise ValueError(f"OCR needs workers >= 1 and dpi >= 50; got {self.workers} and {self.dpi}")


DEFAULT_OCR = Ocr()
NO_OCR = Ocr("never")
_models: dict[str, str] = {}


def missing(language: str = "por") -> str | None:
    """Why Tesseract cannot read ``language`` here (not installed, no model), or None."""
    exe = shutil.which("tesseract")
    if exe is None:
        return f"Tesseract is not installed: {INSTALL_HINT}"
    if exe not in _models:
        try:
            listed = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=60)
            _models[exe] = listed.stdout + listed.stderr
        except (OSError, subprocess.SubprocessError) as err:
            return f"Tesseract ({exe}) does not run ({err}): {INSTALL_HINT}"
    if language not in _models[exe].split():
        return f"Tesseract ({exe}) has no '{language}' model: {INSTALL_HINT}"
    return None


@dataclass
class PageRead:
    number: int
    text: OcrText | None
    notes: list[str] = field(default_factory=list)


def draw(page, dpi: int) -> tuple[bytes, float, int]:
    """The page in grey as a PGM image, the share of its dark pixels and the dpi it was drawn at."""
    width, height = page.get_size()  # points: 1/72 inch
    scale = min(dpi / 72, math.sqrt(MAX_PIXELS / max(width * height, 1.0)))
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        if bitmap.n_channels != 1:
            raise OcrError(f"PDFium drew the page in {bitmap.n_channels} channels, not grey")
        w, h, stride = bitmap.width, bitmap.height, bitmap.stride
        data = bytes(bitmap.buffer)
    finally:
        bitmap.close()
    if stride != w:
        data = b"".join(data[row * stride : row * stride + w] for row in range(h))
    dark = data.translate(DARK_BYTES).count(1) / max(len(data), 1)
    return b"P5\n%d %d\n255\n" % (w, h) + data, dark, max(round(scale * 72), 1)


def tesseract(image: bytes, dpi: int, psm: int, language: str, timeout: float) -> str:
    """Tesseract's hOCR of one image (one thread: the pool decides how many run)."""
    exe = shutil.which("tesseract") or "tesseract"
    args = [exe, "stdin", "stdout", "-l", language, "--dpi", str(dpi), "--psm", str(psm), "hocr"]
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    done = subprocess.run(args, input=image, capture_output=True, timeout=timeout, env=env)
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrError(f"tesseract exited with {done.returncode}: {said[-1] if said else 'no message'}")
    return done.stdout.decode("utf-8", "replace")


def read_page(number: int, image: bytes, dark: float, dpi: int, ocr: Ocr, timeout: float) -> PageRead:
    """One drawn page read; whatever goes wrong is a note naming the page."""
    if dark < BLANK_SHARE:
        return PageRead(number, None, [f"page {number} is blank (nothing to OCR)"])
    try:
        got = parse_hocr(tesseract(image, dpi, 3, ocr.language, timeout))
        if (got.mean_confidence or 0) < RETRY_BELOW:  # turned, or hard to read: with orientation detection
            again = parse_hocr(tesseract(image, dpi, 1, ocr.language, timeout))
            if (again.mean_confidence or 0) > (got.mean_confidence or 0):
                got = again
    except subprocess.TimeoutExpired:
        return PageRead(number, None, [f"page {number}: OCR took over {timeout:g} s (max_read_seconds); left out"])
    except (OcrError, ET.ParseError, OSError) as err:
        return PageRead(number, None, [f"page {number}: OCR failed ({err}); left out"])
    notes = []
    if not got.words:
        notes.append(f"page {number}: OCR found no text on it (too dark, blank or no writing)")
    elif got.mean_confidence < LOW_PAGE_CONFIDENCE:
        notes.append(f"page {number}: OCR read it with a mean word confidence of {got.mean_confidence:.0f}% (check it)")
    if got.rotation:
        notes.append(f"page {number} was turned {got.rotation} degrees; OCR read it upright")
    return PageRead(number, got if got.words else None, notes)


def read_pages(
    pdf, numbers: Iterable[int], ocr: Ocr, timeout: float, done: Callable[[], None] | None = None
) -> dict[int, PageRead]:
    """OCR the pages ``numbers`` (1-based) of an open pypdfium2 document, ``ocr.workers`` at once.

    Pages are drawn here, one at a time (PDFium is not thread-safe), while Tesseract reads the
    ones drawn before; at most ``workers + 1`` drawn pages are held. ``done()`` follows each page.
    """
    reads: dict[int, PageRead] = {}
    with ThreadPoolExecutor(ocr.workers, thread_name_prefix="ocr") as pool:
        pending: deque = deque()

        def collect() -> None:
            page_read = pending.popleft().result()
            reads[page_read.number] = page_read
            if done is not None:
                done()

        for number in numbers:
            page = pdf[number - 1]
            try:
                image, dark, dpi = draw(page, ocr.dpi)
            except Exception as err:  # PDFium that cannot draw it: the page's note
                reads[number] = PageRead(number, None, [f"page {number}: cannot be drawn for OCR ({err}); left out"])
                continue
            finally:
                page.close()
            pending.append(pool.submit(read_page, number, image, dark, dpi, ocr, timeout))
            del image
            while len(pending) > ocr.workers:
                collect()
        while pending:
            collect()
    return reads
