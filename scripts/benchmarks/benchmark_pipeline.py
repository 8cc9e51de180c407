"""CPU speed of the packaged pipeline, side by side with its fp32 path and a Hugging Face pipeline.

Each variant runs in a fresh process (its own `spacy.load` time and peak RSS), on the same texts
of a .spacy corpus, in alternating rounds; the figures are medians. Words are spaCy tokens of the
same texts for every variant. No Ollama server is reachable (a closed port), as on a CPU server
without one. Variants:

- ``default``: the pipeline as `spacy.load` gives it (``precision = "auto"``: bf16 where the CPU has
  amx_bf16/avx512_bf16, int8 where it has VNNI, else fp32; batch-invariant);
- ``no-llm``: the same without ``llm_fallback`` (``exclude``): what the LLM component costs when no
  server answers (its first fault's retries fall in the warm-up batch, then its breaker holds);
- ``bf16``, ``int8``, ``fp32``: each precision forced (int8 with ``needs = []``, bf16 emulated where
  not native), batch-invariant as packaged;
- ``*-buckets``: the same precision with ``batch_invariant = false``: windows sorted into
  buckets, one call each (the path before; a window's result then depends on its bucket);
- ``fp32-padded``: the fp32 torch model with every window of a batch padded to the longest, as
  spacy-transformers runs it (the pipeline before the CPU path);
- ``hf``: ``transformers.pipeline("token-classification")`` on the same fp32 encoder, saved as a
  Hugging Face folder and loaded by transformers alone (its head is untrained: only its speed is
  compared), one text at a time, as its docs advise on CPU.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import typer

from pt_legal_ner.components.encoder_runtime import cpu_flags
from pt_legal_ner.io.atomic import write_text_atomic
from scripts.provenance import git_commit, hardware, isa_caps

BUCKETS = {"batch_invariant": False}
ONE_GROUP = {"max_batch_pieces": 10**9, "call_cost_pieces": 10**9}
VARIANTS = {
    "default": {},
    "no-llm": {},
    "bf16": {"cpu_encoder": {"precision": "bf16"}},
    "int8": {"cpu_encoder": {"precision": "int8", "needs": []}},
    "fp32": {"cpu_encoder": {"precision": "fp32"}},
    "bf16-buckets": {"cpu_encoder": {"precision": "bf16"}, **BUCKETS},
    "int8-buckets": {"cpu_encoder": {"precision": "int8", "needs": []}, **BUCKETS},
    "fp32-buckets": {"cpu_encoder": {"precision": "fp32"}, **BUCKETS},
    "fp32-padded": {"cpu_encoder": {"precision": "fp32"}, **BUCKETS, **ONE_GROUP},
    "hf": None,
}
# the CPU's instructions that decide which precision is fast (encoder_runtime's lists)
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "avx512_bf16", "amx_bf16")

RUN = """
import json, sys, time, warnings
t = time.perf_counter()
target, texts_file, batch_size, variant = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
exclude = json.loads(sys.argv[5])
spent = [0.0]
import logging
said = []  # what the pipeline says it chose ("the encoder runs in ...")
handler = logging.Handler()
handler.emit = lambda record: said.append(record.getMessage())
logging.getLogger("pt_legal_ner").addHandler(handler)
logging.getLogger("pt_legal_ner").setLevel(logging.INFO)
texts = json.load(open(texts_file, encoding="utf-8"))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    if variant is None:  # a Hugging Face folder: transformers alone, as its users run it
        from transformers import pipeline
        hf = pipeline("token-classification", model=target, device=-1, aggregation_strategy="simple", stride=64)
        run = lambda batch: list(hf(batch, batch_size=1))
    else:
        import spacy, pt_legal_ner
        config = {"components": {"transformer": {"model": variant}}} if variant else {}
        nlp = spacy.load(target, config=config, exclude=exclude)
        run = lambda batch: list(nlp.pipe(batch, batch_size=batch_size))
        # the encoder's share of the time: the transformer node that runs it, timed
        node = nlp.get_pipe("transformer").model.layers[0]
        forward = node._func
        def timed(*args, _spent=spent, **kwargs):
            start = time.perf_counter()
            try:
                return forward(*args, **kwargs)
            finally:
                _spent[0] += time.perf_counter() - start
        node._func = timed
    load_s = time.perf_counter() - t
    run(texts[:batch_size])  # warm-up
    spent[0] = 0.0
    t = time.perf_counter()
    run(texts)
    seconds = time.perf_counter() - t
# this process's own peak (ru_maxrss would carry the parent's across fork and exec)
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps({"load_s": load_s, "seconds": seconds, "peak_rss_mib": rss, "encoder_s": spent[0], "said": said,
                  "warnings": sorted({str(w.message) for w in caught if "pt_legal_ner" in str(w.message)})}))
