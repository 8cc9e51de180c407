"""spacy-transformers' TransformerModel with a CPU path that pays for no padding.

The model is spacy-transformers' own (same layers, same weights file), so a pipeline trained with
``spacy-transformers.TransformerModel.v3`` loads into it unchanged. Only the node that calls the
Hugging Face model differs, and only on the CPU. At inference with ``batch_invariant`` (the
packaged default) it hands the batch's windows to ``cpu_encoder.encode``
(``pt_legal_ner.components.encoder_runtime``), which gives each window the hidden states it would
get alone; otherwise, and in training (``train_buckets``), it sorts the windows by piece length and
runs them in buckets padded to each bucket's own longest window (at most ``max_batch_pieces``
pieces a bucket), training each bucket with its own backward pass. A LeNER-Br training batch pads
to 1.7x its pieces in one group and 1.02x in buckets. On a GPU, spacy-transformers' own path runs.

The int8 graph that ``OnnxInt8Encoder`` runs is stored in the same node (attribute
``int8_graph``), so it travels in the pipeline's ``transformer/model`` file and in the wheel.
"""

import contextlib
import warnings
from collections.abc import Callable

import numpy as np
import torch
from spacy.util import registry
from spacy_transformers.data_classes import WordpieceBatch
from spacy_transformers.layers.transformer_model import TransformerModel
from thinc.api import ArgsKwargs, Model
from thinc.layers.pytorchwrapper import forward as pytorch_forward
from transformers.modeling_outputs import BaseModelOutput

from pt_legal_ner.components.attention import Fp32Attention
from pt_legal_ner.components.encoder_runtime import BF16_CPU_FLAGS, OnnxInt8Encoder, TorchEncoder, cpu_flags
from pt_legal_ner.components.windows import UnitWindows

INT8_GRAPH = "int8_graph"

# what one more encoder call costs, in padded pieces (torch's per-call overhead over 12 layers is a
# few ms, about as long as a few dozen pieces take on a 2-core CPU)
CALL_COST_PIECES = 32
# the training precision: "auto" is bf16 autocast where the CPU multiplies bf16 natively, else fp32
TRAIN_PRECISIONS = ("auto", "bf16", "fp32")


def training_precision(setting: str, flags: frozenset[str] | None = None) -> str:
    """``bf16`` or ``fp32``: what ``train_precision = setting`` trains in on a CPU with ``flags``."""
    if setting not in TRAIN_PRECISIONS:
        raise ValueError(f"train_precision must be one of {TRAIN_PRECISIONS}, not {setting!r}")
    if setting != "auto":
        return setting
    flags = cpu_flags() if flags is None else flags
    return "bf16" if any(flag in flags for flag in BF16_CPU_FLAGS) else "fp32"


