"""``legal_ids`` side by side with Brazil's open anonymizers on the generated identifier set:
per kind, the share of planted values each masks and the precision of what each finds, and how
many documents per second each handles.

Each tool is pinned and installed into a venv of its own (anonimizador-dp pins spaCy 3.8.4), and
runs in that venv's Python through anonymizer_runner.py; legal_ids runs the same way in this
project's Python. anonimizador-dp runs in regex mode (a blank spaCy model: its default model,
pt_core_news_lg, is not on PyPI); tarja runs as users call it, and again with ``report_invalid``
(its mistyped "suspects").

The same rules for every tool: a planted value is masked when every letter and digit of it lies
under a span the tool found, whatever label the tool gave it; a span is right when it overlaps the
planted value of its sentence (random numbers and look-alikes have none). Only the digits count
for RG and OAB ("1.234.567 SSP/DF": the issuer identifies nobody). A tool's kinds are
those its labels name (tarja's BR_NIS is PIS; anonimizador-dp's ENDEREÇO holds the CEP too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import typer

from pt_legal_ner.privacy.patterns import KINDS, LABELS
from scripts.evaluation.id_samples import generated_set
from scripts.provenance import git_commit, hardware
from scripts.venvs import pinned_python

RUNNER = Path(__file__).with_name("anonymizer_runner.py")
PINS = {"tarja": "tarja==0.12.0", "anonimizador-dp": "anonimizador-dp==1.1.0"}
TARJA = {
    "BR_CPF": "CPF", "BR_CNPJ": "CNPJ", "BR_CNS": "CNS", "BR_NIS": "PIS", "BR_CNJ": "CNJ",
    "BR_TITULO_ELEITOR": "TITULO_ELEITOR", "BR_CNH": "CNH", "BR_RENAVAM": "RENAVAM", "BR_PLACA": "PLACA",
    "BR_PIX_EVP": "PIX", "BR_TELEFONE": "TELEFONE", "BR_CEP": "CEP", "BR_CNM": "IMOVEL", "BR_CIB": "IMOVEL",
    "BR_IPTU": "IMOVEL", "BR_MATRICULA_IMOVEL": "IMOVEL", "BR_CARTAO": "CARTAO",
}  # fmt: skip
ANONIMIZADOR = {
    "CPF": "CPF", "RG": "RG", "CNH": "CNH", "TITULO_ELEITOR": "TITULO_ELEITOR", "PASSAPORTE": "PASSAPORTE",
    "DATA_NASCIMENTO": "DATA_NASCIMENTO", "DADOS_BANCARIOS": "DADOS_BANCARIOS", "EMAIL": "EMAIL",
    "TELEFONE": "TELEFONE", "ENDEREÇO": "ENDERECO", "CID": "CID", "PIS": "PIS", "CNS": "CNS",
}  # fmt: skip
# tool -> (its label -> our kind, the kinds it claims to find, the venv it runs in or None for ours)
TOOLS = {
    "legal_ids": ({label: label for label in LABELS}, set(LABELS), None),
    "anonimizador-dp": (ANONIMIZADOR, {*ANONIMIZADOR.values(), "CEP"}, "anonimizador-dp"),
    "tarja": (TARJA, set(TARJA.values()), "tarja"),
    "tarja-suspects": (TARJA, set(TARJA.values()), "tarja"),
}


def tool_python(venvs: Path, name: str) -> Path:
    """The Python of ``name``'s venv, made and given the pinned release on first use."""
    return pinned_python(venvs / name, PINS[name])


