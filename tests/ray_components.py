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
