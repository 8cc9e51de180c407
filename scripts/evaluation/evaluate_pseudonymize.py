"""How much personal data `pseudonymize` leaves and how much else it masks, on LeNER-Br docs.

For each setting (PESSOA weight × name propagation), on each split:
- leak rate: gold PESSOA tokens not wholly inside a masked span, over all gold PESSOA tokens;
- over-masking: masked tokens that are neither gold PESSOA nor inside an identifier of
  ``legal_ids``, over all masked tokens (and the count);
- the leaked tokens themselves, counted by text ("partly masked" where a masked span covers some of
  the token's characters): whether a leak is a name or the title and "e" the annotators put
  inside a PESSOA span is for the reader to see, not for a heuristic to decide.
The encoder runs once per doc; each setting re-decodes its stored tag probabilities, so the
settings differ only in what they are meant to differ in. The pipeline is the one users get
(``legal_ids`` added if it lacks one); llm_fallback is left out, as it needs a server.

With ``--raw-texts``, each corpus is a CoNLL split whose sentences are grouped back into their
source decisions (raw_text_splits.source_documents): whole documents, as users pseudonymize them,
where a name list at the end and ``--propagate`` see the whole decision.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import spacy
import typer
from spacy.tokens import Doc, DocBin

from pt_legal_ner.annotation.masking import DEFAULT_LABELS, masked_spans, weigh_person, with_legal_ids
from pt_legal_ner.components.labels import LENER_LABELS
from pt_legal_ner.components.token_ner import TaggingNER
from pt_legal_ner.privacy.pseudonyms import PERSON, pseudonymize
from scripts.data.convert_conll import read_conll, sentence_doc
from scripts.data.raw_text_splits import source_documents
from scripts.provenance import git_commit, hardware


def whole_documents(vocab, conll: Path, raw_texts: Path) -> list[Doc]:
    """The split's sentences, one Doc per source decision (sentences joined by a space)."""
    sentences = [sentence_doc(vocab, s, conll, LENER_LABELS) for s in read_conll(conll)]
    return [Doc.from_docs([sentences[i] for i in indices]) for _, indices in source_documents(raw_texts, conll)]


def token_mask(doc: Doc, ranges: list[tuple[int, int]], *, wholly: bool = True) -> list[bool]:
    """Whether each token of ``doc`` lies wholly (or, ``wholly=False``, partly) inside the character ``ranges``."""
    covered = [False] * len(doc.text)
    for start, end in ranges:
        covered[start:end] = [True] * (end - start)
    test = all if wholly else any
    return [test(covered[t.idx : t.idx + len(t.text)]) for t in doc]


def count(gold: Doc, masked: list[bool], id_tokens: list[bool], touched: list[bool]) -> dict:
    """The counts of one document; ``touched``: tokens a masked span covers at least in part."""
    person = [t.ent_type_ == PERSON for t in gold]
    leaked = [t for t, p, m in zip(gold, person, masked, strict=True) if p and not m]
    return {
        "person_tokens": sum(person),
        "leaked": len(leaked),
        "masked_tokens": sum(masked),
        "over_masked": sum(m and not p and not i for p, m, i in zip(person, masked, id_tokens, strict=True)),
        "leaked_tokens": Counter(t.text + (" (partly masked)" if touched[t.i] else "") for t in leaked),
    }


def evaluate(nlp, golds: list[Doc], settings: list[tuple[float, bool]], batch_size: int = 8) -> dict:
    spans_of = masked_spans(with_legal_ids(nlp))  # first: it may add legal_ids to the pipeline
    ner = next(pipe for _, pipe in nlp.pipeline if isinstance(pipe, TaggingNER))
    after = [(name, pipe) for name, pipe in nlp.pipeline if name not in ("transformer", ner.name, "llm_fallback")]
    totals = {s: dict.fromkeys(("person_tokens", "leaked", "masked_tokens", "over_masked"), 0) for s in settings}
    for t in totals.values():
        t["leaked_tokens"] = Counter()
    for i in range(0, len(golds), batch_size):
        batch = golds[i : i + batch_size]
        docs = list(nlp.pipe([g.text for g in batch], disable=[ner.name, *[n for n, _ in after]]))
        scores = ner.predict(docs)
        for weight, propagate in settings:
            weigh_person(nlp, weight)
            copies = [d.copy() for d in docs]
            ner.set_annotations(copies, scores)
            for _, pipe in after:
                copies = [pipe(d) for d in copies]
            for gold, doc in zip(batch, copies, strict=True):
                spans = spans_of(doc, 0)
                result = pseudonymize(doc.text, spans, DEFAULT_LABELS, propagate=propagate)
                ids = [(s["start"], s["end"]) for s in spans if s.get("normalized") is not None]
                # the gold doc's tokens are the corpus's; its text is the one the pipeline read
                masked = token_mask(gold, result.spans)
                touched = token_mask(gold, result.spans, wholly=False)
                for key, value in count(gold, masked, token_mask(gold, ids), touched).items():
                    totals[(weight, propagate)][key] += value
    rows = []
    for (weight, propagate), t in totals.items():
        rows.append(
            {
                "person_weight": weight,
                "propagate": propagate,
                **t,
                "leaked_tokens": dict(t["leaked_tokens"].most_common()),
                "leak_rate": t["leaked"] / max(t["person_tokens"], 1),
                "over_masking": t["over_masked"] / max(t["masked_tokens"], 1),
            }
        )
    return {"rows": rows}


