"""OCR of scanned PDF pages: Tesseract's hOCR as text, which pages are read, notes naming pages,
entity confidence over OCR words, and the reader process that waits page by page.

The tests marked ``tesseract`` run the real Tesseract (Debian's tesseract-ocr and -por, which
.ci/run installs); the reader-process tests put a stand-in ``tesseract`` first on PATH to time it.
"""

import io
import json
import os
import stat
import subprocess

import pytest
from office_files import HEADER, pdf_bytes, scanned_pdf_bytes

from pt_legal_ner.io.documents import document_from_bytes
from pt_legal_ner.io.extract import ExtractionError, extract_pdf, page_kind, usable_text
from pt_legal_ner.io.limits import Limits
from pt_legal_ner.io.ocr import NO_OCR, Ocr, missing
from pt_legal_ner.io.ocr_text import keeps_hyphen, lowest_confidence, parse_hocr

tesseract = pytest.mark.skipif(missing() is not None, reason=f"no OCR here: {missing()}")


@pytest.fixture
def own_path(monkeypatch, tmp_path):
    """PATH starting with ``tmp_path`` (or only it: ``own_path(alone=True)``), seen by a reader
    process started for it and stopped after, so that other tests get one with the usual PATH."""
    from pt_legal_ner.io.reader_process import shared_reader

    def set_path(alone: bool = False) -> None:
        monkeypatch.setenv("PATH", str(tmp_path) if alone else f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
        shared_reader().close()

    yield set_path
    shared_reader().close()


PAGES = [
    ["Vistos.", "O Ministro JOÃO DA SILVA julgou o processo em Brasília, em 12 de março de 2015."],
    ["Aplicou o Decreto-Lei nº 200/67 e a Lei nº 8.666/93.", "A União manifestou-se nos autos."],
    ["A Fazenda Nacional recorreu ao Superior Tribunal de Justiça.", "Publique-se."],
]
BODY = "\n".join(line for page in PAGES for line in page)


def hocr(lines: list[list[tuple[str, int]]], angle: int = 0) -> str:
    """Tesseract's hOCR layout (5.3.0) for lines of (word, confidence)."""
    turn = f"; textangle {angle}" if angle else ""
    spans = "".join(
        f"<span class='ocr_line' title=\"bbox 0 0 9 9{turn}\">"
        + "".join(f"<span class='ocrx_word' title='bbox 0 0 9 9; x_wconf {c}'>{w}</span> " for w, c in line)
        + "</span>"
        for line in lines
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
        f"<div class='ocr_page'><div class='ocr_carea'><p class='ocr_par'>{spans}</p></div></div></body></html>"
    )


def test_hocr_words_become_lines_with_each_words_place_and_confidence():
    got = parse_hocr(hocr([[("Vistos.", 96)], [("O", 90), ("pro-", 80)], [("cesso", 70), ("&amp;", 95)]]))
    assert got.text == "Vistos.\nO processo &"
    # the hyphenated word is one word, as sure as its less sure half
    assert [(got.text[s:e], c) for s, e, c in got.words] == [("Vistos.", 96), ("O", 90), ("processo", 70), ("&", 95)]
    assert got.rotation == 0 and got.mean_confidence == pytest.approx((96 + 90 + 70 + 95) / 4)


def test_a_hyphen_portuguese_keeps_stays_and_the_turn_of_most_words_is_the_pages():
    got = parse_hocr(hocr([[("Decreto-", 90)], [("Lei", 90), ("manifestou-", 90)], [("se", 90)]], angle=90))
    assert got.text == "Decreto-Lei manifestou-se" and got.rotation == 90
    assert keeps_hyphen("Lei") and keeps_hyphen("se") and keeps_hyphen("1990") and not keeps_hyphen("cesso")


def test_the_lowest_confidence_under_a_span_is_that_of_the_words_it_overlaps():
    words = [(0, 5, 90), (6, 10, 40), (11, 15, 80)]
    starts = [w[0] for w in words]
    assert lowest_confidence(words, starts, 0, 5) == 90
    assert lowest_confidence(words, starts, 3, 12) == 40
    assert lowest_confidence(words, starts, 11, 15) == 80
    assert lowest_confidence(words, starts, 15, 20) is None


@pytest.mark.parametrize(
    "raw, image_share, auto, never",
    [
        ("", 1.0, "ocr", "scan"),  # a scan
        ("", 0.0, "text", "text"),  # an empty page
        ("Assinado digitalmente por FULANO em 01/02/2020", 1.0, "ocr", "text"),  # a stamp over a scan
        ("Texto " * 60, 1.0, "text", "text"),  # a scan OCRed before: its text layer holds the words
        ("Texto de uma decisão judicial qualquer.", 0.0, "text", "text"),
        ("\ue001\ue002\ue003 \ue004\ue005a", 0.0, "ocr", "text"),  # glyphs no font maps to Unicode
        ("bcdfg hjklm npqrs tvwxz " * 10, 0.0, "ocr", "text"),  # glyph numbers read as letters
    ],
    ids=["scan", "empty", "stamp", "ocred-scan", "text", "private-use", "no-vowels"],
)
def test_which_pages_ocr_reads(raw, image_share, auto, never):
    asked = []

    def share() -> float:
        asked.append(True)
        return image_share

    assert page_kind(raw, share, "auto") == auto and page_kind(raw, share, "never") == never
    assert page_kind(raw, share, "always") == "ocr"
    assert usable_text("Vistos. O Ministro JOÃO DA SILVA julgou o processo.")
    if raw == "Texto " * 60:  # a page of text: its images are not even looked at
        assert not asked


@tesseract
def test_a_scanned_pdf_is_read_by_ocr_with_its_pages_and_word_confidences():
    document = document_from_bytes("d", scanned_pdf_bytes(PAGES), "d.pdf")
    assert document.error is None and document.text == BODY
    assert document.ocr_pages == (1, 2, 3) and document.encoding == "pdf"
    assert [document.text[s : s + 7] for s in document.pages] == ["Vistos.", "Aplicou", "A Fazen"]
    assert " ".join(document.text[s:e] for s, e, _ in document.ocr_words) == " ".join(BODY.split())
    assert all(50 <= c <= 100 for _, _, c in document.ocr_words)


@tesseract
def test_a_mixed_pdf_keeps_its_text_layer_and_reads_only_the_scanned_page():
    layered = [page[:1] + ["pro-", "cesso"] if n == 0 else page for n, page in enumerate(PAGES)]
    document = document_from_bytes("d", pdf_bytes(layered, image_pages=(2,)), "d.pdf")
    assert document.error is None and document.ocr_pages == (2,)
    texts = [document.text[s:e] for s, e in zip(document.pages, [*document.pages[1:], None], strict=False)]
    assert texts[1].strip() == "\n".join(PAGES[1])  # the scan, read by OCR
    assert texts[0] == "Vistos.\nprocesso\n"  # the text layer, headers left out and the hyphen joined
    assert HEADER not in document.text and "4 running header/footer" in document.warning
    assert all(document.pages[1] <= s < document.pages[2] for s, _, _ in document.ocr_words)


@tesseract
@pytest.mark.parametrize("condition, degrees", [("rot90", 90), ("rot180", 180)])
def test_a_turned_page_is_turned_back_and_named(condition, degrees):
    from scripts.benchmarks.benchmark_ocr import draw

    lines = [line for page in PAGES for line in page] * 3  # orientation detection needs some text
    image = draw(lines, 200, "clean").rotate(degrees, expand=True, fillcolor=255)
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=200)
    document = document_from_bytes("d", out.getvalue(), "d.pdf")
    assert document.error is None and document.text == "\n".join(lines)
    assert f"page 1 was turned {degrees} degrees" in document.warning


