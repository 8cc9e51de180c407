"""OCR of scanned decisions (issue 30), through the package's own reading path: how well and how fast.

Known texts (the example decision, the first raw LeNER-Br texts) are laid out as A4 pages (DejaVu
Serif 11 pt, lines as wide as 1-inch margins leave, 50 lines a page) and drawn at each resolution
as image-only PDFs; a page is clean, noisy (1% of pixels flipped and a slight blur, as a
photocopy), skewed 1.5°, or turned 90°. Each PDF is read as `annotate` reads it
(``document_from_bytes`` with ``--ocr auto``: the reader process, PDFium drawing each page,
Tesseract's hOCR) and compared with the page's own lines: character error rate (edit distance
over characters, whitespace runs as one space), word error rate, and entity F1: the pipeline's
entities in the OCRed text against its entities in the original text (label and words must
match, whitespace and signs that print alike ("n°"/"nº", quotes, dashes) aside; counted as
multisets, page by page, since offsets differ).
Speed: pages/s of OCR alone with 1 and 2 workers, and of OCR and NER together (``annotate`` on a
folder of the clean scans, one PDF per text and one per page: workers share a PDF's pages).
``--ocrmypdf`` adds ocrmypdf (its text layer read back by PDFium) on the same clean pages, the
other way the issue names.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import typer
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from scripts.evaluation.evaluate_windows import strided_windows
from scripts.provenance import git_commit, hardware
from scripts.venvs import pinned_python

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
A4 = (8.27, 11.69)  # inches
MARGIN = 1.0  # inch, on each side
CONDITIONS = ("clean", "noise", "skew", "rot90")


def pages_of(text: str, lines_per_page: int = 50) -> list[list[str]]:
    """A text's lines, wrapped as a typewriter would (words whole, no hyphen added) to the width
    between the margins, in pages."""
    font = _font(110)  # 11 pt at 720 dpi: widths in tenths of a point
    width = (A4[0] - 2 * MARGIN) * 720
    lines = []
    for paragraph in text.splitlines():
        line = ""
        for word in paragraph.split():
            longer = f"{line} {word}" if line else word
            if line and font.getlength(longer) > width:
                lines.append(line)
                longer = word
            line = longer
        if line:
            lines.append(line)
    return [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)]


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:  # no DejaVu (Debian's fonts-dejavu-core): Pillow's own
        return ImageFont.load_default(size)


def draw(lines: list[str], dpi: int, condition: str, seed: int = 0) -> Image.Image:
    size = (round(A4[0] * dpi), round(A4[1] * dpi))
    page = Image.new("L", size, 255)
    font = _font(round(11 / 72 * dpi))
    ink = ImageDraw.Draw(page)
    margin, step = round(MARGIN * dpi), round(14 / 72 * dpi)
    for i, line in enumerate(lines):
        ink.text((margin, margin + i * step), line, font=font, fill=0)
    if condition == "noise":
        rng = random.Random(seed)
        pixels = page.load()
        for _ in range(size[0] * size[1] // 100):  # 1% of pixels flipped
            x, y = rng.randrange(size[0]), rng.randrange(size[1])
            pixels[x, y] = 255 - pixels[x, y]
        page = page.filter(ImageFilter.GaussianBlur(dpi / 300))
    elif condition == "skew":
        page = page.rotate(1.5, expand=False, fillcolor=255, resample=Image.BILINEAR)
    elif condition == "rot90":
        page = page.rotate(90, expand=True, fillcolor=255)
    return page


def image_pdf(pages: list[list[str]], dpi: int, condition: str = "clean") -> bytes:
    """An image-only PDF: one drawn page per list of lines, as a scanner makes them."""
    images = [draw(lines, dpi, condition, seed=n) for n, lines in enumerate(pages)]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return out.getvalue()


def edit_distance(a: list | str, b: list | str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def error_rates(reference: str, hypothesis: str) -> tuple[float, float]:
    """(character error rate, word error rate), whitespace runs counted as one space."""
    ref, hyp = " ".join(reference.split()), " ".join(hypothesis.split())
    cer = edit_distance(ref, hyp) / max(len(ref), 1)
    wer = edit_distance(ref.split(), hyp.split()) / max(len(ref.split()), 1)
    return cer, wer


def page_texts(text: str, starts: list[int]) -> list[str]:
    ends = [s - 1 for s in starts[1:]] + [len(text)]
    return [text[s:e] for s, e in zip(starts, ends, strict=True)]


# signs that print alike, so that a page cannot tell them apart: "n°" and "nº", quotes, dashes
ALIKE = str.maketrans({"°": "º", "“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})


def words_of(text: str) -> str:
    """The text as entities are compared: whitespace runs as one space, signs that print alike as one."""
    return " ".join(text.split()).translate(ALIKE)


def entities(nlp, texts: list[str]) -> list[Counter]:
    """Per text, (label, words) of each of its entities, as a multiset."""
    return [Counter((e.label_, words_of(e.text)) for e in doc.ents) for doc in nlp.pipe(texts)]


def read_right(missed: Counter, text: str) -> int:
    """How many of the ``missed`` entities have their words in ``text`` as they were: OCR read
    them right, and the pipeline found them no more in the text around them."""
    words = words_of(text)
    return sum(n for (_, found), n in missed.items() if found in words)


def f1(reference: list[Counter], found: list[Counter]) -> tuple[float, float, float]:
    """(precision, recall, F1) of ``found`` against ``reference``, page by page."""
    hits = sum(sum((r & f).values()) for r, f in zip(reference, found, strict=True))
    p = hits / max(sum(sum(f.values()) for f in found), 1)
    r = hits / max(sum(sum(x.values()) for x in reference), 1)
    return p, r, 2 * p * r / max(p + r, 1e-9)


def read_scan(data: bytes, workers: int):
    from pt_legal_ner.io.documents import document_from_bytes
    from pt_legal_ner.io.ocr import Ocr

    start = time.perf_counter()
    document = document_from_bytes("scan", data, "scan.pdf", ocr=Ocr("auto", workers))
    if document.error:
        raise SystemExit(f"OCR failed: {document.error}")
    return document, time.perf_counter() - start


def annotate_folder(nlp, folder: Path, workers: int) -> float:
    """Seconds `annotate` (reading with OCR, then NER) takes over the PDFs of ``folder``."""
    from pt_legal_ner.annotation.records import annotate
    from pt_legal_ner.io.inputs import open_documents
    from pt_legal_ner.io.ocr import Ocr

    out = folder / "out.jsonl"
    start = time.perf_counter()
    summary = annotate(nlp, open_documents([str(folder)], "*.pdf", ocr=Ocr("auto", workers))[1], out)
    seconds = time.perf_counter() - start
    out.unlink()
    if summary.errors:
        raise SystemExit(f"{summary.errors} scans failed in annotate")
    return seconds


def ocrmypdf_row(exe: Path, data: bytes, references: list[str]) -> tuple[float, float, float]:
    """(CER, WER, pages/s) of ocrmypdf on the same scan, its text layer read by PDFium."""
    from pt_legal_ner.io.extract import extract_pdf
    from pt_legal_ner.io.ocr import NO_OCR

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder, "in.pdf"), Path(folder, "out.pdf")
        source.write_bytes(data)
        start = time.perf_counter()
        args = [str(exe), "-l", "por", "--output-type", "pdf", "--jobs", "1", "--rotate-pages", "--quiet"]
        subprocess.run([*args, str(source), str(target)], check=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
        seconds = time.perf_counter() - start
        got = extract_pdf(target.read_bytes(), ocr=NO_OCR)
    rates = [error_rates(r, h) for r, h in zip(references, page_texts(got.text, got.pages), strict=True)]
    return sum(c for c, _ in rates) / len(rates), sum(w for _, w in rates) / len(rates), len(references) / seconds


def strided_note(nlp, references: list[str], read: list[str], dpi: int) -> list[str]:
    """The entity F1 of the same pipeline with strided token windows, as a line; none where its
    windows are strided already (an older pipeline)."""
    with strided_windows(nlp) as swapped:
        if not swapped:
            return []
        strided = f1(entities(nlp, references), entities(nlp, read))[2]
    typer.echo(f"  with strided token windows: entity F1 {100 * strided:.2f}", err=True)
    return [f"{dpi} dpi clean, the same pipeline with strided token windows: entity F1 {100 * strided:.2f}"]


def scored(nlp, pages: list[list[str]], dpis: list[int], workers: int, notes: list[str]) -> list[tuple]:
    """(dpi, condition, CER, WER, entities, missed, read right, (P, R, F1), pages/s) per dpi and
    condition; ``notes`` gets the clean pages' entity F1 with strided token windows."""
    references = ["\n".join(lines) for lines in pages]
    original = entities(nlp, references) if nlp else None
    rows = []
    for dpi in dpis:
        for condition in CONDITIONS:
            document, seconds = read_scan(image_pdf(pages, dpi, condition), workers)
            read = page_texts(document.text, document.pages)
            rates = [error_rates(r, h) for r, h in zip(references, read, strict=True)]
            cer, wer = sum(c for c, _ in rates) / len(rates), sum(w for _, w in rates) / len(rates)
            if nlp:
                found = entities(nlp, read)
                missed = [o - f for o, f in zip(original, found, strict=True)]
                right = sum(read_right(m, text) for m, text in zip(missed, read, strict=True))
                counts = (sum(sum(o.values()) for o in original), sum(sum(m.values()) for m in missed), right)
                score = f1(original, found)
                if condition == "clean":
                    notes += strided_note(nlp, references, read, dpi)
            else:
                counts, score = (0, 0, 0), None
            rows.append((dpi, condition, cer, wer, *counts, score, len(pages) / seconds))
            typer.echo(f"{dpi} dpi {condition}: CER {100 * cer:.2f}% F1 {score} {counts}", err=True)
    return rows


