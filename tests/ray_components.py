"""Components for the Ray tests' pipeline, imported with --code by the driver and every actor."""

import time

from spacy.language import Language


@Language.factory("slow_down", default_config={"seconds": 0.5})
def slow_down(nlp: Language, name: str, seconds: float):
    """Sleep per document, so that a job lasts long enough to be hit mid-way."""

    def component(doc):
        time.sleep(seconds)
        return doc

    return component


@Language.component("explode_on_boom")
def explode_on_boom(doc):
    if "BOOM" in doc.text:
        raise ValueError("this piece cannot be annotated")
    return doc


@Language.component("label_with_ollama_host")
def label_with_ollama_host(doc):
    """One entity labelled with this process's OLLAMA_HOST: shows what an actor was given."""
    import os

    from spacy.tokens import Span

    if len(doc):
        doc.ents = [Span(doc, 0, 1, label=os.environ.get("OLLAMA_HOST", "UNSET"))]
    return doc
