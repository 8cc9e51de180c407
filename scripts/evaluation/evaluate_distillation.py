"""Dev and test entity F1 of each teacher, of their ensemble, of the student and the soup, side by side.

    python -m scripts.evaluation.evaluate_distillation corpus/dev.spacy --test corpus/test.spacy \
        --teacher training/legal_ner_trf/model-best --teacher training/teachers/seed1/model-best ... \
        --student training/legal_ner_trf_student/model-best --soup training/legal_ner_trf_soup \
        --output metrics/distillation.json

Every model runs as its pipeline does (transformer, `ner`'s Viterbi decoding, `legal_rules`).
The ensemble decodes the teachers' mean tag probabilities, the same mean the student learned
from (scripts/training/soft_labels.py), with teacher 1's `ner` and `legal_rules`. Each
teacher's own scores come from the same pass, so the K teachers cost K encoder runs in all.
Without ``--test`` only dev is scored: `evaluate-teachers` compares the teachers, their
ensemble and the soup that way before the 6-hour student is trained.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import typer
from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from pt_legal_ner.io.atomic import write_text_atomic
from scripts.evaluation.metrics_report import pct, produced_lines
from scripts.provenance import run_facts
from scripts.training.soft_labels import load_teacher, tag_probs


def decode_and_score(nlp: Language, refs: Sequence[Doc], probs: Sequence[np.ndarray]) -> dict:
    """Entity scores of ``nlp``'s decoding and rules applied to the tag probabilities ``probs``."""
    docs = [nlp.make_doc(ref.text) for ref in refs]
    nlp.get_pipe("ner").set_annotations(docs, list(probs))
    for name, proc in nlp.pipeline:
        if name not in ("transformer", "ner"):
            docs = [proc(doc) for doc in docs]
    scores = get_ner_prf([Example(doc, ref) for doc, ref in zip(docs, refs, strict=True)])
    return {key: scores[key] for key in ("ents_p", "ents_r", "ents_f", "ents_per_type")}


def score_models(
    teacher_paths: Sequence[Path], singles: dict[str, Path], corpora: dict[str, Path], limit: int = 0
) -> dict:
    """{split: {model name: scores}} for every teacher, their ensemble and each of ``singles`` (student, soup)."""
    teachers = [load_teacher(path) for path in teacher_paths]
    others = {name: load_teacher(path) for name, path in singles.items()}
    first = teachers[0]
    tags = first.get_pipe("ner").tags
    results: dict = {}
    for split, corpus in corpora.items():
        refs = list(DocBin().from_disk(corpus).get_docs(first.vocab))[: limit or None]
        texts = [first.make_doc(ref.text) for ref in refs]
        total = [np.zeros((len(doc), len(tags)), dtype="float64") for doc in texts]
        results[split] = {}
        for k, (path, nlp) in enumerate(zip(teacher_paths, teachers, strict=True), 1):
            theirs = nlp.get_pipe("ner").tags
            order = [theirs.index(tag) for tag in tags]
            probs = list(tag_probs(nlp, [nlp.make_doc(ref.text) for ref in refs]))
            results[split][f"teacher {k}"] = decode_and_score(nlp, refs, probs) | {"model": str(path)}
            for acc, p in zip(total, probs, strict=True):
                acc += p[:, order]
            typer.echo(f"{split} teacher {k}: ents_f {100 * results[split][f'teacher {k}']['ents_f']:.2f}")
        mean = [(acc / len(teachers)).astype("float32") for acc in total]
        name = f"ensemble of {len(teachers)}"
        scores = decode_and_score(first, refs, mean)
        results[split][name] = scores | {"model": "mean of the teachers' tag probabilities"}
        typer.echo(f"{split} {name}: ents_f {100 * results[split][name]['ents_f']:.2f}")
        for name, nlp in others.items():
            probs = list(tag_probs(nlp, [nlp.make_doc(ref.text) for ref in refs]))
            results[split][name] = decode_and_score(nlp, refs, probs) | {"model": str(singles[name])}
            typer.echo(f"{split} {name}: ents_f {100 * results[split][name]['ents_f']:.2f}")
    return results


def report(results: dict) -> str:
    lines = ["# Distillation: teachers, their ensemble, the student and the soup (entity P/R/F1, %)", ""]
    for split in ("test", "dev"):
        if split not in results["scores"]:
            continue
        models = results["scores"][split]
        labels = sorted(next(iter(models.values()))["ents_per_type"])
        lines += [f"## {split}", "", "| model | " + " | ".join(labels) + " | P | R | **F** |"]
        lines.append("|---" * (len(labels) + 4) + "|")
        for name, scores in models.items():
            per = [pct(scores["ents_per_type"].get(label, {}).get("f")) for label in labels]
            lines.append(
                f"| {name} | " + " | ".join(per) + f" | {pct(scores['ents_p'])} | {pct(scores['ents_r'])} "
                f"| **{pct(scores['ents_f'])}** |"
            )
        lines.append("")
    lines += ["Models:", ""]
    lines += [f"- {name}: `{scores['model']}`" for name, scores in results["scores"]["dev"].items()]
    lines += ["", *produced_lines(results), ""]
    return "\n".join(lines)


def main(
    dev: Path = typer.Argument(..., exists=True, dir_okay=False),
    test: Path = typer.Option(None, exists=True, dir_okay=False, help="Also score test (once per reported model)"),
    teacher: list[Path] = typer.Option(..., exists=True, file_okay=False, help="A teacher pipeline; repeat"),
    student: Path = typer.Option(None, exists=True, file_okay=False, help="The distilled student"),
    soup: Path = typer.Option(None, exists=True, file_okay=False, help="The teachers' averaged weights"),
    output: Path = typer.Option(..., help="JSON to write; the markdown table goes beside it (.md)"),
    limit: int = typer.Option(0, help="score the first N docs of each split (0 = all; smoke runs)"),
) -> None:
    start = time.time()
    singles = {name: path for name, path in (("student", student), ("soup", soup)) if path is not None}
    corpora = {"dev": dev} | ({"test": test} if test is not None else {})
    scores = score_models(teacher, singles, corpora, limit)
    results = {
        "scores": scores,
        "limit": limit,
        **run_facts("scripts.evaluation.evaluate_distillation", start),
    }
    write_text_atomic(output, json.dumps(results, indent=2) + "\n")
    write_text_atomic(output.with_suffix(".md"), report(results))
    typer.echo(f"-> {output}, {output.with_suffix('.md')}")


if __name__ == "__main__":
    typer.run(main)