def table(rows: list[tuple]) -> list[str]:
    head = f"{'dpi':>4} {'condition':>9} {'CER':>7} {'WER':>7} {'ents':>5} {'missed':>6} {'read right':>10}"
    lines = [head + f" {'ent P':>6} {'ent R':>6} {'ent F1':>6} {'pages/s':>8}"]
    for dpi, condition, cer, wer, n, missed, right, score, rate in rows:
        p, r, f = (f"{100 * v:6.2f}" for v in score) if score else ("     -",) * 3
        lines.append(
            f"{dpi:>4} {condition:>9} {100 * cer:6.2f}% {100 * wer:6.2f}% {n:>5} {missed:>6} {right:>10}"
            f" {p} {r} {f} {rate:8.2f}"
        )
    return lines


def main(
    raw_texts: Path = typer.Argument(..., exists=True, file_okay=False, help="LeNER-Br raw_text folder"),
    example: Path = typer.Option(None, exists=True, help="another decision text, read before the raw texts"),
    model: Path = typer.Option(None, exists=True, help="pipeline for entity F1 and annotate's speed"),
    output: Path = typer.Option(Path("metrics/benchmark_ocr.txt")),
    docs: int = typer.Option(18, help="raw texts besides the example (ocr_fixes.py's corrections came from these)"),
    held_out_docs: int = typer.Option(12, help="further raw texts, scored apart at 300 dpi"),
    held_out_start: int = typer.Option(None, help="the first held-out raw text (default: the one after the docs)"),
    pages_per_doc: int = typer.Option(2, help="first pages of each text"),
    dpis: str = typer.Option("200,300", help="resolutions the pages are drawn at (the issue: 200-300 dpi)"),
    workers: int = typer.Option(2, help="OCR workers for the error rates (speed is measured with 1 and this)"),
    ocrmypdf: str = typer.Option(
        None, help="compare this ocrmypdf release (e.g. ocrmypdf==17.13.0) on the clean pages"
    ),
    venvs: Path = typer.Option(Path(".venvs/benchmark-ocr"), help="where ocrmypdf's venv is made"),
) -> None:
    import spacy

    import pt_legal_ner  # noqa: F401  (registers the pipeline's components)

    texts = [example.read_text(encoding="utf-8")] if example else []
    raw = sorted(raw_texts.glob("*.txt"))
    texts += [p.read_text(encoding="utf-8") for p in raw[:docs]]
    first = docs if held_out_start is None else held_out_start
    held_out = [pages_of(p.read_text(encoding="utf-8"))[:pages_per_doc] for p in raw[first : first + held_out_docs]]
    per_text = [pages_of(text)[:pages_per_doc] for text in texts]
    pages = [page for text_pages in per_text for page in text_pages]
    nlp = spacy.load(model) if model else None
    notes: list[str] = []
    rows = scored(nlp, pages, list(map(int, dpis.split(","))), workers, notes)
    held_pages = [page for text_pages in held_out for page in text_pages]
    held_notes: list[str] = []
    held_rows = scored(nlp, held_pages, [300], workers, held_notes) if held_pages else []
    clean = image_pdf(pages, 300)
    speed = {n: len(pages) / read_scan(clean, n)[1] for n in sorted({1, workers})}
    end_to_end = {}
    for layout, files in (("one PDF per text", per_text), ("one PDF per page", [[p] for p in pages])):
        with tempfile.TemporaryDirectory() as folder:
            for n, file_pages in enumerate(files):
                Path(folder, f"scan{n:02d}.pdf").write_bytes(image_pdf(file_pages, 300))
            end_to_end[layout] = len(pages) / annotate_folder(nlp, Path(folder), workers) if nlp else None
    references = ["\n".join(lines) for lines in pages]
    other = ocrmypdf_row(pinned_python(venvs, ocrmypdf).parent / "ocrmypdf", clean, references) if ocrmypdf else None
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    lines = [
        "# OCR of image-only PDFs through `annotate`'s reading (--ocr auto): error rates, entity F1, pages/s",
        f"# `python -m scripts.benchmarks.benchmark_ocr {' '.join(sys.argv[1:])}` at {git_commit()}",
        f"# {hardware(-1)}; {version}, por model, one thread per worker; error rates and F1 with {workers} workers",
        f"# entity F1: {model}'s entities in the OCRed pages against its entities in the original pages (label and"
        " words, signs that print alike as one; page by page); 'read right': missed entities whose words OCR read"
        " exactly (the pipeline found them no more in the text around them)",
        "",
        f"## {len(pages)} pages ({sum(map(len, pages))} lines): the first {pages_per_doc} pages of"
        f" {'the example decision and ' if example else ''}{docs} raw LeNER-Br texts; ocr_fixes.py's corrections"
        " were found on these",
        *table(rows),
        *notes,
    ]
    if held_rows:
        lines += [
            "",
            f"## held out: {len(held_pages)} pages ({sum(map(len, held_pages))} lines) of raw texts {first + 1} to"
            f" {first + held_out_docs}, not looked at while writing the corrections or choosing the windows",
            *table(held_rows),
            *held_notes,
        ]
    lines += ["", "# speed on the clean 300 dpi pages"]
    lines += [f"OCR alone, {n} worker(s): {rate:.2f} pages/s" for n, rate in speed.items()]
    for layout, rate in end_to_end.items():
        if rate:
            lines.append(f"annotate (OCR with {workers} workers, then NER), {layout}: {rate:.2f} pages/s")
    if other:
        lines.append(
            f"{ocrmypdf} (--jobs 1, --rotate-pages; its text layer read by PDFium): CER {100 * other[0]:.2f}%,"
            f" WER {100 * other[1]:.2f}%, {other[2]:.2f} pages/s (no word confidences)"
        )
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    typer.echo("\n".join(lines))


if __name__ == "__main__":
    typer.run(main)