@registry.architectures("pt_legal_ner.TransformerModel.v1")
def make_transformer_model(
    name: str,
    get_spans: Callable,
    tokenizer_config: dict = {},  # noqa: B006 (spacy-transformers' signature, read-only)
    transformer_config: dict = {},  # noqa: B006
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},  # noqa: B006
    cpu_encoder: OnnxInt8Encoder | TorchEncoder | None = None,
    max_batch_pieces: int = 4096,
    call_cost_pieces: int = CALL_COST_PIECES,
    train_buckets: bool = True,
    batch_invariant: bool = False,
    train_precision: str = "fp32",
    fp32_attention: bool = False,
) -> TransformerModel:
    """``spacy-transformers.TransformerModel.v3`` that skips padding on the CPU: inference runs
    ``cpu_encoder``, training (with ``train_buckets``) the torch model, on buckets of windows.

    ``call_cost_pieces``: what one more encoder call is worth in padded pieces (a huge value gives one
    bucket padded to the longest window, as spacy-transformers runs it). ``train_buckets=False``:
    training takes spacy-transformers' path, whose dropout masks (drawn over the padded batch)
    reproduce a v3 run exactly. ``batch_invariant``: at inference ``cpu_encoder.encode`` gives each
    window hidden states that cannot depend on the windows it shares a batch with, nor on the
    thread count (int8's activation scales are computed over the whole call; kernels block and
    split their sums by call size and threads); off, windows run in buckets. ``train_precision``:
    ``bf16`` trains the buckets under torch's bf16 autocast (matrix products in bf16, weights,
    gradients' sums, layer norms and the optimizer in fp32), ``fp32`` without it, ``auto`` bf16
    where the CPU has one of ``BF16_CPU_FLAGS``; the padded path and GPUs ignore it.
    ``fp32_attention``: in bf16 training, attention itself (``scaled_dot_product_attention``) runs
    in fp32, the products around it in bf16 (``pt_legal_ner.components.attention``)."""
    model = TransformerModel(name, get_spans, tokenizer_config, transformer_config, mixed_precision, grad_scaler_config)
    if isinstance(get_spans, UnitWindows):
        get_spans.bind(model)  # its tokenizer tells which windows give more pieces than the encoder takes
    hf_node = model.layers[0]
    model.layers[0] = Model(
        hf_node.name,  # the same node name and tree: weights saved by v3 load into this model
        bucketed_forward,
        attrs={
            **hf_node.attrs,
            # not msgpack-able, so not saved: the config decides these at every load
            "cpu": CpuInference(
                cpu_encoder or TorchEncoder(),
                max_batch_pieces,
                call_cost_pieces,
                train_buckets,
                batch_invariant,
                training_precision(train_precision),
                fp32_attention,
            ),
            INT8_GRAPH: b"",
        },
        shims=hf_node.shims,
        dims={name: None for name in hf_node.dim_names},
    )
    return model


class CpuInference:
    """The configured runtime and bucket size, and whether the fallback was announced."""

    def __init__(
        self,
        encoder: OnnxInt8Encoder | TorchEncoder,
        max_batch_pieces: int,
        call_cost_pieces: int,
        train_buckets: bool = True,
        batch_invariant: bool = False,
        train_precision: str = "fp32",
        fp32_attention: bool = False,
    ) -> None:
        self.encoder = encoder
        self.max_batch_pieces = max_batch_pieces
        self.call_cost_pieces = call_cost_pieces
        self.train_buckets = train_buckets
        self.batch_invariant = batch_invariant
        self.train_precision = train_precision
        self.fp32_attention = fp32_attention
        self.fallback: TorchEncoder | None = None
        self.chosen: tuple[bytes, OnnxInt8Encoder | TorchEncoder] | None = None

    def runtime(self, int8_graph: bytes) -> OnnxInt8Encoder | TorchEncoder:
        """The configured runtime, or fp32 torch (announced by one warning) where it cannot run;
        decided once per graph, not per batch."""
        if self.chosen is None or self.chosen[0] is not int8_graph:
            reason = self.encoder.unavailable(int8_graph)
            if reason is not None and self.fallback is None:
                message = f"pt_legal_ner: {self.encoder.name} cannot run: {reason}; using the fp32 torch model"
                warnings.warn(message, stacklevel=3)
                self.fallback = TorchEncoder()
            self.chosen = (int8_graph, self.encoder if reason is None else self.fallback)
        return self.chosen[1]


def set_int8_graph(model: TransformerModel, graph: bytes) -> None:
    """Store the serialized int8 ONNX graph in the model (it is saved with the model's weights)."""
    model.layers[0].attrs[INT8_GRAPH] = graph


def buckets(lengths: np.ndarray, max_batch_pieces: int, call_cost: int = CALL_COST_PIECES) -> list[np.ndarray]:
    """Row indices in groups that cost the fewest padded pieces: rows sorted by length, cut where
    the padding saved outweighs ``call_cost``; no group has more than ``max_batch_pieces`` padded
    pieces, except a single row longer than that (exact dynamic programming over the sorted rows)."""
    order = np.argsort(lengths, kind="stable")
    ordered = lengths[order]
    n = len(order)
    best = [0] + [None] * n  # best[j]: the cheapest cost of the first j sorted rows
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        longest = int(ordered[j - 1])
        for i in range(j - 1, -1, -1):
            size = (j - i) * longest
            if i < j - 1 and size > max_batch_pieces:
                break
            cost = best[i] + call_cost + size
            if best[j] is None or cost < best[j]:
                best[j], cut[j] = cost, i
    groups: list[np.ndarray] = []
    j = n
    while j > 0:
        groups.append(order[cut[j] : j])
        j = cut[j]
    return groups[::-1]