@tesseract
def test_blank_and_dark_scans_are_named_not_crashed_on():
    from PIL import Image

    from scripts.benchmarks.benchmark_ocr import draw

    pages = [Image.new("L", (1654, 2339), 255), draw(PAGES[0], 200, "clean"), Image.new("L", (1654, 2339), 8)]
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=200)
    document = document_from_bytes("d", out.getvalue(), "d.pdf")
    assert document.error is None and document.text.strip() == "\n".join(PAGES[0]) and document.ocr_pages == (2,)
    assert "page 1 is blank" in document.warning and "page 3: OCR found no text" in document.warning
    only_blank = io.BytesIO()
    pages[0].save(only_blank, format="PDF", resolution=200)
    with pytest.raises(ExtractionError, match="OCR found no text in its 1 page"):
        extract_pdf(only_blank.getvalue())


@tesseract
def test_always_reads_every_page_and_never_reads_none():
    data = pdf_bytes(PAGES, header=None, footer=None)
    always = document_from_bytes("d", data, "d.pdf", ocr=Ocr("always"))
    assert always.ocr_pages == (1, 2, 3) and always.text.split() == BODY.split()
    scan = scanned_pdf_bytes(PAGES[:1], dpi=200)
    with pytest.raises(ExtractionError, match=r"no text layer: its 1 page\(s\) are images \(a scan\), and --ocr never"):
        extract_pdf(scan, ocr=NO_OCR)


