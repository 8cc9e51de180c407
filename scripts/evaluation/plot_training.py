"""Plot a run for its model card: per-label F1 on test (from `spacy evaluate`) and the training
curve (dev F1 and losses at each evaluation, from the run's JSONL log)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib
import typer

from pt_legal_ner.io.atomic import write_bytes_atomic

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)


def read_log(path: Path) -> list[dict]:
    """The evaluation rows of a training log (dev F1 in percent); names the line that is not one."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append({"step": int(row["step"]), "losses": row["losses"], "f": float(row["scores"]["ents_f"])})
        except (ValueError, KeyError, TypeError) as err:
            raise typer.BadParameter(f"{path} line {number} is not a training log row: {err}") from None
    if not rows:
        raise typer.BadParameter(f"{path} has no evaluation rows")
    return rows


def plot(scores: dict, rows: list[dict], title: str) -> bytes:
    per_type = sorted(scores["ents_per_type"].items())
    labels = [label for label, _ in per_type] + ["micro avg"]
    f1 = [100 * prf["f"] for _, prf in per_type] + [100 * scores["ents_f"]]
    fig, (bars, curve) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 1.2]})
    drawn = bars.barh(labels, f1, color=["#4c72b0"] * len(per_type) + ["#222222"])
    bars.bar_label(drawn, fmt="%.1f", padding=3)
    bars.set_xlim(0, 105)
    bars.invert_yaxis()
    bars.set_xlabel("F1 on the test split")
    bars.set_title("Per-label F1 (test)")

    steps = [row["step"] for row in rows]
    curve.plot(steps, [row["f"] for row in rows], "o-", color="#4c72b0", label="dev F1")
    curve.set_xlabel("training step")
    curve.set_ylabel("dev entity F1")
    curve.set_ylim(0, 100)
    losses = curve.twinx()
    for name, color in (("ner", "#dd8452"), ("transformer", "#55a868")):
        losses.plot(steps, [row["losses"].get(name, 0.0) for row in rows], "--", color=color, label=f"{name} loss")
    losses.set_ylabel("loss since the previous evaluation")
    handles = curve.get_legend_handles_labels()[0] + losses.get_legend_handles_labels()[0]
    curve.legend(handles, [h.get_label() for h in handles], loc="center right")
    curve.set_title("Training curve")
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def main(
    scores_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="`spacy evaluate --output` JSON"),
    log_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="the run's train_log.jsonl"),
    output_path: Path = typer.Argument(..., help="PNG to write"),
) -> None:
    scores = json.loads(scores_path.read_text())
    rows = read_log(log_path)
    title = f"{scores_path.stem}: test F1 {100 * scores['ents_f']:.2f}, best dev F1 {max(r['f'] for r in rows):.2f}"
    write_bytes_atomic(output_path, plot(scores, rows, title))
    typer.echo(f"Wrote {output_path} ({len(rows)} evaluations)")


if __name__ == "__main__":
    typer.run(main)