def bucketed_forward(model: Model, wordpieces: WordpieceBatch, is_train: bool):
    hf_model = model.shims[0]._model
    cpu = model.attrs["cpu"]
    on_cpu = next(hf_model.parameters()).device.type == "cpu"
    if not on_cpu or (is_train and not cpu.train_buckets):
        return pytorch_forward(model, wordpieces, is_train)
    ids = np.asarray(wordpieces.input_ids)
    mask = np.asarray(wordpieces.attention_mask)
    lengths = mask.sum(axis=1)
    groups = buckets(lengths, cpu.max_batch_pieces, cpu.call_cost_pieces)
    if is_train:
        return train_forward(model, wordpieces, groups, lengths)
    encoder = cpu.runtime(model.attrs[INT8_GRAPH])
    if cpu.batch_invariant:
        hidden = encoder.encode(hf_model, model.attrs[INT8_GRAPH], ids, lengths)
    else:
        hidden = None
        for rows in groups:
            width = int(lengths[rows].max())
            states = encoder(hf_model, model.attrs[INT8_GRAPH], ids[rows, :width], mask[rows, :width])
            if hidden is None:
                # padding positions stay zero: no token is aligned to them
                hidden = np.zeros((*ids.shape, states.shape[-1]), dtype=np.float32)
            hidden[rows, :width] = states
    output = BaseModelOutput(last_hidden_state=torch.from_numpy(hidden))

    def backprop(d_output):
        raise ValueError("this output came from inference (is_train=False): it has no backward pass")

    return output, backprop


def train_forward(model: Model, wordpieces: WordpieceBatch, groups: list[np.ndarray], lengths: np.ndarray):
    """Each bucket through the torch model by the shim (which keeps its graph for the backward
    pass); the output is the padded batch spacy-transformers would give, zeros where it pads."""
    shim = model.shims[0]
    inputs = {"input_ids": wordpieces.input_ids, "attention_mask": wordpieces.attention_mask}
    if wordpieces.token_type_ids is not None:
        inputs["token_type_ids"] = wordpieces.token_type_ids
    hidden = None
    parts = []
    cpu = model.attrs["cpu"]
    bf16 = cpu.train_precision == "bf16"
    fp32_attention = bf16 and cpu.fp32_attention
    for rows in groups:
        width = int(lengths[rows].max())
        bucket = {key: torch.from_numpy(np.ascontiguousarray(value[rows, :width])) for key, value in inputs.items()}
        # autograd records each op's dtype: the backward pass needs no autocast of its own
        with (
            torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext(),
            Fp32Attention() if fp32_attention else contextlib.nullcontext(),
        ):
            output, backprop_bucket = shim(ArgsKwargs(args=(), kwargs=bucket), is_train=True)
        states = output.last_hidden_state
        if hidden is None:
            hidden = states.new_zeros((*wordpieces.input_ids.shape, states.shape[-1]), dtype=torch.float32)
        index = torch.from_numpy(rows)
        hidden[index, :width] = states.detach()
        parts.append((index, width, states, backprop_bucket))

    def backprop(d_output) -> list:
        d_hidden = next(iter(d_output.values()))  # spacy-transformers names it output_0
        for index, width, states, backprop_bucket in parts:
            grad = d_hidden[index, :width].to(states.dtype)
            backprop_bucket(ArgsKwargs(args=(states,), kwargs={"grad_tensors": (grad,)}))
        return []  # the inputs are token ids: nothing to pass back

    return BaseModelOutput(last_hidden_state=hidden), backprop
