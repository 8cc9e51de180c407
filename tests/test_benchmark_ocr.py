"""The OCR benchmark's measures (issue 30 groundwork): error rates that count what they claim, pages
laid out from the text, and Tesseract reading a rendered page where Debian's packages are installed."""

import shutil

import pytest

from scripts.benchmarks.benchmark_ocr import draw, edit_distance, error_rates, pages_of, tesseract


def test_error_rates_count_edits_over_the_reference():
    assert edit_distance("kitten", "sitting") == 3 and edit_distance([], ["a"]) == 1
    assert error_rates("o réu  pagou\nas custas", "o réu pagou as custas") == (0.0, 0.0)  # spacing aside
    cer, wer = error_rates("o reu pagou", "o réu pagou")
    assert cer == pytest.approx(1 / 11) and wer == pytest.approx(1 / 3)


def test_pages_hold_the_texts_lines_in_order():
    pages = pages_of("palavra " * 1000, width=80, lines_per_page=50)
    assert [len(p) for p in pages][:2] == [50, 50] and all(len(line) <= 80 for p in pages for line in p)
    assert " ".join(" ".join(p) for p in pages).split() == ["palavra"] * 1000


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr and tesseract-ocr-por not installed")
def test_tesseract_reads_a_rendered_page_and_orientation_detection_turns_a_rotated_one():
    lines = ["Trata-se de agravo de instrumento interposto contra a decisão que indeferiu", "o pedido de tutela."]
    clean = tesseract(draw(lines, 200, "clean"), 200, psm=3)
    assert error_rates("\n".join(lines), clean)[0] < 0.05
    turned = draw(lines, 200, "rot90")
    assert error_rates("\n".join(lines), tesseract(turned, 200, psm=1))[0] < 0.05
