"""Groundwork for OCR of scanned decisions (issue 30): how well Tesseract's Portuguese model reads
decision text rendered to page images, by resolution and page condition, and how fast.

Known texts (the example decision, the first raw LeNER-Br texts) are laid out as A4 pages (DejaVu
Serif 11 pt, 80 characters a line, 50 lines a page) and drawn at each resolution; a page is then
clean, noisy (salt-and-pepper noise and a slight blur, as a photocopy), skewed 1.5°, or turned 90°.
Tesseract (called directly, TSV output, one thread: pages/s is per core) reads each; its words,
joined by the lines it found, are compared with the page's own lines: character error rate
(edit distance over characters, whitespace runs as one space) and word error rate.
Tesseract comes from Debian's packages (tesseract-ocr, tesseract-ocr-por); nothing here needs Python
bindings.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import typer
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from scripts.provenance import git_commit, hardware

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
A4 = (8.27, 11.69)  # inches
CONDITIONS = ("clean", "noise", "skew", "rot90")


def pages_of(text: str, width: int = 80, lines_per_page: int = 50) -> list[list[str]]:
    lines = [line for paragraph in text.splitlines() for line in (textwrap.wrap(paragraph, width) or [""])]
    lines = [line for line in lines if line.strip()]
    return [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)]


def draw(lines: list[str], dpi: int, condition: str, seed: int = 0) -> Image.Image:
    size = (round(A4[0] * dpi), round(A4[1] * dpi))
    page = Image.new("L", size, 255)
    font = ImageFont.truetype(FONT, round(11 / 72 * dpi))
    ink = ImageDraw.Draw(page)
    margin, step = dpi, round(14 / 72 * dpi)
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


def tesseract(page: Image.Image, dpi: int, psm: int) -> str:
    """Tesseract's words, one line per line it found (TSV: block, paragraph, line numbers)."""
    png = io.BytesIO()
    page.save(png, format="PNG")
    out = subprocess.run(
        ["tesseract", "stdin", "stdout", "-l", "por", "--dpi", str(dpi), "--psm", str(psm), "tsv"],
        input=png.getvalue(),
        capture_output=True,
        check=True,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    ).stdout.decode("utf-8")
    lines: dict[tuple[str, str, str, str], list[str]] = {}
    for row in out.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) == 12 and cols[0] == "5" and cols[11].strip():
            lines.setdefault(tuple(cols[1:5]), []).append(cols[11])
    return "\n".join(" ".join(words) for words in lines.values())


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


def main(
    raw_texts: Path = typer.Argument(..., exists=True, file_okay=False, help="LeNER-Br raw_text folder"),
    example: Path = typer.Option(None, exists=True, help="another decision text, read before the raw texts"),
    output: Path = typer.Option(Path("metrics/benchmark_ocr.txt")),
    docs: int = typer.Option(2, help="raw texts besides the example; the first page of each is used"),
    dpis: str = typer.Option("150,200,300"),
) -> None:
    texts = [example.read_text(encoding="utf-8")] if example else []
    texts += [p.read_text(encoding="utf-8") for p in sorted(raw_texts.glob("*.txt"))[:docs]]
    pages = [pages_of(text)[0] for text in texts]
    rows = []
    for dpi in map(int, dpis.split(",")):
        for condition in CONDITIONS:
            for psm in (3, 1) if condition == "rot90" else (3,):
                cer = wer = seconds = 0.0
                for n, lines in enumerate(pages):
                    image = draw(lines, dpi, condition, seed=n)
                    start = time.perf_counter()
                    text = tesseract(image, dpi, psm)
                    seconds += time.perf_counter() - start
                    c, w = error_rates("\n".join(lines), text)
                    cer, wer = cer + c, wer + w
                rows.append((dpi, condition, psm, cer / len(pages), wer / len(pages), len(pages) / seconds))
                typer.echo(f"{dpi} dpi {condition} psm {psm}: CER {100 * rows[-1][3]:.2f}%", err=True)
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    lines = [
        "# Tesseract on rendered decision pages (groundwork for issue 30)",
        f"# `python -m scripts.benchmarks.benchmark_ocr {' '.join(sys.argv[1:])}` at {git_commit()}",
        f"# {hardware(-1)}; {version}, por model, one thread; {len(pages)} pages"
        f" ({sum(map(len, pages))} lines): the first page of {'the example decision and ' if example else ''}{docs}"
        " raw LeNER-Br texts",
        "# psm 3: automatic layout; psm 1: the same with orientation detection (OSD)",
        "",
        f"{'dpi':>4} {'condition':>9} {'psm':>3} {'CER':>7} {'WER':>7} {'pages/s':>8}",
    ]
    lines += [f"{d:>4} {c:>9} {p:>3} {100 * ce:6.2f}% {100 * we:6.2f}% {s:8.2f}" for d, c, p, ce, we, s in rows]
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    typer.echo("\n".join(lines))


if __name__ == "__main__":
    typer.run(main)