def test_without_tesseract_a_scan_gets_the_error_line_naming_the_packages(own_path):
    own_path(alone=True)  # no tesseract on it
    scan = scanned_pdf_bytes(PAGES[:1], dpi=150)
    document = document_from_bytes("d", scan, "in/d.pdf")
    assert document.error.startswith("in/d.pdf: no text layer: its 1 page(s) are images (a scan)")
    assert "Tesseract is not installed: apt-get install tesseract-ocr tesseract-ocr-por" in document.error
    mixed = document_from_bytes("d", pdf_bytes(PAGES, image_pages=(2,)), "d.pdf")
    assert mixed.error is None and mixed.ocr_pages == () and "page(s) 2 are images" in mixed.warning
    with pytest.raises(ExtractionError, match="--ocr always, but Tesseract is not installed"):
        extract_pdf(scan, ocr=Ocr("always"))


@tesseract
def test_an_entity_over_ocr_words_is_no_surer_than_they_are(tmp_path):
    import spacy

    from pt_legal_ner.annotation.records import annotate
    from pt_legal_ner.io.inputs import open_documents

    nlp = spacy.blank("pt")
    nlp.add_pipe("entity_ruler").add_patterns(
        [{"label": "PESSOA", "pattern": "JOÃO DA SILVA"}, {"label": "LOCAL", "pattern": "Brasília"}]
    )
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.pdf").write_bytes(pdf_bytes(PAGES, image_pages=(1,)))
    out = tmp_path / "out.jsonl"
    annotate(nlp, open_documents([str(tmp_path / "in")])[1], out)
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert record["ocr_pages"] == [1] and record["error"] is None
    words = {record["text"][s:e]: c for s, e, c in record["ocr_words"]}
    person, place = record["entities"]
    assert record["text"][person["start"] : person["end"]] == "JOÃO DA SILVA"
    assert person["ocr_confidence"] == min(words["JOÃO"], words["DA"], words["SILVA"]) / 100
    assert person["confidence"] == person["ocr_confidence"]  # the ruler's entities carry no confidence
    assert place["ocr_confidence"] == words["Brasília,"] / 100


def fake_tesseract(folder, seconds: float, exit_code: int = 0) -> None:
    """A stand-in ``tesseract`` that takes ``seconds`` per page and answers one word."""
    script = folder / "tesseract"
    answer = hocr([[("Vistos.", 91)]]).replace("'", "'\"'\"'")
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--list-langs" ]; then echo por; exit 0; fi\n'
        f"cat > /dev/null; sleep {seconds}\n"
        f"[ {exit_code} = 0 ] || {{ echo 'Error: cannot read the image' >&2; exit {exit_code}; }}\n"
        f"echo '{answer}'\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_the_reader_gives_each_ocr_page_its_own_time_within_the_files_and_names_pages_that_overrun(own_path, tmp_path):
    from pt_legal_ner.io.reader_process import ReaderProcess

    fake_tesseract(tmp_path, 1.2)
    own_path()
    page = ["Vistos.", "O Ministro JOÃO DA SILVA julgou o processo."]
    reader = ReaderProcess()
    try:
        # 4 pages of 1.2 s each, one at a time: 4.8 s in all, under 2 s each
        got = reader.extract("pdf", scanned_pdf_bytes([page] * 4, dpi=100), Limits(max_read_seconds=2), Ocr())
        assert got.text == "\n".join(["Vistos."] * 4) and got.ocr_pages == (1, 2, 3, 4)
        # ... but the file's pages together have max_ocr_seconds: each page no longer resets it
        with pytest.raises(ExtractionError, match=r"OCR of its pages took over 3 s in all, the limit max_ocr_seconds"):
            reader.extract("pdf", scanned_pdf_bytes([page] * 4, dpi=100), Limits(max_read_seconds=2, max_ocr_seconds=3))
        fake_tesseract(tmp_path, 3)
        with pytest.raises(ExtractionError, match=r"OCR found no text in its 1 page\(s\): page 1: OCR took over 2 s"):
            reader.extract("pdf", scanned_pdf_bytes([page], dpi=100), Limits(max_read_seconds=2), Ocr())
    finally:
        reader.close()