def run_tool(python: Path, tool: str, texts: list[str], ours: bool) -> dict:
    root = Path(__file__).resolve().parents[2]
    # only our own run sees this project; the others' venvs hold the tool alone
    env = (
        {**os.environ, "PYTHONPATH": str(root)} if ours else {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    )
    result = subprocess.run(
        [str(python), str(RUNNER)],
        input=json.dumps({"tool": tool, "texts": texts}),
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{tool} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


# kinds whose value carries words that identify nobody ("OAB/DF 12.345", "1.234.567 SSP/DF"): their digits count
DIGITS_ONLY = {"RG", "OAB"}


def masked(text: str, gold: tuple[int, int, str], spans: list) -> bool:
    start, end, kind = gold
    covered = set()
    for s, e, _ in spans:
        covered.update(range(s, e))
    counts = str.isdigit if kind in DIGITS_ONLY else str.isalnum
    return all(i in covered for i in range(start, end) if counts(text[i]))


def checked_valid(text: str, gold: tuple[int, int, str]) -> bool | None:
    """Whether a planted value's check digits hold (None: its kind has none), by the published rules."""
    check = KINDS[gold[2]].check
    result = None if check is None else check(text[gold[0] : gold[1]])
    return None if result is None else bool(result)


def score(items: list, spans: list, labels: dict[str, str], claims: set[str]) -> dict:
    per: dict[str, Counter] = {}
    for (text, gold), found in zip(items, spans, strict=True):
        if gold is not None:
            row = per.setdefault(gold[2], Counter())
            row["planted"] += 1
            row["masked"] += masked(text, gold, found)
            valid = checked_valid(text, gold)
            if valid is not None:
                state = "valid" if valid else "mistyped"
                row[f"planted {state}"] += 1
                row[f"masked {state}"] += masked(text, gold, found)
        for start, end, label in found:
            row = per.setdefault(labels.get(label, f"other: {label}"), Counter())
            row["predicted"] += 1
            row["right"] += gold is not None and start < gold[1] and gold[0] < end
    rows = {}
    for kind, c in [*sorted(per.items()), ("all", sum(per.values(), Counter()))]:
        rows[kind] = {
            **c,
            "claimed": kind in claims or kind == "all",
            "recall": c["masked"] / c["planted"] if c["planted"] else None,
            "recall valid": c["masked valid"] / c["planted valid"] if c["planted valid"] else None,
            "recall mistyped": c["masked mistyped"] / c["planted mistyped"] if c["planted mistyped"] else None,
            "precision": c["right"] / c["predicted"] if c["predicted"] else None,
        }
    return rows


def fmt(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def markdown(results: dict) -> str:
    tools = list(results["tools"])
    lines = [
        "# legal_ids side by side with anonimizador-dp and tarja",
        "",
        f"Produced by `{results['command']}` at commit {results['commit']}, on {results['cpu']}.",
        f"Generated set: {results['sentences']} sentences (seed {results['seed']}), {results['planted']} planted"
        " values of every kind in every format, valid and mistyped, among random numbers and look-alikes"
        " (scripts/evaluation/id_samples.py). Masked: every letter and digit of the value under a span of the"
        " tool, whatever its label. Precision: spans overlapping the planted value of their sentence.",
        "A kind the tool does not claim shows its recall in brackets (what it masked anyway, under another label).",
        "",
        "| kind | " + " | ".join(f"{t} masked | {t} precision" for t in tools) + " |",
        "|---|" + "---|---|" * len(tools),
    ]
    kinds = [k for k in [*LABELS, "all"] if any(k in results["tools"][t]["scores"] for t in tools)]
    for kind in kinds:
        cells = []
        for tool in tools:
            row = results["tools"][tool]["scores"].get(kind)
            if row is None:
                cells += ["—", "—"]
                continue
            recall = fmt(row["recall"])
            cells += [recall if row["claimed"] else f"({recall})", fmt(row["precision"])]
        lines.append(f"| {'**all**' if kind == 'all' else kind} | " + " | ".join(cells) + " |")
    others = sorted({k for t in tools for k in results["tools"][t]["scores"] if k.startswith("other")})
    if others:
        lines += ["", "Labels of other kinds (precision only): " + "; ".join(
            f"{t} {k[7:]}: {fmt(results['tools'][t]['scores'][k]['precision'])} of"
            f" {results['tools'][t]['scores'][k]['predicted']}"
            for t in tools for k in others if k in results["tools"][t]["scores"]
        )]  # fmt: skip
    lines += [
        "",
        "## Kinds with check digits: masked share of valid and of mistyped values",
        "",
        "tarja leaves a value whose check digits fail unless asked for its suspects (`report_invalid`).",
        "",
        "| kind | " + " | ".join(f"{t} valid | {t} mistyped" for t in tools) + " |",
        "|---|" + "---|---|" * len(tools),
    ]
    for kind in kinds:
        rows = [results["tools"][t]["scores"].get(kind) or {} for t in tools]
        if kind == "all" or not any(r.get("recall valid") is not None for r in rows):
            continue
        cells = [fmt(r.get(f"recall {state}")) for r in rows for state in ("valid", "mistyped")]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines += ["", "## Where legal_ids is below another tool on a kind both claim", ""]
    lines += results["below"] or ["Nowhere: at or above every other tool's masked share on every shared kind."]
    lines += ["", "## Speed (documents/s inside the find call, one process, one thread)", ""]
    lines += ["| tool | generated sentences/s | LeNER-Br raw texts/s |", "|---|---|---|"]
    for tool in tools:
        speed = results["tools"][tool]["speed"]
        lines.append(f"| {tool} | {speed['generated']:,.0f} | {speed['raw_texts']:,.1f} |")
    return "\n".join(lines) + "\n"


def below(results: dict) -> list[str]:
    ours = results["tools"]["legal_ids"]["scores"]
    out = []
    for tool, data in results["tools"].items():
        for kind, row in data["scores"].items():
            if tool == "legal_ids" or not row["claimed"] or kind == "all" or row["recall"] is None:
                continue
            if ours[kind]["recall"] < row["recall"]:
                out.append(f"- {kind}: legal_ids {fmt(ours[kind]['recall'])} < {tool} {fmt(row['recall'])}")
    return out


def main(
    raw_texts: Path = typer.Argument(..., exists=True, file_okay=False, help="LeNER-Br raw_text folder (timing)"),
    output: Path = typer.Option(..., help="JSON results; a .md table is written beside it"),
    venvs: Path = typer.Option(Path(".venvs/compare-anonymizers"), help="where each tool's venv is made"),
    rounds: int = typer.Option(40),
    random_numbers: int = typer.Option(500),
    seed: int = typer.Option(0),
) -> None:
    items = generated_set(rounds, seed, random_numbers)
    texts = [text for text, _ in items]
    documents = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(raw_texts.glob("*.txt"))]
    results = {
        "command": " ".join(["python", "-m", "scripts.evaluation.compare_anonymizers", *sys.argv[1:]]),
        "commit": git_commit(),
        "cpu": hardware(-1),
        "seed": seed,
        "sentences": len(items),
        "planted": sum(gold is not None for _, gold in items),
        "pins": PINS,
        "tools": {},
    }
    for tool, (labels, claims, env) in TOOLS.items():
        python = Path(sys.executable) if env is None else tool_python(venvs, env)
        found = run_tool(python, tool, texts, env is None)
        timed = run_tool(python, tool, documents, env is None)
        results["tools"][tool] = {
            "scores": score(items, found["spans"], labels, claims),
            "speed": {"generated": len(texts) / found["seconds"], "raw_texts": len(documents) / timed["seconds"]},
        }
        typer.echo(f"{tool}: done", err=True)
    results["below"] = below(results)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    output.with_suffix(".md").write_text(markdown(results), encoding="utf-8")
    typer.echo(markdown(results))


if __name__ == "__main__":
    typer.run(main)
