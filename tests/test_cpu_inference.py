"""The CPU inference path: padding-free buckets, the int8 encoder, and the fp32 fallback.

A real pipeline (the exported e5 encoder, a `legal_ner` head with untrained weights, small windows
so texts span several windows of different lengths), quantized by the project step's own code.
"""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import spacy
import torch
from spacy.training import Example
from thinc.api import Config

import pt_legal_ner  # noqa: F401
from pt_legal_ner.components.encoder_runtime import OnnxInt8Encoder, TorchEncoder, make_cpu_encoder
from pt_legal_ner.components.transformer_model import INT8_GRAPH, buckets
from scripts.packaging.quantize_encoder import build, cpu_overrides
from tests.conftest import ROOT

EXAMPLE = ROOT.parent / "shared" / "examples" / "decisao_interlocutoria.txt"

PIPELINE_CONFIG = """
[nlp]
lang = "pt"
pipeline = ["transformer","ner"]

[components]

[components.transformer]
factory = "transformer"
max_batch_items = 4096
set_extra_annotations = {"@annotation_setters":"spacy-transformers.null_annotation_setter.v1"}

[components.transformer.model]
@architectures = "spacy-transformers.TransformerModel.v3"
name = "%s"

[components.transformer.model.get_spans]
@span_getters = "spacy-transformers.strided_spans.v1"
window = 48
stride = 36

[components.transformer.model.tokenizer_config]
use_fast = true

[components.ner]
factory = "legal_ner"
"""

TRAIN = [
    ("O Supremo Tribunal Federal julgou a ação em Brasília .", [(2, 26, "ORGANIZACAO"), (44, 52, "LOCAL")]),
    ("O ministro Gilmar Mendes citou a Lei nº 8.666 .", [(11, 24, "PESSOA"), (33, 45, "LEGISLACAO")]),
]