def test_a_failing_tesseract_is_the_pages_note(own_path, tmp_path):
    fake_tesseract(tmp_path, 0, exit_code=1)
    own_path()
    document = document_from_bytes("d", pdf_bytes(PAGES, image_pages=(2,)), "d.pdf")
    assert document.error is None and document.ocr_pages == ()
    assert "page 2: OCR failed (tesseract exited with 1: Error: cannot read the image); left out" in document.warning


@pytest.mark.parametrize(
    "read, meant",
    [
        ("Órgão : 82 TURMA CÍVEL", "Órgão : 8ª TURMA CÍVEL"),
        ("da 12 Região e da 10º Câmara", "da 1ª Região e da 10ª Câmara"),
        ("o 1ª Juizado e o 2° Ofício", "o 1º Juizado e o 2º Ofício"),
        ("nos termos do 81º do art. 63 do CPC", "nos termos do §1º do art. 63 do CPC"),
        ("$ 2º da Lei nº 8.666/93", "§ 2º da Lei nº 8.666/93"),
        ("pela Lein. 11.482/2007 e a LEIn. 8.112", "pela Lei n. 11.482/2007 e a LEI n. 8.112"),
        ("SÚMULA 474/ST)] - e 426/ST].", "SÚMULA 474/STJ - e 426/STJ."),
        ("Relatora : Des?. Regina", "Relatora : Desª. Regina"),
        ("art. 125, 8 2º da Constituição; 8 1º (...)", "art. 125, § 2º da Constituição; § 1º (...)"),
        ("art. 71, 818, IV, LODF e art. 14, 8 3, da CF", "art. 71, §1º, IV, LODF e art. 14, § 3, da CF"),
        ("ILHA DO GOVERNADOR-R]. (11555/0AB-DF) e o CAU-DE.", "ILHA DO GOVERNADOR-RJ. (11555/OAB-DF) e o CAU-DF."),
        # a cardinal takes the plural; money; a number of a law; a word that is no "Lei n."
        ("foram 12 Turmas", "foram 12 Turmas"),
        ("R$ 2 do art. 5º", "R$ 2 do art. 5º"),
        ("Lei 8.112 Turma", "Lei 8.112 Turma"),
        ("Leinn. 3", "Leinn. 3"),
        ("o art. 896 da CLT e a 2.º Turma", "o art. 896 da CLT e a 2.ª Turma"),
        ("a sigla [STF] e 8 volumes; 0ABC; fls. 8 e 9", "a sigla [STF] e 8 volumes; 0ABC; fls. 8 e 9"),
        # incisos are Roman, paragraphs 1 to 9 ordinals (LC 95/1998, art. 10)
        ("ART. 896, § 1º-A, 1, DA CLT e art. 267, 1, do CPC", "ART. 896, § 1º-A, I, DA CLT e art. 267, I, do CPC"),
        ("inciso 1, alínea “a”, e\nIH, da CF; Inciso H - ", "inciso I, alínea “a”, e\nII, da CF; Inciso II - "),
        ("art. 896, § 62, da CLT; 10, § 72, do Decreto", "art. 896, § 6º, da CLT; 10, § 7º, do Decreto"),
        ("art. 896, § 1.4, I, da CIT; incs. I a III, da CLI", "art. 896, § 1.º, I, da CLT; incs. I a III, da CLT"),
        ("nº TST-ATRR-1000669-10.2013.5.02.0322", "nº TST-AIRR-1000669-10.2013.5.02.0322"),
        # Arabic where it can be meant: a sloppy "art. 1, 1, p", a count, § 12 and § 22, "CIT" of the SUS
        ("(art. 1, 1, p, da LC 64/90); pagou 1, 2 e 3", "(art. 1, 1, p, da LC 64/90); pagou 1, 2 e 3"),
        ("o § 12, da Lei e o § 22, do art. 40; a CIT do SUS", "o § 12, da Lei e o § 22, do art. 40; a CIT do SUS"),
    ],
)
def test_ocrs_misreadings_of_legal_text_are_put_right(read, meant):
    from pt_legal_ner.io.ocr_fixes import fixed

    assert fixed(read)[0] == meant


