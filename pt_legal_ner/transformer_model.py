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
) -> TransformerModel:
    """``spacy-transformers.TransformerModel.v3`` whose CPU inference runs ``cpu_encoder`` without padding waste."""
    model = TransformerModel(name, get_spans, tokenizer_config, transformer_config, mixed_precision, grad_scaler_config)
    hf_node = model.layers[0]
    model.layers[0] = Model(
        hf_node.name,  # the same node name and tree: weights saved by v3 load into this model
        bucketed_forward,
        attrs={
            **hf_node.attrs,
            # not msgpack-able, so not saved: the config decides these at every load
            "cpu": CpuInference(cpu_encoder or TorchEncoder(), max_batch_pieces),
            INT8_GRAPH: b"",
        },
        shims=hf_node.shims,
        dims={name: None for name in hf_node.dim_names},
    )
    return model


class CpuInference:
    """The configured runtime and bucket size, and whether the fallback was announced."""

    def __init__(self, encoder: OnnxInt8Encoder | TorchEncoder, max_batch_pieces: int) -> None:
        self.encoder = encoder
        self.max_batch_pieces = max_batch_pieces
        self.fallback: TorchEncoder | None = None

    def runtime(self, int8_graph: bytes) -> OnnxInt8Encoder | TorchEncoder:
        """The configured runtime, or fp32 torch (announced by one warning) where it cannot run."""
        if self.fallback is not None:
            return self.fallback
        reason = self.encoder.unavailable(int8_graph)
        if reason is None:
            return self.encoder
        message = f"pt_legal_ner: {self.encoder.name} cannot run: {reason}; using the fp32 torch model"
        warnings.warn(message, stacklevel=3)
        self.fallback = TorchEncoder()
        return self.fallback


def set_int8_graph(model: TransformerModel, graph: bytes) -> None:
    """Store the serialized int8 ONNX graph in the model (it is saved with the model's weights)."""
    model.layers[0].attrs[INT8_GRAPH] = graph


def buckets(lengths: np.ndarray, max_batch_pieces: int) -> list[np.ndarray]:
    """Row indices grouped by length, each group's rows x longest row at most ``max_batch_pieces``
    (a single longer row gets a group of its own)."""
    order = np.argsort(lengths, kind="stable")
    groups: list[np.ndarray] = []
    start = 0
    for end in range(1, len(order) + 1):
        longest = lengths[order[end - 1]]
        if end - start > 1 and (end - start) * longest > max_batch_pieces:
            groups.append(order[start : end - 1])
            start = end - 1
    if start < len(order):
        groups.append(order[start:])
    return groups


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
    for rows in buckets(lengths, cpu.max_batch_pieces):
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