def path_config(batch_invariant: bool = True, **cpu_encoder) -> dict:
    model = {"cpu_encoder": cpu_encoder, "batch_invariant": batch_invariant}
    return {"components": {"transformer": {"model": model}}}


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory, encoder_dir):
    """(the fp32 pipeline as `assemble` writes it, the same pipeline after `quantize-encoder`)."""
    nlp = spacy.util.load_model_from_config(Config().from_str(PIPELINE_CONFIG % encoder_dir), auto_fill=True)
    examples = [Example.from_dict(nlp.make_doc(text), {"entities": ents}) for text, ents in TRAIN]
    nlp.initialize(lambda: examples)
    # spaCy starts the softmax at zero (a constant output): random weights make the tags depend
    # on every hidden state, so paths that differ in the encoder differ in the tags
    softmax = nlp.get_pipe("ner").model.get_ref("softmax")
    weights = np.random.default_rng(0).normal(0, 0.5, softmax.get_param("W").shape).astype("float32")
    softmax.set_param("W", weights)
    root = tmp_path_factory.mktemp("cpu")
    nlp.to_disk(root / "fp32")
    build(root / "fp32", root / "int8", ROOT / "configs" / "cpu_inference.cfg")
    return root / "fp32", root / "int8"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Paragraphs of a real decision: from one window to several, of different piece lengths."""
    if not EXAMPLE.is_file():
        pytest.skip(f"{EXAMPLE} not found")
    paragraphs = [p.strip() for p in EXAMPLE.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    return paragraphs[:24]


def entities(nlp, texts: list[str], batch_size: int = 8) -> list[dict]:
    """Each doc's entities and its tagger's per-token confidence (4 decimals): the entities are
    decoded from the tag probabilities, so equal confidences on every token mean equal decisions."""
    return [
        {
            "ents": [(e.start_char, e.end_char, e.label_) for e in doc.ents],
            "confidence": np.round(doc._.token_confidence, 4).tolist(),
        }
        for doc in nlp.pipe(texts, batch_size=batch_size)
    ]


def test_buckets_hold_every_row_once_and_cut_where_padding_costs_more_than_a_call():
    lengths = np.array([30, 5, 400, 12, 12, 90, 7, 390])
    groups = buckets(lengths, max_batch_pieces=4096, call_cost=32)
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(lengths)))
    # 4 x 12 + 30 + 90 + 2 x 400 padded pieces and 4 calls: the cheapest (with 30 in the first
    # group: 4 x 30 more pieces, one call less)
    assert [lengths[g].tolist() for g in groups] == [[5, 7, 12, 12], [30], [90], [390, 400]]
    # no padding is worth an extra call when calls are free; and the budget caps every group
    assert all(len(set(lengths[g])) == 1 for g in buckets(lengths, 4096, call_cost=0))
    assert all(len(g) * lengths[g].max() <= 400 for g in buckets(lengths, 400, call_cost=32))
    # a call that costs more than any padding: one group padded to the longest (spacy-transformers' way)
    assert len(buckets(lengths, 10**9, call_cost=10**9)) == 1
    # one row longer than the budget still gets a group of its own
    assert [g.tolist() for g in buckets(np.array([900, 3]), 100)] == [[1], [0]]


def test_padding_free_buckets_give_the_entities_of_the_padded_batch(pipelines, texts):
    _, int8_dir = pipelines
    padded = spacy.load(int8_dir, config=path_config(False, precision="fp32"))
    cpu = padded.get_pipe("transformer").model.layers[0].attrs["cpu"]
    cpu.max_batch_pieces = cpu.call_cost_pieces = 10**9  # one group, as spacy-transformers runs it
    bucketed = spacy.load(int8_dir, config=path_config(False, precision="fp32"))
    bucketed.get_pipe("transformer").model.layers[0].attrs["cpu"].max_batch_pieces = 128
    expected = entities(padded, texts)
    assert len({c for doc in expected for c in doc["confidence"]}) > 100  # not a constant output
    assert entities(bucketed, texts) == expected


def test_the_quantized_pipeline_keeps_its_int8_graph_on_disk_and_in_bytes(pipelines, tmp_path):
    fp32_dir, int8_dir = pipelines
    nlp = spacy.load(int8_dir)
    node = nlp.get_pipe("transformer").model.layers[0]
    graph = node.attrs[INT8_GRAPH]
    assert graph.startswith(b"\x08")  # an ONNX ModelProto (field 1, ir_version)
    assert nlp.config["components"]["transformer"]["model"]["@architectures"] == "pt_legal_ner.TransformerModel.v1"
    # the settings come from the config at every load, not from the saved model
    assert node.attrs["cpu"].max_batch_pieces == 4096
    again = spacy.load(int8_dir, config={"components": {"transformer": {"model": {"max_batch_pieces": 1000}}}})
    assert again.get_pipe("transformer").model.layers[0].attrs["cpu"].max_batch_pieces == 1000
    copy = spacy.blank("pt").from_config(nlp.config).from_bytes(nlp.to_bytes())
    assert copy.get_pipe("transformer").model.layers[0].attrs[INT8_GRAPH] == graph
    assert spacy.load(fp32_dir).get_pipe("transformer").model.layers[0].attrs.get(INT8_GRAPH) is None


def test_int8_runs_on_onnx_runtime_close_to_fp32_with_torchs_thread_count(pipelines, texts):
    _, int8_dir = pipelines
    nlp = spacy.load(int8_dir, config=path_config(precision="int8", needs=[]))
    encoder = nlp.get_pipe("transformer").model.layers[0].attrs["cpu"].encoder
    assert isinstance(encoder, OnnxInt8Encoder)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no fallback
            docs = list(nlp.pipe(texts[:4]))
        assert list(encoder._sessions) == [1]
        assert encoder._sessions[1].get_session_options().intra_op_num_threads == 1
    finally:
        torch.set_num_threads(threads)
    fp32 = spacy.load(int8_dir, config=path_config(precision="fp32"))
    for doc, ref in zip(docs, fp32.pipe(texts[:4]), strict=True):
        a, b = doc._.trf_data.tensors[0], ref._.trf_data.tensors[0]
        real = np.abs(b).sum(-1) > 0
        cos = (a[real] * b[real]).sum(-1) / np.linalg.norm(a[real], axis=-1) / np.linalg.norm(b[real], axis=-1)
        assert cos.mean() > 0.98 and not np.allclose(a[real], b[real])


@pytest.mark.parametrize(
    ("config", "hide_onnxruntime", "reason"),
    [
        ({"precision": "int8", "needs": ["no_such_instruction"]}, False, "has none of no_such_instruction"),
        ({"precision": "int8", "needs": []}, True, "onnxruntime is not installed"),
    ],
    ids=["cpu-without-the-instructions", "onnxruntime-missing"],
)
def test_fallback_warns_once_and_gives_the_fp32_entities(pipelines, texts, config, hide_onnxruntime, reason):
    _, int8_dir = pipelines
    script = """
