"""Write a markdown table of test-set scores (from `spacy evaluate --output`) with the
provenance of the run (command, commit, hardware, training wall time) next to it."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pt_legal_ner.io.atomic import write_text_atomic

DEFAULT_EVALUATION = "`python -m spacy project run evaluate` (best-on-dev model, test split used once)"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


def score_table(scores: dict) -> list[str]:
    """Markdown rows: P/R/F per label and the micro average, from `spacy evaluate --output`."""
    lines = ["| label | P | R | F |", "|---|---|---|---|"]
    for label, prf in sorted(scores.get("ents_per_type", {}).items()):
        lines.append(f"| {label} | {pct(prf['p'])} | {pct(prf['r'])} | {pct(prf['f'])} |")
    lines.append(
        f"| **micro avg** | **{pct(scores.get('ents_p'))}** | **{pct(scores.get('ents_r'))}** "
        f"| **{pct(scores.get('ents_f'))}** |"
    )
    return lines


def produced_lines(results: dict) -> list[str]:
    """The 'How this was produced' footer of an evaluation script's markdown, from its JSON."""
    limit = results["limit"]
    documents = f"the first {limit} of each split (a smoke run)" if limit else "all of each split"
    return [
        "How this was produced:",
        "",
        f"- command: `{results['command']}`",
        f"- commit: {results['commit']}",
        f"- hardware: {results['hardware']}",
        f"- wall time: {results['wall_time_s']} s",
        f"- documents: {documents}",
    ]


def report(scores: dict, run: dict, title: str, evaluation: str = DEFAULT_EVALUATION) -> str:
    lines = [f"# {title}: LeNER-Br test split", "", *score_table(scores)]
    lines += [
        "",
        f"Speed: {scores.get('speed', 0):,.0f} words/s (`spacy evaluate`, same hardware as training).",
        "",
        "How this was produced:",
        "",
        f"- training command: `{run.get('command')}`",
        f"- settings: `{json.dumps(run.get('overrides', {}), sort_keys=True)}`",
        f"- commit: {run.get('git_commit')}",
        f"- hardware: {run.get('hardware')}",
        f"- training wall time: {run.get('wall_time_s')} s",
        f"- evaluation: {evaluation}",
        "",
    ]
    return "\n".join(lines)


def main(
    scores_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    run_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    output_path: Path = typer.Argument(...),
    evaluation: str = typer.Option(DEFAULT_EVALUATION, help="How the scores were produced"),
) -> None:
    scores = json.loads(scores_path.read_text())
    run = json.loads(run_path.read_text())
    write_text_atomic(output_path, report(scores, run, scores_path.stem, evaluation))
    typer.echo(f"Wrote {output_path}: test ents_f {100 * scores['ents_f']:.2f}")


if __name__ == "__main__":
    typer.run(main)
