"""The pseudonymization report counts and names the gold PESSOA tokens a run leaves readable."""

import spacy
from spacy.tokens import Doc, Span

from scripts.evaluation.evaluate_pseudonymize import count, token_mask


def gold_doc():
    # the corpus's tokens: LeNER-Br has a run-on "Santos.Cumpre-me" inside a name
    words = "Rel . Ministro Celso de Mello e o paciente Santos.Cumpre-me informar".split()
    doc = Doc(spacy.blank("pt").vocab, words=words)
    doc.ents = [Span(doc, 2, 6, "PESSOA"), Span(doc, 9, 10, "PESSOA")]
    return doc


def test_leaked_tokens_are_counted_and_named():
    doc = gold_doc()
    text = doc.text
    # the names are masked, the title and the run-on token's tail are not
    ranges = [(text.index("Celso"), text.index(" e o")), (text.index("Santos"), text.index("Santos") + len("Santos"))]
    result = count(doc, token_mask(doc, ranges), [False] * len(doc), token_mask(doc, ranges, wholly=False))
    assert result["person_tokens"] == 5 and result["leaked"] == 2
    assert result["leaked_tokens"] == {"Ministro": 1, "Santos.Cumpre-me (partly masked)": 1}
    assert result["masked_tokens"] == 3 and result["over_masked"] == 0


def test_masking_nothing_leaks_every_name_token_and_masking_a_word_over_masks():
    doc = gold_doc()
    nothing = [False] * len(doc)
    assert count(doc, nothing, nothing, nothing)["leaked"] == 5
    word = (doc.text.index("paciente"), doc.text.index("paciente") + len("paciente"))
    result = count(doc, token_mask(doc, [word]), nothing, nothing)
    assert result["over_masked"] == 1 and result["leaked"] == 5
