import numpy as np
import pytest

from pt_legal_ner.components.iob import IobError, decode, iob_to_spans, tag_names, viterbi

TAGS = tag_names(["PESSOA", "LOCAL"])  # O B-PESSOA I-PESSOA B-LOCAL I-LOCAL


def test_iob_to_spans():
    assert iob_to_spans(["B-PESSOA", "I-PESSOA", "O", "B-LOCAL", "B-LOCAL", "I-LOCAL"]) == [
        (0, 2, "PESSOA"),
        (3, 4, "LOCAL"),
        (4, 6, "LOCAL"),
    ]


@pytest.mark.parametrize("tags, position", [(["O", "I-PESSOA"], 1), (["B-LOCAL", "I-PESSOA"], 1), (["I-LOCAL"], 0)])
def test_broken_sequences_are_rejected_at_their_position(tags, position):
    with pytest.raises(IobError) as err:
        iob_to_spans(tags)
    assert err.value.position == position


def test_viterbi_never_starts_an_entity_with_i():
    # argmax alone would say O I-PESSOA I-PESSOA: invalid
    probs = np.array(
        [[0.9, 0.05, 0.02, 0.02, 0.01], [0.1, 0.4, 0.45, 0.03, 0.02], [0.1, 0.05, 0.8, 0.03, 0.02]], dtype="f"
    )
    path = [TAGS[i] for i in viterbi(probs, TAGS)]
    assert path == ["O", "B-PESSOA", "I-PESSOA"]
    iob_to_spans(path)  # valid


def test_viterbi_paths_are_always_valid():
    rng = np.random.default_rng(0)
    for _ in range(200):
        probs = rng.dirichlet(np.ones(len(TAGS)) * 0.3, size=rng.integers(1, 12)).astype("f")
        iob_to_spans([TAGS[i] for i in viterbi(probs, TAGS)])


def test_decode_confidence_is_the_weakest_token():
    probs = np.array(
        [[0.05, 0.9, 0.01, 0.02, 0.02], [0.3, 0.05, 0.6, 0.03, 0.02], [0.97, 0.01, 0.01, 0.005, 0.005]], dtype="f"
    )
    spans, token_conf = decode(probs, TAGS)
    assert spans == [(0, 2, "PESSOA", pytest.approx(0.6))]
    assert token_conf.tolist() == pytest.approx([0.9, 0.6, 0.97])


def test_decode_empty():
    spans, conf = decode(np.zeros((0, len(TAGS)), dtype="f"), TAGS)
    assert spans == [] and len(conf) == 0
