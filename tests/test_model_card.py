"""The model card (meta fields + README notes) and its plot, from a run's own files."""

import json

import pytest
import typer

from pt_legal_ner.components.labels import LENER_LABELS
from scripts.evaluation.metrics_report import score_table
from scripts.evaluation.plot_training import plot, read_log
from scripts.packaging.model_card import PLOT_NAME, card_fields, card_notes, llm_limit
from tests.conftest import ROOT

RUN = {
    "hardware": "CPU Test, 2 cores",
    "wall_time_s": 5775.7,
    "command": "python -m scripts.training.train x",
    "git_commit": "abc",
}
OLLAMA = {"@llm_models": "pt_legal_ner.Ollama.v1", "name": "llama3", "base_url": None}
LLM_SKIPPED = {"threshold": 0.5, "share_sent_to_llm": 0.08, "llm": {"model": OLLAMA, "skipped": "no server"}}


@pytest.fixture
def scores():
    return json.loads((ROOT / "metrics" / "legal_ner_trf.json").read_text())


def cpu_paths(scores: dict) -> dict:
    fp32 = scores | {"ents_f": 0.8747}
    by_path = {"bf16": scores | {"ents_f": 0.8740}, "int8": scores | {"ents_f": 0.8731}, "fp32": fp32}
    dev = {path: {"ents_f": f} for path, f in (("bf16", 0.8480), ("int8", 0.8500), ("fp32", 0.8481))}
    wrapped = {path: {"ents_f": f} for path, f in (("bf16", 0.8731), ("int8", 0.8740), ("fp32", 0.8747))}
    auto = {"bf16": "CPUs with bf16", "int8": "CPUs with VNNI", "fp32": "other CPUs"}
    return {
        "auto": auto, "here": "bf16", "hardware": "CPU Bench, 2 cores", "test": by_path, "dev": dev,
        "test_wrapped": wrapped, "test_unwrapped": by_path,
    }  # fmt: skip


def test_card_carries_labels_scores_training_speed_and_limits(scores):
    meta = card_fields(scores, RUN, LLM_SKIPPED, "an encoder", cpu_paths(scores))
    assert list(meta["label_definitions"]) == list(LENER_LABELS)
    notes = card_notes(meta, scores)
    for row in score_table(scores):
        assert row in notes
    for label, definition in meta["label_definitions"].items():
        assert f"| {label} | {definition} |" in notes
    assert f"![Per-label F1 on test and the training curve]({PLOT_NAME})" in notes
    assert "5,776 s (1.6 h)" in notes and "CPU Test, 2 cores" in notes and "an encoder" in notes
    assert "- precision: fp32 (" in notes  # a run.json from before issue 38 trained in fp32
    bf16_run = card_notes(card_fields(scores, RUN | {"train_precision": "bf16", "cpu_flags": ["avx512_bf16"]},
                                      LLM_SKIPPED, "an encoder", cpu_paths(scores)), scores)  # fmt: skip
    assert "- precision: bf16 (" in bf16_run and "flags: avx512_bf16)" in bf16_run
    assert f"{scores['speed']:,.0f} words/s" in notes and "CPU Bench, 2 cores" in notes
    # the table is the fp32 model's; each CPU kind's path has its own row, with its deltas
    assert "| CPUs with bf16 | bf16 | 87.40 (-0.07) | 84.80 (-0.01) | 87.31 (-0.09) |" in notes
    assert "| CPUs with VNNI | int8 | 87.31 (-0.16) | 85.00 (+0.19) | 87.40 (+0.09) |" in notes
    assert "| other CPUs | fp32 | 87.47 (+0.00) | 84.81 (+0.00) | 87.47 (+0.00) |" in notes
    assert [row["path"] for row in meta["cpu_paths"]] == ["bf16", "int8", "fp32"]
    assert meta["cpu_paths"][0]["test_delta"] == -0.07 and "bf16 (what `auto` picks there)" in notes
    worst = min(scores["ents_per_type"], key=lambda label: scores["ents_per_type"][label]["f"])
    assert meta["limitations"][0].startswith(f"Weakest labels on test: {worst} (F1 ")
    assert "not scored against a real LLM" in notes and "no server" in notes
    assert "base_url" in notes  # how to point llm_fallback at a server


def test_llm_limit_reports_scores_when_the_llm_answered():
    measured = {
        "threshold": 0.5,
        "share_sent_to_llm": 0.1,
        "llm": {"model": OLLAMA},
        "trained_only": {"ents_f": 0.8747},
        "trained_plus_llm": {"ents_f": 0.8811},
    }
    assert "test F1 88.11 against 87.47 without it" in llm_limit(measured)


def test_plot_is_a_png_from_the_log(scores, tmp_path):
    log = tmp_path / "log.jsonl"
    rows = [{"step": s, "losses": {"ner": 10.0 / (s + 1)}, "scores": {"ents_f": 40.0 + s / 10}} for s in (0, 200, 400)]
    log.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    parsed = read_log(log)
    assert [r["f"] for r in parsed] == [40.0, 60.0, 80.0]
    assert plot(scores, parsed, "t").startswith(b"\x89PNG\r\n\x1a\n")


def test_a_bad_log_line_is_named(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text('{"step": 0, "losses": {}, "scores": {"ents_f": 1}}\n{"step": 1}\n')
    with pytest.raises(typer.BadParameter, match="log.jsonl line 2"):
        read_log(log)