def markdown(results: dict, command: str, model: str) -> str:
    lines = [
        "# Pseudonymization: names left and words over-masked (LeNER-Br)",
        "",
        f"Produced by `{command}` with the pipeline `{model}` ({results['model_note']}),"
        f" at commit {results['commit']} on {results['hardware']}.",
        "Leak rate: gold PESSOA tokens not wholly inside a masked span / gold PESSOA tokens.",
        "Over-masking: masked tokens neither gold PESSOA nor inside an identifier / masked tokens.",
        "Labels masked: " + ", ".join(DEFAULT_LABELS) + ".",
        "",
    ]
    for split, result in results["splits"].items():
        lines += [
            f"## {split} ({result['docs']} {'whole decisions' if results.get('whole') else 'docs'})",
            "",
            "| PESSOA weight | propagate names | PESSOA tokens | leaked | leak rate | masked tokens"
            " | over-masked | over-masking |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in result["rows"]:
            lines.append(
                f"| {r['person_weight']:g} | {'yes' if r['propagate'] else 'no'} | {r['person_tokens']} | {r['leaked']}"
                f" | {100 * r['leak_rate']:.2f}% | {r['masked_tokens']} | {r['over_masked']}"
                f" | {100 * r['over_masking']:.2f}% |"
            )
        lines += ["", "Leaked tokens:", ""]
        for r in result["rows"]:
            leaked = ", ".join(f"{text} ×{n}" for text, n in r["leaked_tokens"].items()) or "none"
            lines.append(f"- weight {r['person_weight']:g}, {'' if r['propagate'] else 'not '}propagated: {leaked}")
        lines.append("")
    return "\n".join(lines)


def main(
    model: Path = typer.Argument(..., exists=True, file_okay=False, help="pipeline folder"),
    corpora: list[Path] = typer.Argument(..., exists=True, help="split=path pairs are named by file stem"),
    output: Path = typer.Option(..., help="JSON results; a .md table is written beside it"),
    weights: str = typer.Option("1,4,16,64", help="PESSOA weights to measure, comma-separated (64: the default)"),
    limit: int = typer.Option(0, help="first N docs of each corpus (0 = all)"),
    model_note: str = typer.Option("", help="what the pipeline is, for the report (e.g. its training step)"),
    raw_texts: Path = typer.Option(None, help="LeNER-Br raw_text: corpora are CoNLL splits, scored as whole decisions"),
) -> None:
    nlp = spacy.load(model, exclude=["llm_fallback"])
    settings = [(float(w), p) for w in weights.split(",") for p in (False, True)]
    results = {"splits": {}, "model_note": model_note or str(model), "whole": raw_texts is not None}
    for path in corpora:
        if raw_texts is not None:
            golds = whole_documents(nlp.vocab, path, raw_texts)
        else:
            golds = list(DocBin().from_disk(path).get_docs(nlp.vocab))
        golds = golds[:limit] if limit else golds
        typer.echo(f"{path.stem}: {len(golds)} docs", err=True)
        results["splits"][path.stem] = {"docs": len(golds), **evaluate(nlp, golds, settings)}
    command = " ".join(["python", "-m", "scripts.evaluation.evaluate_pseudonymize", *sys.argv[1:]])
    results["command"], results["commit"], results["hardware"] = command, git_commit(), hardware(-1)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    output.with_suffix(".md").write_text(markdown(results, command, str(model)) + "\n", encoding="utf-8")
    typer.echo(output.with_suffix(".md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    typer.run(main)