import json, sys, warnings
if sys.argv[3] == "hide":
    sys.modules["onnxruntime"] = None  # as if it were not installed
import spacy, pt_legal_ner
texts, config = json.loads(sys.argv[2]), json.loads(sys.argv[4])
nlp = spacy.load(sys.argv[1], config={"components": {"transformer": {"model": {"cpu_encoder": config}}}})
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from tests.test_cpu_inference import entities
    ents = entities(nlp, texts, batch_size=4)
print(json.dumps({"ents": ents, "warnings": [str(w.message) for w in caught if "pt_legal_ner" in str(w.message)]}))
"""
    args = [str(int8_dir), json.dumps(texts[:12]), "hide" if hide_onnxruntime else "keep", json.dumps(config)]
    result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(out["warnings"]) == 1 and reason in out["warnings"][0] and "fp32 torch" in out["warnings"][0]
    fp32 = spacy.load(int8_dir, config=path_config(precision="fp32"))
    expected = entities(fp32, texts[:12], batch_size=4)
    assert [{"ents": [tuple(e) for e in d["ents"]], "confidence": d["confidence"]} for d in out["ents"]] == expected


def test_a_pipeline_without_an_int8_graph_says_how_to_build_it(pipelines, texts):
    fp32_dir, _ = pipelines
    settings = Config().from_disk(ROOT / "configs" / "cpu_inference.cfg")
    settings["components"]["transformer"]["model"]["cpu_encoder"]["precision"] = "int8"
    current = spacy.util.load_config(fp32_dir / "config.cfg")
    nlp = spacy.load(fp32_dir, config=cpu_overrides(settings, current))
    with pytest.warns(UserWarning, match="quantize-encoder"):
        fast = entities(nlp, texts[:6])
    # the fp32 entities (over the same windows); confidences rounded to 4 decimals may differ in the
    # last one (one window a call)
    windows = {"get_spans": settings["components"]["transformer"]["model"]["get_spans"]}
    fp32 = spacy.load(fp32_dir, config=cpu_overrides({"components": {"transformer": {"model": windows}}}, current))
    for got, expected in zip(fast, entities(fp32, texts[:6]), strict=True):
        assert got["ents"] == expected["ents"]
        np.testing.assert_allclose(got["confidence"], expected["confidence"], atol=1.01e-4)


def test_the_cpu_encoder_rejects_an_unknown_precision():
    with pytest.raises(ValueError, match="precision must be one of"):
        make_cpu_encoder(precision="int4")
    assert isinstance(make_cpu_encoder(precision="fp32"), TorchEncoder)


def test_training_without_buckets_is_spacy_transformers_path_exactly(pipelines):
    """``train_buckets = false``: v1 trains as v3 does, dropout masks included."""
    losses = []
    unbucketed = {"components": {"transformer": {"model": {"train_buckets": False}}}}
    for pipeline, config in zip(pipelines, ({}, unbucketed), strict=True):  # v3 as assembled, v1 after quantize
        nlp = spacy.load(pipeline, config=config)
        examples = [Example.from_dict(nlp.make_doc(text), {"entities": ents}) for text, ents in TRAIN]
        spacy.util.fix_random_seed(0)
        losses.append(nlp.update(examples, sgd=nlp.resume_training(), drop=0.1))
    assert losses[0]["transformer"] > 0 and losses[0]["ner"] > 0
    assert losses[0] == losses[1]


def one_update(
    encoder_dir,
    texts: list[str],
    architecture: str,
    precision: str = "fp32",
    fp32_attention: bool = False,
    attention_dtypes: list | None = None,
) -> tuple[dict, dict, list[tuple[int, int]]]:
    """The losses, the encoder's gradients and the shapes it was called with, for one update of a
    fresh pipeline (the same seed, so the same weights) without dropout in the encoder; the dtype
    of each self-attention output goes to ``attention_dtypes``."""
    config = Config().from_str(PIPELINE_CONFIG % encoder_dir)
    model = config["components"]["transformer"]["model"]
    model["@architectures"] = architecture
    model["transformer_config"] = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    if architecture == "pt_legal_ner.TransformerModel.v1":
        model["call_cost_pieces"] = 0  # a bucket for each length
        model["train_precision"] = precision
        model["fp32_attention"] = fp32_attention
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    examples = [Example.from_dict(nlp.make_doc(text), {"entities": ents}) for text, ents in TRAIN]
    examples += [Example.from_dict(nlp.make_doc(text), {"entities": []}) for text in texts]
    spacy.util.fix_random_seed(0)
    nlp.initialize(lambda: examples)
    softmax = nlp.get_pipe("ner").model.get_ref("softmax")  # random, as in `pipelines`
    softmax.set_param("W", np.random.default_rng(0).normal(0, 0.5, softmax.get_param("W").shape).astype("float32"))
    hf_model = nlp.get_pipe("transformer").model.layers[0].shims[0]._model
    shapes: list[tuple[int, int]] = []
    hf_model.register_forward_pre_hook(
        lambda _m, _a, kwargs: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    for module in hf_model.modules() if attention_dtypes is not None else []:
        if type(module).__name__.endswith("SelfAttention"):
            module.register_forward_hook(lambda _m, _a, output: attention_dtypes.append(output[0].dtype))
    losses: dict = {}
    nlp.update(examples, drop=0.0, losses=losses, sgd=False)  # sgd=False: the gradients stay in .grad
    return losses, {name: p.grad for name, p in hf_model.named_parameters() if p.grad is not None}, shapes


def test_training_in_buckets_gives_the_losses_and_gradients_of_the_padded_batch(encoder_dir, texts):
    padded_losses, padded_grads, padded_shapes = one_update(
        encoder_dir, texts[:6], "spacy-transformers.TransformerModel.v3"
    )
    losses, grads, shapes = one_update(encoder_dir, texts[:6], "pt_legal_ner.TransformerModel.v1")
    assert len(padded_shapes) == 1 and len(shapes) > 3  # one padded batch, against a bucket per length
    assert sum(rows for rows, _ in shapes) == padded_shapes[0][0]
    assert sum(rows * width for rows, width in shapes) < 0.8 * padded_shapes[0][0] * padded_shapes[0][1]
    assert losses == pytest.approx(padded_losses, rel=1e-5) and losses["transformer"] > 0
    assert grads.keys() == padded_grads.keys() and len(grads) > 100
    for name, grad in grads.items():
        torch.testing.assert_close(grad, padded_grads[name], rtol=1e-4, atol=1e-3, msg=name)
    assert padded_grads["embeddings.word_embeddings.weight"].abs().sum() > 0


def test_bf16_training_takes_the_fp32_gradients_at_bf16_precision(encoder_dir, texts):
    fp32_losses, fp32_grads, _ = one_update(encoder_dir, texts[:6], "pt_legal_ner.TransformerModel.v1")
    losses, grads, _ = one_update(encoder_dir, texts[:6], "pt_legal_ner.TransformerModel.v1", "bf16")
    assert grads.keys() == fp32_grads.keys()
    assert all(grad.dtype == torch.float32 for grad in grads.values())  # fp32 master weights and gradients
    assert losses == pytest.approx(fp32_losses, rel=0.02) and losses != fp32_losses  # autocast did run
    for name, grad in grads.items():
        if name.endswith("attention.self.key.bias"):
            continue  # zero in exact arithmetic (softmax ignores what adds to every key): rounding noise
        cosine = torch.nn.functional.cosine_similarity(grad.flatten(), fp32_grads[name].flatten(), dim=0)
        assert cosine > 0.98, name


def test_bf16_training_can_keep_attention_in_fp32(encoder_dir, texts):
    """``fp32_attention``: the attention runs in fp32 inside the bf16 step (its output's dtype), the
    step is still bf16's (the losses differ from fp32's, within bf16 rounding) and not bf16's own."""
    bf16_dtypes: list = []
    dtypes: list = []
    ours = "pt_legal_ner.TransformerModel.v1"
    fp32_losses, _, _ = one_update(encoder_dir, texts[:6], ours)
    bf16_losses, _, _ = one_update(encoder_dir, texts[:6], ours, "bf16", False, bf16_dtypes)
    losses, grads, _ = one_update(encoder_dir, texts[:6], ours, "bf16", True, dtypes)
    assert set(bf16_dtypes) == {torch.bfloat16} and set(dtypes) == {torch.float32} and len(dtypes) >= 12
    assert losses != bf16_losses and losses != fp32_losses
    assert losses == pytest.approx(fp32_losses, rel=0.02)
    assert all(grad.dtype == torch.float32 for grad in grads.values())


