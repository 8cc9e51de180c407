"""Does a document's PDF give the entities of its text? (issue 38)

    python -m scripts.evaluation.evaluate_layout training/pipeline ../shared/examples/decisao_interlocutoria.txt \
        metrics/line_layout.json metrics/line_layout.md

The text is laid out as a court system's PDF lays it out: each paragraph in lines of at most
90 columns (``wrapped_text.wrap``), one page per 50 lines, drawn by reportlab; the PDF is read
back by ``pt_legal_ner.io.extract.extract_pdf``, as ``annotate`` reads it. Both texts go through
the pipeline (without ``llm_fallback``); their entities are compared in order, each as its label
and its words (whitespace runs read as one space: the PDF's text has line breaks where the
text had spaces, and no blank line between paragraphs).
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import typer

from pt_legal_ner.io.atomic import write_text_atomic
from scripts.evaluation.wrapped_text import WIDTH, wrap
from scripts.provenance import run_facts

LINES_PER_PAGE = 50


def text_pdf(text: str, width: int = WIDTH) -> bytes:
    """A PDF with a text layer: ``text``'s paragraphs in lines of at most ``width`` columns."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    lines = [line for paragraph in text.split("\n") for line in wrap(paragraph, width).split("\n")]
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for first in range(0, len(lines), LINES_PER_PAGE):
        pdf.setFont("Helvetica", 9)
        y = 800
        for line in lines[first : first + LINES_PER_PAGE]:
            pdf.drawString(40, y, line)
            y -= 15
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def entities(doc) -> list[tuple[str, str]]:
    return [(ent.label_, " ".join(ent.text.split())) for ent in doc.ents]


def compare(nlp, text: str) -> dict:
    """The entities of ``text`` and of its PDF, and those found by one and not the other."""
    from pt_legal_ner.io.extract import extract_pdf
    from pt_legal_ner.io.ocr import Ocr

    pdf_text = extract_pdf(text_pdf(text), ocr=Ocr("never")).text
    flat, laid_out = (entities(doc) for doc in nlp.pipe([text, pdf_text]))
    return {
        "txt": flat,
        "pdf": laid_out,
        "only_txt": [e for e in flat if e not in laid_out],
        "only_pdf": [e for e in laid_out if e not in flat],
        "same": flat == laid_out,
        "pdf_line_breaks": pdf_text.count("\n"),
    }


def main(
    pipeline: Path = typer.Argument(..., exists=True, file_okay=False),
    text: Path = typer.Argument(..., exists=True, dir_okay=False, help="a decision as UTF-8 text"),
    output_json: Path = typer.Argument(...),
    output_md: Path = typer.Argument(...),
) -> None:
    import spacy

    import pt_legal_ner  # noqa: F401

    start = time.time()
    nlp = spacy.load(pipeline, exclude=["llm_fallback"])
    result = compare(nlp, text.read_text(encoding="utf-8"))
    result |= {"document": str(text), "width": WIDTH, **run_facts("scripts.evaluation.evaluate_layout", start)}
    write_text_atomic(output_json, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    verdict = "the same entities" if result["same"] else "different entities"
    lines = [
        f"# {text.name} as text and as a text PDF",
        "",
        f"Its PDF (lines of at most {WIDTH} columns, {result['pdf_line_breaks']} line breaks in the text"
        f" read back) gives {verdict}: {len(result['txt'])} entities from the text, {len(result['pdf'])}"
        " from the PDF.",
        "",
        "| label | text | in the PDF's |",
        "|---|---|---|",
        *[
            f"| {label} | {words} | {'yes' if (label, words) in result['pdf'] else '**no**'} |"
            for label, words in result["txt"]
        ],
        *[f"| {label} | {words} | only there |" for label, words in result["only_pdf"]],
        "",
        f"- command: `{result['command']}`; commit {result['commit']}; {result['hardware']}",
        "",
    ]
    write_text_atomic(output_md, "\n".join(lines))
    typer.echo(f"{text.name}: text and PDF give {verdict} ({len(result['txt'])} / {len(result['pdf'])} entities)")


if __name__ == "__main__":
    typer.run(main)
