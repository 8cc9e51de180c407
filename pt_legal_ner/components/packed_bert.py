"""A BERT encoder over windows packed end to end: no padding, and no window can change another.

Hugging Face runs a batch as one padded tensor, so a window's hidden states depend on its batch:
the padded width changes the attention's shapes, and the matrix kernels choose their blocking (and
so the order of their sums) by the number of rows in the call. Here the windows of a batch are laid
end to end as one sequence of rows. Every matrix product runs on blocks of exactly ``chunk_rows``
rows (the last one zero-filled), one call per block: with one shape and one thread (``workers``),
each row is computed the same way whatever its neighbours (checked bit for bit, fp32 and bf16:
tests/test_packed_encoder.py). Attention runs per window, on its own pieces only. So a window gets
the same hidden states alone or in any batch, and only the tail of a last block is computed in vain.

``bf16`` runs the products as torch's bf16 autocast does (inputs rounded to bf16, bf16 results; layer
norms and residual sums in fp32), with the weights rounded once instead of at every call."""

import threading
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from pt_legal_ner.components import workers

# Rows per product, by precision. The zero-filled tail of each worker's last block is wasted work,
# so the smaller the better, down to where a block gets slower per row: fp32 products cost the same
# per row from 128 rows, bf16 ones (AMX) need more. Measured in the pipeline on an Intel Xeon with
# AMX, 2 cores: fp32 3,120 / 3,249 / 2,967 / 2,824 words/s with 64 / 128 / 512 / 1024 rows (buckets:
# 3,277); bf16 8,076 / 8,239 / 8,045 / 6,999 with 256 / 512 / 1024 / 2048.
CHUNK_ROWS = {torch.float32: 128, torch.bfloat16: 512}


def unsupported(hf_model: torch.nn.Module) -> str | None:
    """Why this model cannot run packed (None: it can). Only BERT's own layout is implemented."""
    config = hf_model.config
    if config.model_type != "bert":
        return f"packing is implemented for BERT encoders, not {config.model_type!r}"
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        return f"packing needs absolute positions, not {config.position_embedding_type!r}"
    if config.hidden_act != "gelu" or config.is_decoder:
        return "packing needs an encoder with exact GELU"
    return None


@dataclass
class Layer:
    qkv: tuple[torch.Tensor, torch.Tensor]  # query, key and value as one product
    out: tuple[torch.Tensor, torch.Tensor]
    norm1: torch.nn.LayerNorm
    up: tuple[torch.Tensor, torch.Tensor]
    down: tuple[torch.Tensor, torch.Tensor]
    norm2: torch.nn.LayerNorm


def weights(hf_model: torch.nn.Module) -> tuple:
    """What identifies the model's current weights: a training step changes their version."""
    return tuple((p.data_ptr(), p._version) for p in hf_model.parameters())


