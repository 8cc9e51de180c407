"""PDF and DOCX files built from known text, as court systems hand them out (reportlab, python-docx)."""

from __future__ import annotations

import io

HEADER = "PODER JUDICIÁRIO - TRIBUNAL DE JUSTIÇA DO ESTADO"
FOOTER = "Documento assinado eletronicamente - Página {page} de {pages}"


def pdf_bytes(
    pages: list[list[str]],
    header: str | None = HEADER,
    footer: str | None = FOOTER,
    password: str | None = None,
    image_pages: tuple[int, ...] = (),
) -> bytes:
    """A PDF with a text layer: one list of lines per page, each line drawn as it is (a line
    ending in "-" is a word hyphenated at the line end); pages numbered in ``image_pages``
    (1-based) are an image of text instead, as a scanner makes them."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, encrypt=password)
    for number, lines in enumerate(pages, start=1):
        pdf.setFont("Helvetica", 10)
        if number in image_pages:
            pdf.drawImage(_image_of_text(lines), 0, 0, *A4)
        else:
            if header:
                pdf.drawString(72, 800, header)
            y = 760
            for line in lines:
                pdf.drawString(72, y, line)
                y -= 14
            if footer:
                pdf.drawString(72, 40, footer.format(page=number, pages=len(pages)))
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _image_of_text(lines: list[str]):
    """A scanner's image of a page with these lines (A4 at 200 dpi)."""
    from reportlab.lib.utils import ImageReader

    from scripts.benchmarks.benchmark_ocr import draw

    return ImageReader(draw(lines, 200, "clean"))


def scanned_pdf_bytes(pages: list[list[str]], dpi: int = 300, condition: str = "clean") -> bytes:
    """An image-only PDF, one A4 scan per list of lines (benchmark-ocr's pages)."""
    from scripts.benchmarks.benchmark_ocr import image_pdf

    return image_pdf(pages, dpi, condition)


def docx_bytes(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    """A DOCX: the paragraphs, then a table (rows of cells) if given."""
    import docx

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = HEADER  # not body text: left out of the extracted text
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
