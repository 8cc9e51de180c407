"""The transformer's windows (pt_legal_ner.unit_windows.v1): cut at lines and sentences, so that a
change inside a line leaves every window that does not hold it as it was; halved where the encoder
would cut off pieces."""

import spacy
from spacy.util import registry
from transformers import AutoTokenizer

import pt_legal_ner  # noqa: F401
from pt_legal_ner.components.windows import UnitWindows, unit_starts

LINES = [f"Linha {n} do acórdão, relator o Ministro JOÃO DA SILVA, em Brasília." for n in range(60)]


def nlp():
    return spacy.blank("pt")


def windows(getter, doc) -> list[str]:
    return [span.text for span in getter([doc])[0]]


def test_units_start_at_paragraphs_and_at_sentences_not_after_abbreviations_nor_line_breaks():
    doc = nlp()("Conforme o art. 5º da Lei. Outro período\nlinha dois; Terceira: frase. e mais\n\nFim\n \nX")
    # a single line break is the space a PDF's or OCR's wrap replaced: "linha" starts no unit
    assert [doc[i].text for i in unit_starts(doc)] == ["Conforme", "Outro", "Terceira", "Fim", "X"]
    assert unit_starts(nlp()("")) == []


def test_windows_cover_every_token_within_the_size_and_start_at_units():
    getter = registry.span_getters.get("pt_legal_ner.unit_windows.v1")(units=5, step=4, window=30, stride=20)
    doc = nlp()("\n".join(LINES))
    spans = getter([doc])[0]
    covered = {i for span in spans for i in range(span.start, span.end)}
    assert covered == set(range(len(doc)))
    assert all(sum(not token.is_space for token in span) <= 30 for span in spans)
    starts = set(unit_starts(doc))
    # a group of 5 lines (75 words) is cut into strided windows of words from its own start
    words = [token.i for token in doc if not token.is_space]
    assert {spans[0].start, spans[3].start} <= starts and spans[1].start == words[20]
    assert [len(span) for span in getter([nlp()("")])[0]] == [0]  # as strided spans give an empty doc


def test_a_change_inside_a_line_leaves_the_windows_that_do_not_hold_it():
    """Where strided token windows move every window after the change, unit windows keep all but
    the ones holding the changed line (the benchmark-ocr case: a letter-spaced heading read as one word)."""
    changed = [*LINES]
    before, after = "A C Ó R D Ã O\n" + "\n".join(LINES), "ACÓRDÃO\n" + "\n".join(changed)
    strided = registry.span_getters.get("spacy-transformers.strided_spans.v1")(window=64, stride=48)
    units = registry.span_getters.get("pt_legal_ner.unit_windows.v1")(units=4, step=3, window=72, stride=54)
    for getter, kept in ((strided, 0), (units, None)):
        old, new = windows(getter, nlp()(before)), windows(getter, nlp()(after))
        same = sum(text in old for text in new)
        if kept is None:  # all but the first window, the one holding the heading
            assert same == len(new) - 1 and len(new) == len(old)
        else:
            assert same == kept


def test_where_a_paragraph_wraps_moves_no_window():
    """The same words with line breaks where spaces were: the same windows, word for word."""
    from scripts.evaluation.wrapped_text import wrap

    getter = registry.span_getters.get("pt_legal_ner.unit_windows.v1")(units=3, step=2, window=40, stride=30)
    text = " ".join(LINES[:30]) + "\n\n" + " ".join(LINES[30:])
    flat, wrapped = nlp()(text), nlp()(wrap(text, 50))
    assert len(wrapped) > len(flat)  # the line breaks are tokens of their own
    for doc in (flat, wrapped):
        assert len(getter([doc])[0]) > 10
    spans = [[(span.start_char, span.end_char) for span in getter([doc])[0]] for doc in (flat, wrapped)]
    ends = [[(start, end) for start, end in doc_spans] for doc_spans in spans]
    assert [start for start, _ in ends[0]] == [start for start, _ in ends[1]]
    assert [" ".join(s.text.split()) for s in getter([flat])[0]] == [
        " ".join(s.text.split()) for s in getter([wrapped])[0]
    ]


def test_a_bound_getter_halves_windows_the_encoder_would_cut_off(encoder_dir):
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir))
    getter = UnitWindows(units=20, step=16, window=256, stride=192)

    class Model:  # what the getter reads of spacy-transformers' TransformerModel
        pass

    Model.tokenizer = tokenizer

    def pieces(spans) -> list[int]:
        return [len(ids) for ids in tokenizer([s.text for s in spans])["input_ids"]]

    # case numbers are about 20 pieces each: a 256-token window of them is thousands of pieces
    doc = nlp()(" ".join(["20140110500434APO/0011249-34.2014.8.07.0018"] * 200) + " O juiz João decidiu.")
    unbound = getter([doc])[0]
    assert max(pieces(unbound)) > tokenizer.model_max_length
    getter.bind(Model())
    spans = getter([doc])[0]
    assert len(spans) > len(unbound) and max(pieces(spans)) <= tokenizer.model_max_length
    assert {i for s in spans for i in range(s.start, s.end)} == set(range(len(doc)))
