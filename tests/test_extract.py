"""PDF and DOCX as users have them: text layer, pages, running headers, hyphens, broken files."""

import pytest
from office_files import HEADER, docx_bytes, pdf_bytes

from pt_legal_ner.io.documents import document_from_bytes
from pt_legal_ner.io.extract import ExtractionError, extract_docx, extract_pdf
from pt_legal_ner.io.inputs import open_documents
from pt_legal_ner.io.ocr import NO_OCR

PAGES = [
    ["Vistos.", "O Ministro JOÃO DA SILVA julgou o pro-", "cesso em Brasília, em 12 de março de 2015."],
    ["Aplicou o Decreto-", "Lei nº 200/67 e a Lei nº 8.666/93.", "A União manifestou-", "se nos autos."],
    ["A Fazenda Nacional recorreu ao Superior Tribunal de Justiça.", "Publique-se."],
]
BODY = [
    "Vistos.\nO Ministro JOÃO DA SILVA julgou o processo em Brasília, em 12 de março de 2015.",
    "Aplicou o Decreto-Lei nº 200/67 e a Lei nº 8.666/93.\nA União manifestou-se nos autos.",
    "A Fazenda Nacional recorreu ao Superior Tribunal de Justiça.\nPublique-se.",
]


def test_pdf_text_is_the_body_of_each_page_at_its_page_offset():
    got = extract_pdf(pdf_bytes(PAGES))
    assert got.text == "\n".join(BODY)
    assert [got.text[start : start + len(body)] for start, body in zip(got.pages, BODY, strict=True)] == BODY
    # the header and the numbered footer of each of the 3 pages are left out, and counted
    assert HEADER not in got.text and "Página" not in got.text
    assert got.removed_lines == 6


def test_a_line_repeated_on_few_pages_is_body_text_not_a_header():
    pages = [["Vistos.", "Texto um."], ["Vistos.", "Texto dois."], ["Relatório.", "Texto três."], ["Voto.", "Fim."]]
    got = extract_pdf(pdf_bytes(pages, header=None, footer=None))
    assert got.text.count("Vistos.") == 2 and got.removed_lines == 0


def test_without_headers_a_single_page_is_kept_whole():
    got = extract_pdf(pdf_bytes([["Uma página só."]], header=HEADER, footer=None))
    assert got.text == f"{HEADER}\nUma página só." and got.pages == [0]


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda: pdf_bytes(PAGES, image_pages=(1, 2, 3)), "no text layer"),  # with OCR: tests/test_ocr.py
        (lambda: pdf_bytes(PAGES, password="segredo"), "encrypted PDF"),
        (lambda: pdf_bytes(PAGES)[:-300], "truncated PDF"),
        (lambda: b"%PDF-1.7\n" + b"garbage " * 100 + b"\n%%EOF\n", "damaged PDF"),
    ],
    ids=["scanned", "encrypted", "truncated", "damaged"],
)
def test_unreadable_pdfs_raise_with_their_reason(make, reason):
    with pytest.raises(ExtractionError, match=reason):
        extract_pdf(make(), ocr=NO_OCR)


def test_without_ocr_a_partly_scanned_pdf_keeps_its_text_and_names_the_image_pages():
    document = document_from_bytes("d", pdf_bytes(PAGES, image_pages=(2,)), "d.pdf", ocr=NO_OCR)
    assert document.error is None
    assert BODY[0] in document.text and BODY[2] in document.text and "Decreto" not in document.text
    assert "page(s) 2 are images" in document.warning


def test_docx_body_paragraphs_and_tables_in_order_without_page_headers():
    data = docx_bytes(
        ["Recorrente: JOÃO DA SILVA", "Relator: Min. ANA COSTA"], [["Autos", "0001234-55.2015.8.26.0100"]]
    )
    got = extract_docx(data)
    assert got.text == "Recorrente: JOÃO DA SILVA\nRelator: Min. ANA COSTA\nAutos\t0001234-55.2015.8.26.0100"
    assert got.pages is None and HEADER not in got.text


@pytest.mark.parametrize(
    "data, reason",
    [
        (docx_bytes(["um"])[:200], "damaged DOCX"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "encrypted DOCX"),
    ],
    ids=["truncated", "encrypted"],
)
def test_unreadable_docx_files_give_an_error_naming_the_file(data, reason):
    document = document_from_bytes("x.docx", data, "in/x.docx")
    assert document.text is None and document.error.startswith("in/x.docx: ") and reason in document.error


def test_a_folder_of_pdf_docx_and_text_reads_each_by_its_content(tmp_path):
    (tmp_path / "a.pdf").write_bytes(pdf_bytes(PAGES))
    (tmp_path / "b.docx").write_bytes(docx_bytes(["Parte: MARIA SOUZA"]))
    (tmp_path / "c.txt").write_bytes(pdf_bytes(PAGES[:1], header=None, footer=None))  # a PDF by another name
    (tmp_path / "d.pdf").write_bytes(pdf_bytes(PAGES)[:-300])
    total, documents = open_documents([str(tmp_path)])
    by_id = {d.id: d for d in documents}
    assert total == 4
    assert by_id["a.pdf"].text == "\n".join(BODY) and by_id["a.pdf"].encoding == "pdf"
    assert by_id["b.docx"].text == "Parte: MARIA SOUZA" and by_id["b.docx"].encoding == "docx"
    assert by_id["c.txt"].text == BODY[0] and by_id["c.txt"].pages == [0]
    assert by_id["d.pdf"].error.startswith(f"{tmp_path / 'd.pdf'}: truncated PDF")


def test_annotate_records_carry_the_extracted_text_its_pages_and_what_was_left_out_without_ocr(tmp_path):
    import json

    import spacy

    from pt_legal_ner.annotation.records import annotate

    nlp = spacy.blank("pt")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "PESSOA", "pattern": "JOÃO DA SILVA"}])
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.pdf").write_bytes(pdf_bytes(PAGES, image_pages=(3,)))
    out = tmp_path / "out.jsonl"
    annotate(nlp, open_documents([str(tmp_path / "in")], ocr=NO_OCR)[1], out)
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    text = record["text"]
    assert text == "\n".join(BODY[:2]) + "\n" and record["encoding"] == "pdf"
    (entity,) = record["entities"]
    assert text[entity["start"] : entity["end"]] == "JOÃO DA SILVA" and entity["start"] == text.index("JOÃO")
    assert record["pages"] == [0, len(BODY[0]) + 1, len(BODY[0]) + len(BODY[1]) + 2]
    assert "page(s) 3 are images" in record["warning"] and "4 running header/footer" in record["warning"]


def test_a_pdf_on_stdin_is_read_as_a_pdf(monkeypatch):
    import io
    import sys

    from pt_legal_ner.io.documents import read_stdin

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pdf_bytes(PAGES))))
    (document,) = read_stdin()
    assert document.id == "-" and document.text == "\n".join(BODY) and document.pages is not None