"""


def export_hf(pipeline: str, folder: Path) -> None:
    """The spaCy pipeline's fp32 encoder as a Hugging Face token-classification folder (its head is
    untrained: only speed is compared)."""
    import spacy
    from transformers import BertForTokenClassification

    import pt_legal_ner  # noqa: F401

    nlp = spacy.load(pipeline, exclude=["llm_fallback"])
    trf = nlp.get_pipe("transformer").model
    labels = nlp.get_pipe("ner").labels
    config = trf.transformer.config.__class__.from_dict(
        trf.transformer.config.to_dict() | {"num_labels": len(labels), "id2label": dict(enumerate(labels))}
    )
    model = BertForTokenClassification(config)
    model.bert.load_state_dict(trf.transformer.state_dict(), strict=False)
    model.save_pretrained(folder)
    trf.tokenizer.save_pretrained(folder)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_variant(target: str, texts_file: Path, batch_size: int, variant: dict | None, exclude: list, env: dict) -> dict:
    args = [target, str(texts_file), str(batch_size), json.dumps(variant), json.dumps(exclude)]
    out = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark variant {variant} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def wheel_size(packages: Path) -> str:
    wheels = sorted(packages.glob("*/dist/*.whl"))
    return ", ".join(f"{w.name} {w.stat().st_size / 2**20:.0f} MiB" for w in wheels) or "no wheel built"


def main(
    pipeline: str = typer.Argument(..., help="the packaged pipeline's folder (or package name)"),
    corpus: Path = typer.Argument(..., exists=True, dir_okay=False, help=".spacy file whose texts are used"),
    n_texts: int = typer.Option(100),
    repeats: int = typer.Option(3),
    batch_size: int = typer.Option(8),
    variants: str = typer.Option(",".join(VARIANTS), help="comma-separated, from: " + ", ".join(VARIANTS)),
    packages: Path = typer.Option(Path("packages"), help="where the built wheel is, for its size"),
    exclude: str = typer.Option("", help="components to leave out of the spaCy variants, comma-separated"),
    output: Path | None = typer.Option(None, help="also write the figures to this file"),
) -> None:
    import spacy
    from spacy.tokens import DocBin

    names = variants.split(",")
    excluded = [name for name in exclude.split(",") if name]
    env = dict(os.environ, OLLAMA_HOST=f"127.0.0.1:{closed_port()}", HF_HUB_OFFLINE="1")
    work = Path(tempfile.mkdtemp(prefix="benchmark-"))
    try:
        nlp = spacy.blank("pt")  # the pipeline's tokenizer: words are counted the same way for every variant
        texts = [doc.text for doc in DocBin().from_disk(corpus).get_docs(nlp.vocab)][:n_texts]
        n_words = sum(len(doc) for doc in nlp.tokenizer.pipe(texts))
        texts_file = work / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        if "hf" in names:
            export_hf(pipeline, work / "hf")
        runs: dict[str, list[dict]] = {name: [] for name in names}
        for round_ in range(repeats):
            for name in names:
                target = str(work / "hf") if name == "hf" else pipeline
                leave_out = [*excluded, "llm_fallback"] if name == "no-llm" else excluded
                result = run_variant(target, texts_file, batch_size, VARIANTS[name], leave_out, env)
                share = result["encoder_s"] / result["seconds"]
                runs[name].append(result | {"words_per_s": n_words / result["seconds"], "encoder_share": share})
                typer.echo(f"round {round_ + 1} {name}: {runs[name][-1]['words_per_s']:,.0f} words/s", err=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    keys = ("load_s", "words_per_s", "peak_rss_mib", "encoder_share")
    seen = [flag for flag in SPEED_FLAGS if flag in cpu_flags()]
    med = {name: {key: statistics.median(r[key] for r in rs) for key in keys} for name, rs in runs.items()}
    lines = [
        f"hardware: {hardware(-1)}; torch threads: {os.environ.get('OMP_NUM_THREADS', 'default')}; "
        f"commit: {git_commit()}; pipeline: {pipeline}",
        f"texts: the first {n_texts} of {corpus} ({n_words:,} words), nlp.pipe batch_size {batch_size}; "
        f"median of {repeats} alternating rounds, each variant in a fresh process; "
        f"excluded from the spaCy variants: {', '.join(excluded) or 'nothing'}",
        f"wheel: {wheel_size(packages)}",
        f"CPU flags seen: {', '.join(seen) or 'none'} (of {', '.join(SPEED_FLAGS)})",
        *(f"instruction sets capped: {cap}" for cap in [isa_caps()] if cap),
        "",
        "| variant | words/s | × hf | × fp32-padded | × no-llm | encoder share | peak RSS MiB | spacy.load s |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def ratio(name: str, base: str) -> str:
        return f"{med[name]['words_per_s'] / med[base]['words_per_s']:.2f}" if base in med else "n/a"

    for name in names:
        m = med[name]
        lines.append(
            f"| {name} | {m['words_per_s']:,.0f} | {ratio(name, 'hf')} | {ratio(name, 'fp32-padded')} "
            f"| {ratio(name, 'no-llm')} | {'n/a' if name == 'hf' else format(m['encoder_share'], '.0%')} "
            f"| {m['peak_rss_mib']:,.0f} | {m['load_s']:.2f} |"
        )
    warned = sorted({w for rs in runs.values() for r in rs for w in r["warnings"]})
    lines += ["", *(f"warning: {w}" for w in warned)]
    if "default" in runs:
        lines += [f"default: {message}" for message in dict.fromkeys(runs["default"][0]["said"])]
    typer.echo("\n".join(lines))
    if output is not None:
        write_text_atomic(output, "\n".join(lines) + "\n")


if __name__ == "__main__":
    typer.run(main)
