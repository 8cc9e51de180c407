"""Identifier recognition of ``legal_ids``: precision and recall on a generated set with known
values, and how many of each kind it finds in the LeNER-Br raw texts.

The generated set: sentences of a decision's kind, each with one identifier in one of the
formats courts write (valid check digits and typos, formatted, bare, with its name or
without), among numbers that are no identifier (laws, dates, sums, page and process numbers
of other schemes). A bare number without its kind's name is only in the set where its check
digits hold: nothing else tells it from any other number. Beside them, sentences with one
random bare number (8 to 20 digits) and no identifier: those whose digits happen to pass a
check (about 1 in 100 for 11 or 14 digits) are found, and count against precision.
Seeded: the same set every run. The patterns and this set were written by the same team: the
raw-text counts and the unit tests' published examples are the outside check.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path

import typer

from pt_legal_ner.privacy.br_ids import cnj_check_digits, cnpj_valid, cpf_valid
from pt_legal_ner.privacy.patterns import LABELS, UF, find_ids
from scripts.provenance import git_commit

TEMPLATES = [
    "O requerente {name}, {value}, residente em Brasília, ajuizou a ação em 12/03/2018 com base na Lei 8.078/90.",
    "Conforme fls. 1852-1888, o réu ({value}) deve R$ 12.345,67 desde o Acórdão n.999404, 20160610082800APC.",
    "Intime-se {name} ({value}), nos termos do art. 5º, inciso LV, da CF/88 e do processo 2007.01.1.001234-5.",
    "Documento assinado digitalmente sob o número 14536376; {value}. Publicado no DJe de 02/03/2016, p. 45.",
    "{value}\nRelator: Ministro HERMAN BENJAMIN, REsp 1583083/RS, julgado em 13/12/2016, Súmula 297/STJ.",
]
NAMES = ["Maria da Silva", "JOSÉ CARLOS PEREIRA", "Ana Lúcia Costa", "Pedro Alvares Cabral"]
DOMAINS = ["tjdft.jus.br", "gmail.com", "adv.oab.org.br", "empresa.com.br"]


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def cpf(rng: random.Random, valid: bool) -> str:
    while True:
        base = digits(rng, 9)
        for tail in (f"{a}{b}" for a in range(10) for b in range(10)):
            if cpf_valid(base + tail) == valid:
                return base + tail


def cnpj(rng: random.Random, valid: bool, letters: bool) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ" if letters else "0123456789"
    while True:
        base = "".join(rng.choice(alphabet) for _ in range(12))
        for tail in (f"{a}{b}" for a in range(10) for b in range(10)):
            if cnpj_valid(base + tail) == valid:
                return base + tail


def cnj(rng: random.Random, valid: bool) -> tuple[str, str]:
    sequence, year, justice, court, origin = (
        digits(rng, 7),
        str(rng.randint(1990, 2026)),
        str(rng.randint(1, 9)),
        digits(rng, 2),
        digits(rng, 4),
    )
    check = int(cnj_check_digits(sequence, year, justice, court, origin))
    check = check if valid else (check + rng.randint(1, 96)) % 97 if check else 1
    return sequence, f"{sequence}-{check:02d}.{year}.{justice}.{court}.{origin}"


def examples(rng: random.Random) -> list[tuple[str, str, str]]:
    """(label, text as written, the words before it) for every format of every kind."""
    out: list[tuple[str, str, str]] = []
    for valid in (True, False):
        c = cpf(rng, valid)
        out += [("CPF", f"{c[:3]}.{c[3:6]}.{c[6:9]}-{c[9:]}", "CPF "), ("CPF", f"{c[:9]}-{c[9:]}", "")]
        out += [("CPF", c, "inscrito no CPF sob o nº ")] + ([("CPF", c, "")] if valid else [])
        for letters in (False, True):
            n = cnpj(rng, valid, letters)
            out += [("CNPJ", f"{n[:2]}.{n[2:5]}.{n[5:8]}/{n[8:12]}-{n[12:]}", "")]
            out += [("CNPJ", n, "CNPJ nº ")] + ([("CNPJ", n, "")] if valid else [])
        sequence, number = cnj(rng, valid)
        out += [("CNJ", number, "Processo nº "), ("CNJ", number, "TST-RR-")]
        out += [("CNJ", number.replace("-", "").replace(".", ""), "autos nº ")]
        if valid:
            out += [("CNJ", number.replace("-", "").replace(".", ""), "")]
    uf, number = rng.choice(UF), rng.randint(1000, 399999)
    dotted = f"{number:,}".replace(",", ".")
    out += [
        ("OAB", f"OAB/{uf} {dotted}", "advogado "),
        ("OAB", f"OAB-{uf} nº {number}", ""),
        ("OAB", f"OAB nº {dotted}/{uf}", ""),
        ("OAB", f"OAB: {number}/{uf}", ""),
        ("OAB", f"{number}-E/OAB-{uf}", ""),
    ]
    cep = digits(rng, 8)
    out += [
        ("CEP", f"{cep[:2]}.{cep[2:5]}-{cep[5:]}", "CEP "),
        ("CEP", f"{cep[:5]}-{cep[5:]}", ""),
        ("CEP", cep, "CEP: "),
    ]
    user = rng.choice(["joao.silva", "ana_costa", "adv.pereira2", "contato"])
    out += [("EMAIL", f"{user}@{rng.choice(DOMAINS)}", "e-mail ")]
    area, line = rng.randint(11, 99), digits(rng, 4)
    out += [
        ("TELEFONE", f"({area}) 3{digits(rng, 3)}-{line}", "tel. "),
        ("TELEFONE", f"({area}) 9{digits(rng, 4)}-{line}", ""),
        ("TELEFONE", f"{area} 9{digits(rng, 4)}-{line}", "celular "),
        ("TELEFONE", f"+55 {area} 3{digits(rng, 3)}-{line}", ""),
        ("TELEFONE", f"0800 {digits(rng, 3)} {line}", ""),
        ("TELEFONE", f"3{digits(rng, 3)}-{line}", "telefone "),
    ]
    rg = digits(rng, 7)
    out += [
        ("RG", f"{rg[0]}.{rg[1:4]}.{rg[4:]} SSP/{rng.choice(UF)}", "RG nº "),
        ("RG", f"{rg[:2]}.{rg[2:5]}.{rg[5:]}-{rng.choice('0123456789X')}", "RG "),
        ("RG", rg, "carteira de identidade nº "),
    ]
    return out


def generated_set(n_rounds: int, seed: int, n_random: int) -> list[tuple[str, tuple[int, int, str] | None]]:
    """(sentence, (start, end, label)) with one identifier per sentence; (sentence, None) for
    the sentences with a random number."""
    rng = random.Random(seed)
    items: list[tuple[str, tuple[int, int, str] | None]] = []
    for _ in range(n_random):
        number = digits(rng, rng.choice([8, 10, 11, 12, 14, 16, 20]))
        items.append(
            (rng.choice(["Documento nº {}, juntado às fls. 12.", "Origem: {} e outros."]).format(number), None)
        )
    for _ in range(n_rounds):
        for label, value, before in examples(rng):
            template = rng.choice(TEMPLATES)
            head, tail = template.split("{value}")
            head = head.format(name=rng.choice(NAMES)) + before
            items.append(
                (head + value + tail.format(name=rng.choice(NAMES)), (len(head), len(head) + len(value), label))
            )
    return items


def score(items: list[tuple[str, tuple[int, int, str] | None]]) -> dict:
    per = {label: Counter() for label in LABELS}
    for text, gold in items:
        predicted = {(f.start, f.end, f.label) for f in find_ids(text)}
        if gold is not None:
            per[gold[2]]["gold"] += 1
            per[gold[2]]["found"] += gold in predicted
        for p in predicted:
            per[p[2]]["predicted"] += 1
            per[p[2]]["correct"] += p == gold
    keys = ("gold", "found", "predicted", "correct")
    rows = {}
    for label, c in [*per.items(), ("all", sum(per.values(), Counter()))]:
        rows[label] = {
            **{k: c[k] for k in keys},
            "precision": c["correct"] / max(c["predicted"], 1),
            "recall": c["found"] / max(c["gold"], 1),
        }
    return rows


def raw_counts(folder: Path) -> dict:
    counts: Counter = Counter()
    files = sorted(folder.glob("*.txt"))
    for path in files:
        for f in find_ids(path.read_text(encoding="utf-8", errors="replace")):
            counts[f"{f.label} {'valid' if f.valid else 'invalid' if f.valid is False else '(no check)'}"] += 1
    return {"files": len(files), "found": dict(sorted(counts.items()))}


def markdown(results: dict) -> str:
    lines = [
        "# legal_ids: identifier recognition",
        "",
        f"Produced by `{results['command']}` at commit {results['commit']} (rules only: no model, any CPU).",
        "",
        f"## Generated set ({results['generated']['sentences']} sentences, seed {results['generated']['seed']})",
        "",
        f"{results['generated']['random_numbers']} of them hold a random bare number and no identifier."
        " A span counts when its start, end and kind are exactly those planted.",
        "",
        "| kind | planted | found | predicted | correct | precision | recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in results["generated"]["scores"].items():
        name = "**all**" if label == "all" else label
        lines.append(
            f"| {name} | {r['gold']} | {r['found']} | {r['predicted']} | {r['correct']}"
            f" | {100 * r['precision']:.2f}% | {100 * r['recall']:.2f}% |"
        )
    raw = results["raw_texts"]
    lines += ["", f"## LeNER-Br raw texts ({raw['files']} files): found", "", "| kind | found |", "|---|---|"]
    lines += [f"| {kind} | {n} |" for kind, n in raw["found"].items()]
    return "\n".join(lines) + "\n"


def main(
    raw_texts: Path = typer.Argument(..., exists=True, file_okay=False, help="LeNER-Br raw_text folder"),
    output: Path = typer.Option(..., help="JSON results; a .md table is written beside it"),
    rounds: int = typer.Option(40, help="times every format of every kind is planted"),
    random_numbers: int = typer.Option(500, help="sentences with a random bare number and no identifier"),
    seed: int = typer.Option(0),
) -> None:
    items = generated_set(rounds, seed, random_numbers)
    results = {
        "command": " ".join(["python", "-m", "scripts.evaluation.evaluate_ids", *sys.argv[1:]]),
        "commit": git_commit(),
        "generated": {
            "sentences": len(items),
            "random_numbers": random_numbers,
            "seed": seed,
            "scores": score(items),
        },
        "raw_texts": raw_counts(raw_texts),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    output.with_suffix(".md").write_text(markdown(results), encoding="utf-8")
    typer.echo(markdown(results))


if __name__ == "__main__":
    typer.run(main)
