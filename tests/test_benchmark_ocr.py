"""The OCR benchmark's measures: error rates and entity F1 that count what they claim, pages laid
out from the text within the margins, and image-only PDFs a scanner could have made."""

import pytest
from PIL import ImageFont

from scripts.benchmarks.benchmark_ocr import (
    A4,
    FONT,
    MARGIN,
    edit_distance,
    error_rates,
    f1,
    image_pdf,
    page_texts,
    pages_of,
    read_right,
)


def test_error_rates_count_edits_over_the_reference():
    assert edit_distance("kitten", "sitting") == 3 and edit_distance([], ["a"]) == 1
    assert error_rates("o réu  pagou\nas custas", "o réu pagou as custas") == (0.0, 0.0)  # spacing aside
    cer, wer = error_rates("o reu pagou", "o réu pagou")
    assert cer == pytest.approx(1 / 11) and wer == pytest.approx(1 / 3)


def test_entity_f1_counts_label_and_words_as_a_multiset_page_by_page():
    from collections import Counter

    original = Counter({("PESSOA", "JOÃO DA SILVA"): 2, ("LOCAL", "Brasília"): 1})
    found = Counter({("PESSOA", "JOÃO DA SILVA"): 1, ("LOCAL", "Brasília"): 1, ("PESSOA", "Brasília"): 1})
    assert f1([original], [found]) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert f1([original], [original]) == (1.0, 1.0, 1.0)
    # page by page: an entity of page 1 found on page 2 is a miss and a false find
    assert f1([original, Counter()], [Counter(), original]) == (0.0, 0.0, 0.0)


def test_a_miss_is_read_right_when_its_words_are_in_the_ocr_text_as_they_were():
    from collections import Counter

    missed = Counter({("PESSOA", "JOÃO DA SILVA"): 1, ("ORGANIZACAO", "8ª TURMA"): 2, ("LEGISLACAO", "Lei nº 1"): 1})
    assert read_right(missed, "O  JOÃO DA\nSILVA e a 82 TURMA, Lei n° 1") == 2  # n° and nº print alike


def test_pages_hold_the_texts_lines_in_order_within_the_margins():
    text = "PALAVRA " * 600 + "\n\n" + "Outro parágrafo."
    pages = pages_of(text, lines_per_page=50)
    assert len(pages[0]) == 50 and pages[-1][-1] == "Outro parágrafo."
    assert " ".join(" ".join(p) for p in pages).split() == ["PALAVRA"] * 600 + ["Outro", "parágrafo."]
    font = ImageFont.truetype(FONT, 110)  # what pages_of measures with: 11 pt at 720 dpi
    assert max(font.getlength(line) for p in pages for line in p) <= (A4[0] - 2 * MARGIN) * 720


def test_an_image_pdf_has_one_image_page_per_page_and_no_text_layer():
    import pypdfium2

    pdf = pypdfium2.PdfDocument(image_pdf([["Vistos."], ["Publique-se."]], 100, "rot90"))
    assert len(pdf) == 2
    page = pdf[0]
    assert page.get_textpage().count_chars() == 0 and page.get_size()[0] > page.get_size()[1]  # turned
    assert page_texts("um\ndois\ntrês", [0, 3, 8]) == ["um", "dois", "três"]
