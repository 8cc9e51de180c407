"""Where the transformer's encoder runs on CPU at inference: ONNX Runtime int8, or the fp32 torch model.

Both take a bucket of windows (``input_ids`` and ``attention_mask``, padded to the bucket's own
longest window) and return the last hidden states as a float32 array. Threads follow torch's
setting (``torch.set_num_threads`` / ``OMP_NUM_THREADS``), read at each call, so a process that was
given one core uses one core.
"""

import functools
import platform
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from spacy.util import registry

# Instructions that make int8 matrix products much faster than fp32 ones: x86 VNNI (AVX-512 or
# AVX), AMX, Arm's dot product. Without them int8 gains little (1.11x the fp32 path on an AVX2-only
# EPYC: metrics/benchmark.txt) for an accuracy cost, so the fp32 model is the default there.
INT8_CPU_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp")


@functools.cache
def cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo (empty where Linux does not provide it)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (x86 "flags", Arm "Features")."""
    info = cpuinfo()
    return frozenset((info.get("flags") or info.get("Features") or "").split())


class TorchEncoder:
    """The fp32 Hugging Face model, as trained."""

    name = "fp32 torch"

    def unavailable(self, int8_graph: bytes) -> str | None:
        return None

    def __call__(self, hf_model: torch.nn.Module, int8_graph: bytes, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        # thinc's shim keeps the model in train mode between calls: no dropout at inference
        training = hf_model.training
        hf_model.eval()
        try:
            with torch.inference_mode():
                output = hf_model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
        finally:
            hf_model.train(training)
        return output.last_hidden_state.numpy()


class OnnxInt8Encoder:
    """The int8 graph that `quantize-encoder` stored in the pipeline, run by ONNX Runtime."""

    name = "ONNX Runtime int8"

    def __init__(self, needs: Sequence[str], allow_spinning: bool) -> None:
        self.needs = tuple(needs)
        self.allow_spinning = allow_spinning
        self._sessions: dict[int, object] = {}

    def unavailable(self, int8_graph: bytes) -> str | None:
        """Why this runtime cannot run here, or None."""
        if not int8_graph:
            return "the pipeline holds no int8 encoder (build it with `spacy project run quantize-encoder`)"
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return "onnxruntime is not installed (pip install onnxruntime)"
        if self.needs:
            flags = cpu_flags()
            if not flags & set(self.needs):
                cpu = cpuinfo().get("model name") or platform.machine()
                return (
                    f"this CPU ({cpu}) has none of {', '.join(self.needs)}, without which int8 gains little "
                    "over fp32 (set the runtime's `needs` to [] to use int8 anyway)"
                )
        return None

    def session(self, int8_graph: bytes):
        threads = torch.get_num_threads()
        if threads not in self._sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # idle pool threads sleep instead of spinning on cores the process may share
            options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.allow_spinning else "0")
            self._sessions[threads] = ort.InferenceSession(int8_graph, options, providers=["CPUExecutionProvider"])
        return self._sessions[threads]

    def __call__(self, hf_model: torch.nn.Module, int8_graph: bytes, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids.astype(np.int64, copy=False), "attention_mask": mask.astype(np.int64, copy=False)}
        return self.session(int8_graph).run(None, feeds)[0]


PRECISIONS = ("int8", "fp32")


@registry.misc("pt_legal_ner.CpuEncoder.v1")
def make_cpu_encoder(
    precision: str = "int8", needs: Sequence[str] = INT8_CPU_FLAGS, allow_spinning: bool = False
) -> OnnxInt8Encoder | TorchEncoder:
    """``int8``: the stored int8 graph on ONNX Runtime where the CPU has one of ``needs`` (none
    listed: any CPU), else fp32 torch with one warning. ``fp32``: the torch model as trained."""
    if precision not in PRECISIONS:
        raise ValueError(f"pt_legal_ner.CpuEncoder.v1: precision must be one of {PRECISIONS}, not {precision!r}")
    return OnnxInt8Encoder(needs, allow_spinning) if precision == "int8" else TorchEncoder()
