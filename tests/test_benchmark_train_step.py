"""benchmark-train-step times what each variant's name says it runs."""

import pytest
import spacy
from spacy.training import Example

import pt_legal_ner  # noqa: F401
from scripts.benchmarks.benchmark_train_step import OPS_VARIANTS, VARIANTS
from scripts.provenance import ISA_CAPS
from tests.conftest import ROOT

CONFIG = ROOT / "configs" / "legal_ner_trf.cfg"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_variant_builds_the_step_its_name_says(tiny_encoder, name):
    overrides = {"paths.encoder": str(tiny_encoder), **VARIANTS[name]}
    config = spacy.util.load_config(CONFIG, overrides=overrides)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    example = Example.from_dict(nlp.make_doc("O STF julgou a ADI 3767."), {"entities": [(2, 5, "ORGANIZACAO")]})
    optimizer = nlp.initialize(lambda: [example])
    transformer = nlp.get_pipe("transformer").model.layers[0]
    hf_config = transformer.shims[0]._model.config
    # the encoder as run: its config.json says 0.1 unless the variant's overrides set it
    assert hf_config.attention_probs_dropout_prob == (0.0 if "no attn dropout" in name else 0.1)
    assert transformer.attrs["cpu"].train_precision == ("bf16" if name.startswith("bf16") else "fp32")
    assert optimizer.torch_kernels == ("thinc Adam" not in name)
    assert transformer.attrs["cpu"].fp32_attention == ("fp32 attention" in name)


def test_the_benchmark_times_each_variant_and_lists_the_operators(
    tiny_encoder, lener_train_docs, tmp_path, monkeypatch
):
    from spacy.tokens import DocBin

    from scripts.benchmarks.benchmark_train_step import main

    corpus = tmp_path / "train.spacy"
    DocBin(docs=[doc for doc in lener_train_docs if len(doc) < 60][:24]).to_disk(corpus)
    output = tmp_path / "benchmark.txt"
    # oneDNN reads its cap at start-up, so here it only has to be reported
    for name in ISA_CAPS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    main(CONFIG, corpus, encoder=str(tiny_encoder), batches=1, rounds=1, ops=3, output=output)
    lines = output.read_text().splitlines()
    assert lines[2] == "instruction sets capped: ONEDNN_MAX_CPU_ISA=AVX2"
    timed = [line for line in lines if line.split(" s/step")[0].rstrip(" .0123456789") in VARIANTS]
    assert len(timed) == len(VARIANTS) and timed[0].endswith("1.00x")
    for name in OPS_VARIANTS:
        at = lines.index(f"{name}, one round under torch's profiler: the 3 operators with the most self time")
        rows = lines[at + 1 : at + 4]
        assert all(row.startswith("  ") and "ms/step" in row for row in rows)
        assert any("aten::" in row for row in rows)
