"""The generated identifier set: every planted identifier found, and its figures from the finder itself."""

from pt_legal_ner.privacy.patterns import LABELS, find_ids
from scripts.evaluation.evaluate_ids import generated_set, markdown, score
from scripts.evaluation.id_samples import LOOK_ALIKES


def test_every_planted_identifier_is_found_exactly():
    items = generated_set(n_rounds=3, seed=1, n_random=0)
    rows = score(items)
    assert set(rows) == {*LABELS, "all"}
    planted = [gold for _, gold in items if gold is not None]
    assert {label for _, _, label in planted} == set(LABELS)  # every kind is in the set
    assert len(planted) == len(items) - 3 * len(LOOK_ALIKES)
    assert rows["all"]["gold"] == len(planted) and rows["all"]["recall"] == 1.0 and rows["all"]["precision"] == 1.0


def test_look_alikes_are_left_alone():
    # "c/c 288", "ADI-3767", "QI de 120", "portador de boa-fé": what courts write every day
    assert {sentence: [] for sentence in LOOK_ALIKES} == {s: find_ids(s) for s in LOOK_ALIKES}


def test_random_numbers_count_against_precision():
    # 11-digit numbers pass the CPF check about once in a hundred: some are found, and cost precision
    items = generated_set(n_rounds=0, seed=0, n_random=2000)
    rows = score(items)
    assert rows["all"]["gold"] == 0 and 0 < rows["all"]["predicted"] < 60


def test_the_report_shows_the_scores():
    items = generated_set(n_rounds=1, seed=0, n_random=10)
    results = {
        "command": "x",
        "commit": "abc",
        "generated": {"sentences": len(items), "random_numbers": 10, "seed": 0, "scores": score(items)},
        "raw_texts": {"files": 0, "found": {}},
    }
    assert "| **all** |" in markdown(results) and "100.00%" in markdown(results)
