"""What the llm_fallback tests share: a pipeline whose prompt is the sentence alone (so a scripted
model or server answers by sentence), and docs as the trained NER leaves them."""

import spacy
from spacy.language import Language
from spacy.tokens import Doc

import pt_legal_ner  # noqa: F401
from tests.conftest import ROOT

TEXT = "O Supremo Tribunal Federal julgou o caso. O recurso veio de Goiânia em 2015."
FIRST, SECOND = "O Supremo Tribunal Federal julgou o caso.", "O recurso veio de Goiânia em 2015."
TASK = {"@llm_tasks": "pt_legal_ner.LegalNERFallback.v1"}


def sentence_prompt_nlp(folder, model: dict, task: dict | None = None, **component) -> Language:
    """sentencizer + llm_fallback, initialised with the real labels and the template "{{ text }}"."""
    template = folder / "template.jinja"
    template.write_text("{{ text }}", encoding="utf-8")
    nlp = spacy.blank("pt")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("llm", name="llm_fallback", config={"task": TASK | (task or {}), "model": model, **component})
    nlp.get_pipe("llm_fallback").initialize(labels_path=ROOT / "configs/llm/labels_pt.json", template_path=template)
    return nlp


def trained_doc(nlp, ents=(("Supremo Tribunal Federal", "ORGANIZACAO", 0.97),), token_conf=0.99, low=()) -> Doc:
    """TEXT as the trained NER leaves it: entities with confidences, per-token confidences (`low`
    lowers some words')."""
    doc = nlp.make_doc(TEXT)
    spans = []
    for surface, label, conf in ents:
        start = TEXT.index(surface)
        spans.append((doc.char_span(start, start + len(surface), label=label), conf))
    doc.ents = [s for s, _ in spans]
    for span, conf in spans:
        span._.source, span._.confidence = "model", conf
    confidence = [token_conf] * len(doc)
    for word, value in low:
        confidence[next(t.i for t in doc if t.text == word)] = value
    doc._.token_confidence = confidence
    return doc


def run(nlp, doc: Doc) -> Doc:
    """Every component on an already made doc (nlp(text) would make a new one)."""
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return doc


def ents(doc: Doc) -> list[tuple[str, str, str]]:
    return [(e.text, e.label_, e._.source) for e in doc.ents]
