"""The packed encoder (fixed-size products, attention per window) and its single-threaded workers:
the Hugging Face model's numbers, and the same bits for a window whatever else runs with it."""

import logging

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel, RobertaConfig, RobertaModel

from pt_legal_ner.components import workers
from pt_legal_ner.components.encoder_runtime import TorchEncoder
from pt_legal_ner.components.packed_bert import PackedBert, unsupported
from tests.conftest import ROOT

EXAMPLE = ROOT.parent / "shared" / "examples" / "decisao_interlocutoria.txt"


@pytest.fixture(scope="module")
def encoder(encoder_dir):
    return AutoModel.from_pretrained(encoder_dir).eval()


@pytest.fixture(scope="module")
def batch(encoder_dir) -> tuple[np.ndarray, np.ndarray]:
    """14 windows of real text, 20 to 500 pieces (two 512-row blocks and more), padded with 1s."""
    if not EXAMPLE.is_file():
        pytest.skip(f"{EXAMPLE} not found")
    pieces = AutoTokenizer.from_pretrained(encoder_dir)(EXAMPLE.read_text(encoding="utf-8"))["input_ids"]
    lengths = np.random.default_rng(0).integers(20, 500, 14)
    lengths[0] = 500
    ids = np.ones((len(lengths), 500), dtype=np.int64)
    for row, n in enumerate(lengths):
        ids[row, :n] = (pieces * 3)[row * 41 : row * 41 + n]
    return ids, lengths


def hugging_face(model, ids, lengths, bf16: bool) -> list[np.ndarray]:
    """Each window alone through transformers (bf16: under torch's autocast)."""
    out = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for row, n in enumerate(lengths):
            state = model(input_ids=torch.from_numpy(ids[row : row + 1, :n])).last_hidden_state
            out.append(state[0].float().numpy())
    return out


def drift(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_packed_fp32_is_the_hugging_face_model_and_bf16_its_autocast(encoder, batch):
    ids, lengths = batch
    fp32 = PackedBert(encoder, torch.float32)(ids, lengths)
    bf16 = PackedBert(encoder, torch.bfloat16)(ids, lengths)
    reference = hugging_face(encoder, ids, lengths, bf16=False)
    autocast = hugging_face(encoder, ids, lengths, bf16=True)
    for row, n in enumerate(lengths):
        assert drift(fp32[row, :n], reference[row]) < 1e-5
        assert 1e-4 < drift(bf16[row, :n], reference[row]) < 0.02  # bf16 products, close to fp32
        assert drift(bf16[row, :n], autocast[row]) < 0.01
        assert not fp32[row, n:].any() and not bf16[row, n:].any()  # padding stays zero


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_a_window_gets_the_same_bits_alone_in_any_batch_and_with_any_thread_count(encoder, batch, dtype):
    ids, lengths = batch
    runtime = TorchEncoder(bf16=dtype == torch.bfloat16)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        whole = runtime.encode(encoder, b"", ids, lengths)
        rng = np.random.default_rng(1)
        for n_threads in (1, 2, 3, 8):
            torch.set_num_threads(n_threads)
            rows = rng.permutation(len(lengths))[: rng.integers(1, len(lengths))]
            part = runtime.encode(encoder, b"", ids[rows], lengths[rows])
            assert np.array_equal(part, whole[rows]), f"{n_threads} threads, rows {rows}"
            assert torch.get_num_threads() == n_threads  # the caller's setting is left as it was
        torch.set_num_threads(2)
        alone = runtime.encode(encoder, b"", ids[3:4, : lengths[3]], lengths[3:4])
        assert np.array_equal(alone[0], whole[3, : lengths[3]])
    finally:
        torch.set_num_threads(threads)


def test_a_training_step_rebuilds_the_packed_weights(encoder_dir, batch):
    ids, lengths = batch
    model = AutoModel.from_pretrained(encoder_dir).eval()
    runtime = TorchEncoder(bf16=False)
    before = runtime.encode(model, b"", ids[:2], lengths[:2])
    with torch.no_grad():
        model.encoder.layer[5].output.dense.weight.mul_(1.5)  # in place, as an optimizer step is
    after = runtime.encode(model, b"", ids[:2], lengths[:2])
    reference = hugging_face(model, ids[:2], lengths[:2], bf16=False)
    assert not np.array_equal(before, after)
    assert all(drift(after[row, :n], reference[row]) < 1e-5 for row, n in enumerate(lengths[:2]))


def test_a_model_that_cannot_be_packed_runs_each_window_alone_and_says_so(encoder_dir, batch, caplog):
    ids, lengths = batch
    config = RobertaConfig(
        vocab_size=50000,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=600,
    )
    torch.manual_seed(0)
    roberta = RobertaModel(config).train()  # as thinc's shim leaves it: encode must not drop out
    assert "BERT" in unsupported(roberta)
    assert unsupported(BertModel(BertConfig(hidden_size=64, num_attention_heads=2, intermediate_size=128))) is None
    runtime = TorchEncoder()
    with caplog.at_level(logging.INFO, logger="pt_legal_ner"):
        whole = runtime.encode(roberta, b"", ids, lengths)
        part = runtime.encode(roberta, b"", ids[5:9], lengths[5:9])
    said = [r.getMessage() for r in caplog.records if "call of its own" in r.getMessage()]
    assert len(said) == 1 and "roberta" in said[0]
    assert roberta.training  # left as it was
    reference = hugging_face(roberta.eval(), ids, lengths, bf16=False)
    assert all(np.array_equal(whole[row, :n], reference[row]) for row, n in enumerate(lengths))
    assert np.array_equal(part, whole[5:9])


def test_workers_get_every_window_once_in_groups_of_about_equal_pieces():
    lengths = np.random.default_rng(2).integers(1, 512, 101)
    for n in (1, 2, 3, 7, 200):
        groups = workers.share(lengths, n)
        assert len(groups) == min(n, len(lengths))
        assert sorted(np.concatenate(groups).tolist()) == list(range(len(lengths)))
        loads = [int(lengths[g].sum()) for g in groups]
        assert max(loads) - min(loads) <= lengths.max()


def _encode_in_child(runtime, encoder, ids, lengths, queue) -> None:
    queue.put(runtime.encode(encoder, b"", ids, lengths))


def test_a_forked_process_encodes_with_workers_of_its_own(encoder, batch):
    """A process forked after the workers started (a multiprocessing pool, say) has none of them."""
    import multiprocessing

    ids, lengths = batch
    runtime = TorchEncoder(bf16=True)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        here = runtime.encode(encoder, b"", ids[:4], lengths[:4])  # the parent's workers now exist
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        args = (runtime, encoder, ids[:4], lengths[:4], queue)
        child = context.Process(target=_encode_in_child, args=args, daemon=True)
        child.start()
        try:
            there = queue.get(timeout=60)  # a child waiting on its parent's workers never answers
        finally:
            child.kill()
    finally:
        torch.set_num_threads(threads)
    assert np.array_equal(there, here)