class PackedBert:
    """The encoder of ``hf_model`` (a transformers BertModel), its products in ``dtype``."""

    def __init__(self, hf_model: torch.nn.Module, dtype: torch.dtype, chunk_rows: int | None = None) -> None:
        self.dtype = dtype
        self.chunk_rows = chunk_rows or CHUNK_ROWS[dtype]
        self.heads = hf_model.config.num_attention_heads
        self.embeddings = hf_model.embeddings
        self.weights = weights(hf_model)
        self._buffers = threading.local()

        def product(*linears: torch.nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
            weight = torch.cat([linear.weight.detach() for linear in linears])
            bias = torch.cat([linear.bias.detach() for linear in linears])
            # transposed once into a copy (a view of the model's fp32 weights ran 2-3% slower)
            return weight.t().contiguous().to(dtype), bias.to(dtype)

        self.layers = []
        for layer in hf_model.encoder.layer:
            attention = layer.attention
            self.layers.append(
                Layer(
                    qkv=product(attention.self.query, attention.self.key, attention.self.value),
                    out=product(attention.output.dense),
                    norm1=attention.output.LayerNorm,
                    up=product(layer.intermediate.dense),
                    down=product(layer.output.dense),
                    norm2=layer.output.LayerNorm,
                )
            )

    def padded(self, rows: int) -> int:
        return -(-rows // self.chunk_rows) * self.chunk_rows

    def buffer(self, name: str, rows: int, width: int) -> torch.Tensor:
        """This thread's buffer ``name``, kept from call to call: a batch's products then write into
        memory already mapped (with large blocks served by mmap, as `annotate` sets glibc, fresh
        tensors page-faulted at every product)."""
        held = self._buffers.__dict__.setdefault("held", {})
        tensor = held.get((name, width))
        if tensor is None or tensor.shape[0] < rows:
            tensor = held[name, width] = torch.empty((rows, width), dtype=self.dtype)
        return tensor[:rows]

    def linear(self, x: torch.Tensor, weight_bias: tuple[torch.Tensor, torch.Tensor], rows: int, name: str):
        """``x @ weight + bias`` in blocks of exactly ``chunk_rows`` rows, into this thread's buffer
        ``name``; ``x`` is either the ``rows`` real rows (copied into zero-filled blocks) or blocks."""
        weight, bias = weight_bias
        padded = self.padded(rows)
        if x.shape[0] != padded or x.dtype != self.dtype:
            blocks = self.buffer("input", padded, x.shape[1])
            blocks[:rows] = x[:rows]
            blocks[rows:] = 0
            x = blocks
        out = self.buffer(name, padded, weight.shape[1])
        for start in range(0, padded, self.chunk_rows):
            end = start + self.chunk_rows
            torch.addmm(bias, x[start:end], weight, out=out[start:end])
        return out

    def attention(self, qkv: torch.Tensor, spans: list[tuple[int, int]]) -> torch.Tensor:
        """Each window attends to its own pieces only; the result is in blocks, zero past the windows."""
        size = qkv.shape[1] // 3
        context = self.buffer("context", qkv.shape[0], size)
        context[spans[-1][1] :] = 0
        for start, end in spans:
            q, k, v = qkv[start:end].view(end - start, 3, self.heads, -1).permute(1, 2, 0, 3).unsqueeze(1)
            window = F.scaled_dot_product_attention(q, k, v)  # (1, heads, pieces, head size)
            context[start:end].view(end - start, self.heads, -1).copy_(window[0].transpose(0, 1))  # one copy
        return context

    def __call__(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Last hidden states (float32, zero where ``ids`` is padding) of the windows ``ids[r, :lengths[r]]``."""
        return workers.padded(enumerate(self.windows(ids, lengths)), ids.shape)

    @torch.inference_mode()
    def windows(self, ids: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
        """Each window's last hidden states (float32, its own pieces only)."""
        lengths = [int(n) for n in lengths]
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(int).tolist()
        spans = list(zip(starts[:-1], starts[1:], strict=True))
        rows = starts[-1]
        pieces = torch.from_numpy(np.concatenate([ids[row, :n] for row, n in enumerate(lengths)]).astype(np.int64))
        positions = torch.from_numpy(np.concatenate([np.arange(n) for n in lengths]).astype(np.int64))
        # BERT's embeddings, in its order of sums: (word + token type 0) + position
        embeddings = self.embeddings
        x = embeddings.word_embeddings(pieces) + embeddings.token_type_embeddings.weight[0]
        x = embeddings.LayerNorm(x + embeddings.position_embeddings(positions))
        for layer in self.layers:
            context = self.attention(self.linear(x, layer.qkv, rows, "qkv"), spans)
            x = layer.norm1(x.add_(self.linear(context, layer.out, rows, "out")[:rows]))  # x is ours: add in place
            hidden = torch.ops.aten.gelu_(self.linear(x, layer.up, rows, "up"))  # the blocks' tails too: harmless
            x = layer.norm2(x.add_(self.linear(hidden, layer.down, rows, "down")[:rows]))
        states = x.numpy()
        return [states[start:end] for start, end in spans]
