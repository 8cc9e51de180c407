"""compare-anonymizers: the scoring rules, and a real tool (tarja, pinned, no dependencies) installed
into a venv of its own and run through the runner, as the step does."""

from scripts.evaluation.compare_anonymizers import TARJA, TOOLS, below, masked, run_tool, score, tool_python
from scripts.evaluation.id_samples import generated_set

TEXT = "O autor, RG nº 1.234.567 SSP/DF, CPF 111.444.777-35."
RG = (TEXT.index("1.234"), TEXT.index(", CPF"), "RG")
CPF = (TEXT.index("111"), TEXT.index("35.") + 2, "CPF")


def test_a_value_is_masked_only_when_all_of_it_is_under_spans():
    assert masked(TEXT, CPF, [(CPF[0], CPF[1], "X")])
    assert masked(TEXT, CPF, [(CPF[0], CPF[0] + 7, "X"), (CPF[0] + 7, CPF[1], "Y")])  # two spans, any labels
    assert not masked(TEXT, CPF, [(CPF[0], CPF[1] - 1, "X")])  # one digit left
    # an RG's digits count, not its issuer
    assert masked(TEXT, RG, [(RG[0], RG[0] + 9, "RG")]) and not masked(TEXT, RG, [(RG[0], RG[0] + 5, "RG")])


def test_scores_count_masked_values_and_spans_over_nothing_planted():
    items = [(TEXT, CPF), ("Documento nº 12345678909.", None)]
    spans = [[(CPF[0], CPF[1], "BR_CPF")], [(13, 24, "BR_CPF")]]
    rows = score(items, spans, TARJA, set(TARJA.values()))
    assert rows["CPF"]["recall"] == 1.0 and rows["CPF"]["precision"] == 0.5 and rows["CPF"]["claimed"]
    assert rows["CPF"]["recall valid"] == 1.0 and rows["CPF"]["recall mistyped"] is None


def test_below_names_each_kind_where_legal_ids_masks_less():
    ours = {"CPF": {"recall": 0.9, "claimed": True}, "all": {"recall": 0.9, "claimed": True}}
    theirs = {"CPF": {"recall": 1.0, "claimed": True}, "OAB": {"recall": 1.0, "claimed": False}}
    lines = below({"tools": {"legal_ids": {"scores": ours}, "tarja": {"scores": theirs}}})
    assert lines == ["- CPF: legal_ids 90.0% < tarja 100.0%"]


def test_tarja_runs_pinned_in_its_own_venv_and_is_scored_beside_legal_ids(tmp_path):
    import sys
    from pathlib import Path

    items = generated_set(n_rounds=1, seed=0, n_random=20)
    texts = [text for text, _ in items]
    python = tool_python(tmp_path, "tarja")
    assert tool_python(tmp_path, "tarja") == python  # the second call finds the pin installed
    theirs = run_tool(python, "tarja", texts, ours=False)
    ours = run_tool(Path(sys.executable), "legal_ids", texts, ours=True)
    labels, claims, _ = TOOLS["tarja"]
    rows = score(items, theirs["spans"], labels, claims)
    # tarja finds valid CPFs, and leaves their typos (its default)
    assert rows["CPF"]["recall valid"] == 1.0 and rows["CPF"]["recall mistyped"] < 1.0
    assert score(items, ours["spans"], *TOOLS["legal_ids"][:2])["all"]["recall"] == 1.0
    assert theirs["seconds"] > 0