@pytest.mark.parametrize(
    ("setting", "flags", "expected"),
    [
        ("auto", {"avx512f", "amx_bf16"}, "bf16"),
        ("auto", {"avx512_bf16"}, "bf16"),
        ("auto", {"avx2", "avx512_vnni"}, "fp32"),
        ("fp32", {"amx_bf16"}, "fp32"),
        ("bf16", {"avx2"}, "bf16"),
    ],
)
def test_training_precision_is_bf16_where_the_cpu_has_it_unless_set(setting, flags, expected):
    from pt_legal_ner.components.transformer_model import training_precision

    assert training_precision(setting, frozenset(flags)) == expected
    with pytest.raises(ValueError, match="train_precision must be one of"):
        training_precision("fp16", frozenset(flags))


def windows(doc) -> np.ndarray:
    """The doc's windows' hidden states end to end, each trimmed to its own pieces (a batch pads
    them to its longest)."""
    data = doc._.trf_data
    states = data.tensors[0]
    return np.concatenate([states[i, :n] for i, n in enumerate(data.wordpieces.lengths)])


def per_doc(nlp, texts: list[str], order: list[int], batch_size: int) -> dict[int, dict]:
    """Each text's entities and token confidences when the texts run in ``order``, ``batch_size`` a batch."""
    return {
        i: {
            "ents": [(e.start_char, e.end_char, e.label_) for e in doc.ents],
            "confidence": doc._.token_confidence,
            "hidden": windows(doc),
        }
        for i, doc in zip(order, nlp.pipe([texts[i] for i in order], batch_size=batch_size), strict=True)
    }