def test_words_move_with_the_corrected_text_and_keep_their_confidence():
    from pt_legal_ner.io.ocr_fixes import fixed

    text = "Lein. 8.112 e 474/ST)] do 82 TURMA"
    words = [(0, 5, 80), (6, 11, 90), (12, 13, 95), (14, 22, 60), (23, 25, 96), (26, 28, 70), (29, 34, 93)]
    new, moved = fixed(text, words)
    assert new == "Lei n. 8.112 e 474/STJ do 8ª TURMA"
    assert [(new[s:e], c) for s, e, c in moved] == [
        ("Lei n.", 80), ("8.112", 90), ("e", 95), ("474/STJ", 60), ("do", 96), ("8ª", 70), ("TURMA", 93)
    ]  # fmt: skip


def test_pseudonymize_flags_what_it_masked_over_doubtful_ocr_words_for_review():
    from pt_legal_ner.annotation.masking import PseudonymizingWriter

    class Records:
        done: set = set()

        def __init__(self) -> None:
            self.lines: list[dict] = []

        def write(self, record: dict) -> None:
            self.lines.append(record)

        def close(self) -> None:
            pass

    text = "O réu JOÃO DA SILVA, CPF 111.444.777-35."
    words = [(0, 1, 96), (2, 5, 95), (6, 10, 41), (11, 13, 90), (14, 20, 92), (21, 24, 96), (25, 40, 93)]
    person = {"start": 6, "end": 19, "label": "PESSOA", "source": "model", "confidence": 0.97}
    cpf = {"start": 25, "end": 39, "label": "CPF", "source": "rule", "confidence": 1.0, "normalized": "11144477735"}
    out = Records()
    writer = PseudonymizingWriter(out)
    record = {"id": "d", "text": text, "entities": [person, cpf], "error": None, "ocr_pages": [1]}
    writer.write({**record, "ocr_words": [list(w) for w in words]})
    (line,) = out.lines
    assert line["ocr_pages"] == [1] and line["text"] == "O réu [PESSOA_1], CPF [CPF_1]."
    name, number = line["replacements"]
    assert name["ocr_confidence"] == 0.41 and name["review"] is True  # "JOÃO" was read at 41
    assert number["ocr_confidence"] == 0.93 and "review" not in number
    assert "1 over OCR text of low confidence, flagged for review" in writer.summary()


def test_stopping_the_reader_stops_the_tesseracts_it_started(own_path, tmp_path):
    import threading
    import time

    from pt_legal_ner.io.reader_process import ReaderProcess

    fake_tesseract(tmp_path, 41.7)  # a Tesseract that hangs: `sleep 41.7` in its process group
    own_path()
    reader = ReaderProcess()
    errors = []
    thread = threading.Thread(
        target=lambda: errors.append(
            pytest.raises(ExtractionError, reader.extract, "pdf", scanned_pdf_bytes([PAGES[0]], 100), Limits(), Ocr())
        )
    )
    thread.start()

    def sleeping() -> bool:
        ps = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
        return any(line.strip() == "sleep 41.7" for line in ps.splitlines())

    deadline = time.monotonic() + 30
    while not sleeping():
        assert time.monotonic() < deadline, "the stand-in Tesseract never started"
        time.sleep(0.1)
    reader.close()  # as a run that is stopped, or a reader past its time, is
    thread.join(30)
    assert not sleeping() and errors and "reader died" in str(errors[0].value)
