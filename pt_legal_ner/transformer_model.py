"""spacy-transformers' TransformerModel with a CPU inference path that pays for no padding.

The model is spacy-transformers' own (same layers, same weights file), so a pipeline trained with
``spacy-transformers.TransformerModel.v3`` loads into it unchanged. Only the node that calls the
Hugging Face model differs, and only at CPU inference: it sorts the batch's windows by piece length,
runs them in buckets padded to each bucket's own longest window (at most ``max_batch_pieces``
pieces a bucket), and hands each bucket to ``cpu_encoder`` (``pt_legal_ner.encoder_runtime``).
Training and GPU inference take spacy-transformers' path, on the fp32 torch model.

The int8 graph that ``OnnxInt8Encoder`` runs is stored in the same node (attribute
``int8_graph``), so it travels in the pipeline's ``transformer/model`` file and in the wheel.
"""

import warnings
from collections.abc import Callable

import numpy as np
import torch
from spacy.util import registry
from spacy_transformers.data_classes import WordpieceBatch
from spacy_transformers.layers.transformer_model import TransformerModel
from thinc.api import Model
from thinc.layers.pytorchwrapper import forward as pytorch_forward
from transformers.modeling_outputs import BaseModelOutput

from pt_legal_ner.encoder_runtime import OnnxInt8Encoder, TorchEncoder

INT8_GRAPH = "int8_graph"

# what one more encoder call costs, in padded pieces (torch's per-call overhead over 12 layers is a
# few ms, about as long as a few dozen pieces take on a 2-core CPU)
CALL_COST_PIECES = 32


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
) -> TransformerModel:
    """``spacy-transformers.TransformerModel.v3`` whose CPU inference runs ``cpu_encoder`` without padding waste.

    ``call_cost_pieces``: what one more encoder call is worth in padded pieces (a huge value gives one
    bucket padded to the longest window, as spacy-transformers runs it)."""
    model = TransformerModel(name, get_spans, tokenizer_config, transformer_config, mixed_precision, grad_scaler_config)
    hf_node = model.layers[0]
    model.layers[0] = Model(
        hf_node.name,  # the same node name and tree: weights saved by v3 load into this model
        bucketed_forward,
        attrs={
            **hf_node.attrs,
            # not msgpack-able, so not saved: the config decides these at every load
            "cpu": CpuInference(cpu_encoder or TorchEncoder(), max_batch_pieces, call_cost_pieces),
            INT8_GRAPH: b"",
        },
        shims=hf_node.shims,
        dims={name: None for name in hf_node.dim_names},
    )
    return model


class CpuInference:
    """The configured runtime and bucket size, and whether the fallback was announced."""

    def __init__(self, encoder: OnnxInt8Encoder | TorchEncoder, max_batch_pieces: int, call_cost_pieces: int) -> None:
        self.encoder = encoder
        self.max_batch_pieces = max_batch_pieces
        self.call_cost_pieces = call_cost_pieces
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
    on_cpu = next(hf_model.parameters()).device.type == "cpu"
    if is_train or not on_cpu:
        return pytorch_forward(model, wordpieces, is_train)
    cpu = model.attrs["cpu"]
    encoder = cpu.runtime(model.attrs[INT8_GRAPH])
    ids = np.asarray(wordpieces.input_ids)
    mask = np.asarray(wordpieces.attention_mask)
    lengths = mask.sum(axis=1)
    hidden = None
    for rows in buckets(lengths, cpu.max_batch_pieces, cpu.call_cost_pieces):
        width = int(lengths[rows].max())
        states = encoder(hf_model, model.attrs[INT8_GRAPH], ids[rows, :width], mask[rows, :width])
        if hidden is None:
            # padding positions stay zero: no token is aligned to them
            hidden = np.zeros((*ids.shape, states.shape[-1]), dtype=np.float32)
        hidden[rows, :width] = states
    output = BaseModelOutput(last_hidden_state=torch.from_numpy(hidden))

    def backprop(d_output):
        raise ValueError("the bucketed CPU path is for inference only")

    return output, backprop