@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8"])
def test_with_batch_invariance_a_document_gets_the_same_entities_alone_and_in_any_batch(pipelines, texts, precision):
    """Each text alone, then shuffled among the others in batches of 8 and of 5 (windows of several
    lengths share calls), with 1, 2 and 3 threads: the same entities and confidences within 1e-4 on
    every precision the pipeline can run, and the encoder's hidden states bit for bit."""
    _, int8_dir = pipelines
    config = {"cpu_encoder": {"precision": precision, "needs": []}, "batch_invariant": True}
    nlp = spacy.load(int8_dir, config={"components": {"transformer": {"model": config}}})
    sample = texts[:16]
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        alone = per_doc(nlp, sample, list(range(len(sample))), batch_size=1)
        for n_threads, batch_size, seed in ((2, 8, 1), (1, 8, 2), (3, 5, 3)):
            torch.set_num_threads(n_threads)
            shuffled = list(np.random.default_rng(seed).permutation(len(sample)))
            together = per_doc(nlp, sample, shuffled, batch_size=batch_size)
            for i in range(len(sample)):
                where = f"text {i}, {n_threads} threads, batches of {batch_size}"
                assert together[i]["ents"] == alone[i]["ents"], where
                assert np.array_equal(together[i]["hidden"], alone[i]["hidden"]), where
                np.testing.assert_allclose(together[i]["confidence"], alone[i]["confidence"], atol=1e-4, err_msg=where)
    finally:
        torch.set_num_threads(threads)


