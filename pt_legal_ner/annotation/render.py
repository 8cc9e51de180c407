"""displaCy pages for annotated documents: a fixed colour per label, a legend, and each
entity's source (trained model, rule or LLM) and confidence on its mark."""

from __future__ import annotations

import hashlib
import html
import re
from typing import Any

from spacy import displacy
from spacy.displacy.templates import TPL_PAGE

from pt_legal_ner.components.extensions import SOURCE_LLM, SOURCE_MODEL, SOURCE_RULE
from pt_legal_ner.components.labels import LENER_LABELS
from pt_legal_ner.privacy.patterns import LABELS as ID_LABELS

# one colour per label, the same on every page (colour-blind-safe Okabe-Ito hues, lightened)
LABEL_COLORS: dict[str, str] = {
    "ORGANIZACAO": "#9fd3f5",
    "PESSOA": "#f7c98b",
    "TEMPO": "#b5e8c9",
    "LOCAL": "#f3e78a",
    "LEGISLACAO": "#d9b8f2",
    "JURISPRUDENCIA": "#f5b0b0",
}
# identifiers of legal_ids: one colour for all
ID_COLOR = "#c9c3f0"
# zero-shot labels of llm_fallback (`extra_labels`) have no fixed colour
OTHER_COLOR = "#dddddd"
SOURCE_BORDER = {SOURCE_MODEL: "solid", SOURCE_RULE: "dotted", SOURCE_LLM: "dashed"}

TPL_MARK = (
    '<mark class="entity" data-label="{label}" data-source="{source}" title="{label} · {source} · {confidence}"'
    ' style="background: {bg}; border: 2px {border} #333; padding: 0.3em 0.5em; margin: 0 0.2em;'
    ' line-height: 2.2; border-radius: 0.35em;">{text}'
    '<span style="font-size: 0.75em; font-weight: bold; margin-left: 0.4rem">{label}</span>'
    '<span class="source" style="font-size: 0.7em; margin-left: 0.3rem; font-style: italic">{source}</span></mark>'
)


def label_color(label: str) -> str:
    return LABEL_COLORS.get(label) or (ID_COLOR if label in ID_LABELS else OTHER_COLOR)


def legend(labels: list[str]) -> str:
    items = "".join(
        f'<span class="legend-label" data-label="{html.escape(label)}" style="background: {label_color(label)};'
        f' padding: 0.2em 0.5em; margin-right: 0.4em; border-radius: 0.35em">{html.escape(label)}</span>'
        for label in labels
    )
    sources = " · ".join(f"{border} border: {source}" for source, border in SOURCE_BORDER.items())
    return f'<div class="legend" style="margin-bottom: 2em">{items}<div style="font-size: 0.8em">{sources}</div></div>'


def render_page(record: dict[str, Any]) -> str:
    """A standalone HTML page for one record of `annotate` (its text and entities)."""
    ents = record["entities"]
    spans = [
        {
            "start": e["start"],
            "end": e["end"],
            "label": e["label"],
            "params": {
                "source": e["source"] or "?",
                "border": SOURCE_BORDER.get(e["source"], "solid"),
                "confidence": "-" if e["confidence"] is None else f"{e['confidence']:.2f}",
            },
        }
        for e in ents
    ]
    labels = list(LENER_LABELS) + sorted({e["label"] for e in ents} - set(LENER_LABELS))
    colors = {label: label_color(label) for label in labels}
    title = html.escape(str(record["id"]))
    body = displacy.render(
        {"text": record["text"], "ents": spans, "title": None},
        style="ent",
        manual=True,
        page=False,
        options={"colors": colors, "template": TPL_MARK},
    )
    heading = f"<h2>{title}</h2><p>{len(ents)} entities</p>"
    page = TPL_PAGE.format(content=heading + legend(labels) + body, lang="pt", dir="ltr")
    return page.replace("<title>displaCy</title>", f'<meta charset="utf-8"><title>{title}</title>', 1)


def html_name(doc_id: str | int) -> str:
    """A file name per document id: readable, and unique through a short hash of the id."""
    slug = re.sub(r"[^\w.-]+", "_", str(doc_id)).strip("._")[:80] or "doc"
    digest = hashlib.sha1(str(doc_id).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug}-{digest}.html"
