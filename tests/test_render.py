"""displaCy pages: fixed colours, legend, source on every mark; opened in headless Chromium."""

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
import spacy
from PIL import Image
from spacy.language import Language

from pt_legal_ner.annotation.records import annotate
from pt_legal_ner.annotation.render import LABEL_COLORS, html_name, render_page
from pt_legal_ner.io.inputs import open_documents
from tests.conftest import ROOT

EXAMPLE = ROOT.parent / "shared" / "examples" / "decisao_interlocutoria.txt"
PATTERNS = [
    {"label": "PESSOA", "pattern": "PEDRO ALVARES CABRAL"},
    {"label": "LOCAL", "pattern": "Goiânia"},
    {"label": "LEGISLACAO", "pattern": "Código de Processo Civil"},
    {"label": "TEMPO", "pattern": "2022"},
]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@Language.component("places_from_llm")
def places_from_llm(doc):
    for ent in doc.ents:
        ent._.source = "llm" if ent.label_ == "LOCAL" else "model"
        ent._.confidence = 0.5 if ent.label_ == "LOCAL" else 0.97
    return doc


class Marks(HTMLParser):
    """The entity marks of a page: their attributes and text."""

    def __init__(self):
        super().__init__()
        self.marks, self.depth = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "mark":
            self.marks.append({**dict(attrs), "text": ""})
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "mark":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.marks[-1]["text"] += data


def marks_of(page: str) -> list[dict]:
    parser = Marks()
    parser.feed(page)
    return parser.marks


def record(text, ents):
    return {"id": "x", "text": text, "entities": ents}


def test_page_marks_each_entity_with_label_colour_and_source():
    text = "Pedro <b>Cabral</b> em Brasília, 2015."
    ents = [
        {"start": 0, "end": 19, "label": "PESSOA", "text": "", "source": "model", "confidence": 0.91},
        {"start": 23, "end": 31, "label": "LOCAL", "text": "", "source": "llm", "confidence": 0.5},
        {"start": 33, "end": 37, "label": "NUMERO_PROCESSO", "text": "", "source": "llm", "confidence": None},
    ]
    page = render_page(record(text, ents))
    marks = marks_of(page)
    assert [m["data-label"] for m in marks] == ["PESSOA", "LOCAL", "NUMERO_PROCESSO"]
    assert [m["data-source"] for m in marks] == ["model", "llm", "llm"]
    assert LABEL_COLORS["PESSOA"] in marks[0]["style"] and "solid" in marks[0]["style"]
    assert LABEL_COLORS["LOCAL"] in marks[1]["style"] and "dashed" in marks[1]["style"]
    # the text is escaped, never markup
    assert "<b>" not in page and "&lt;b&gt;Cabral&lt;/b&gt;" in page
    assert marks[0]["text"].startswith("Pedro <b>Cabral</b>")
    # the legend lists the six labels and the zero-shot one
    legend = re.findall(r'class="legend-label" data-label="(\w+)"', page)
    assert legend[:6] == list(LABEL_COLORS) and legend[6:] == ["NUMERO_PROCESSO"]
    assert '<meta charset="utf-8">' in page


def test_file_names_are_unique_per_id():
    names = {html_name(i) for i in ("a/b.txt", "a_b.txt", "a b.txt", 1, "1")}
    assert len(names) == 4  # 1 and "1" are the same document id on disk
    assert all(re.fullmatch(r"[\w.-]+\.html", n) for n in names)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Chromium not installed (README setup: apt-get install chromium)")
    return path


def test_example_page_opens_in_headless_chromium_with_its_marks(tmp_path):
    browser = chromium()
    nlp = spacy.blank("pt")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    nlp.add_pipe("places_from_llm")
    out, html_dir = tmp_path / "out.jsonl", tmp_path / "html"
    annotate(nlp, open_documents([str(EXAMPLE)])[1], out, html_dir=html_dir)
    rec = json.loads(out.read_text(encoding="utf-8"))
    page = html_dir / html_name(rec["id"])
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    marks = marks_of(dom)
    assert len(marks) == len(rec["entities"]) >= 4
    assert {(m["data-label"], m["data-source"]) for m in marks} == {
        ("PESSOA", "model"),
        ("LOCAL", "llm"),
        ("LEGISLACAO", "model"),
        ("TEMPO", "model"),
    }
    assert any(m["text"].strip().startswith("PEDRO ALVARES CABRAL") for m in marks)
    shot = tmp_path / "page.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    pixels = set(Image.open(shot).convert("RGB").get_flattened_data())
    for label in ("PESSOA", "LOCAL", "LEGISLACAO", "TEMPO"):
        hex_colour = LABEL_COLORS[label].lstrip("#")
        assert tuple(int(hex_colour[i : i + 2], 16) for i in (0, 2, 4)) in pixels, label