def test_bf16_is_the_fp32_model_with_bf16_products(pipelines, texts):
    _, int8_dir = pipelines
    bf16 = spacy.load(int8_dir, config=path_config(precision="bf16"))
    encoder = bf16.get_pipe("transformer").model.layers[0].attrs["cpu"].encoder
    assert isinstance(encoder, TorchEncoder) and encoder.bf16 and encoder.name == "bf16 torch"
    fp32 = spacy.load(int8_dir, config=path_config(precision="fp32"))
    for doc, ref in zip(bf16.pipe(texts[:4]), fp32.pipe(texts[:4]), strict=True):
        a, b = doc._.trf_data.tensors[0], ref._.trf_data.tensors[0]
        real = np.abs(b).sum(-1) > 0
        drift = np.linalg.norm(a[real] - b[real]) / np.linalg.norm(b[real])
        assert 0 < drift < 0.05, drift  # bf16 products, not fp32 ones, and close to them


@pytest.mark.parametrize(
    ("flags", "expected", "why"),
    [
        ({"avx2", "amx_bf16", "amx_int8"}, "bf16", "natively"),
        ({"avx2", "avx512_bf16", "avx512_vnni"}, "bf16", "natively"),
        ({"avx2", "avx512_vnni"}, "int8", "bf16 would be emulated"),
        ({"asimd", "asimddp"}, "int8", "bf16 would be emulated"),
        ({"avx2", "fma"}, "fp32", "gain little"),
    ],
)
def test_auto_takes_what_the_cpu_runs_natively_and_says_why(flags, expected, why):
    from pt_legal_ner.components.encoder_runtime import AUTO_PATHS, auto_precision

    precision, reason = auto_precision(frozenset(flags))
    assert precision == expected and why in reason and precision in AUTO_PATHS


def test_auto_is_the_packaged_default_and_logs_its_choice_once(pipelines, caplog):
    import logging

    from pt_legal_ner.components.encoder_runtime import auto_precision, cpu_flags

    _, int8_dir = pipelines
    with caplog.at_level(logging.INFO, logger="pt_legal_ner"):
        nlp = spacy.load(int8_dir)
    chosen = [r.getMessage() for r in caplog.records if "the encoder runs in" in r.getMessage()]
    expected = auto_precision(cpu_flags())[0]
    assert len(chosen) == 1 and chosen[0].startswith(f"the encoder runs in {expected} on ")
    cpu = nlp.get_pipe("transformer").model.layers[0].attrs["cpu"]
    names = {"bf16": "bf16", "fp32": "fp32", "int8": "ONNX"}
    assert cpu.batch_invariant and cpu.encoder.name.startswith(names[expected])


def test_packaged_windows_give_every_token_pieces_where_strided_windows_cut_them_off(pipelines):
    """A window of case numbers is over the encoder's 512 pieces: spacy-transformers cuts it off,
    leaving the tokens past the cut without a vector; the packaged windows are halved to fit."""
    _, int8_dir = pipelines
    text = " ".join(["2014011050043420140110500434APO00112493420148070018"] * 60) + " O juiz João decidiu."
    nlp = spacy.load(int8_dir, config=path_config(precision="fp32"))
    windows = nlp.config["components"]["transformer"]["model"]["get_spans"]
    assert windows["@span_getters"] == "pt_legal_ner.unit_windows.v1" and windows["window"] == 48
    assert (nlp(text)._.trf_data.align.lengths > 0).all()
    strided = spacy.util.registry.span_getters.get("spacy-transformers.strided_spans.v1")(48, 36)
    nlp.get_pipe("transformer").model.attrs["get_spans"] = strided
    assert (nlp(text)._.trf_data.align.lengths == 0).any()
