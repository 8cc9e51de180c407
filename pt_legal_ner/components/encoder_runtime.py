"""Where the transformer's encoder runs on CPU at inference: ONNX Runtime int8, or the fp32 torch model.

Both take a bucket of windows (``input_ids`` and ``attention_mask``, padded to the bucket's own
longest window) and return the last hidden states as a float32 array. Threads follow torch's
setting (``torch.set_num_threads`` / ``OMP_NUM_THREADS``), read at each call, so a process that was
given one core uses one core.
"""

import functools
import logging
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


# Instructions that run bf16 matrix products natively (Intel AMX, AVX-512 BF16 on Xeon 4th gen and
# later and on AMD Zen 4/5): there torch's bf16 autocast ran the encoder 3.0x as fast as fp32 with a
# relative drift of 0.006 in the last hidden state (../shared/docs/FINDINGS.md). Elsewhere bf16 runs
# correctly but slowly (emulated).
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


class TorchEncoder:
    """The Hugging Face model as trained: fp32, or its matrix products in bf16 (``torch.autocast``:
    the same fp32 weights, each product's inputs rounded to bf16, results accumulated in fp32)."""

    def __init__(self, bf16: bool = False) -> None:
        self.bf16 = bf16
        self.name = "bf16 torch (autocast)" if bf16 else "fp32 torch"

    def unavailable(self, int8_graph: bytes) -> str | None:
        return None

    def __call__(self, hf_model: torch.nn.Module, int8_graph: bytes, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        # thinc's shim keeps the model in train mode between calls: no dropout at inference
        training = hf_model.training
        hf_model.eval()
        try:
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                output = hf_model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
        finally:
            hf_model.train(training)
        return output.last_hidden_state.float().numpy()


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


PRECISIONS = ("auto", "int8", "fp32", "bf16")
logger = logging.getLogger("pt_legal_ner")


def auto_precision(flags: frozenset[str]) -> tuple[str, str]:
    """The precision ``auto`` picks on a CPU with ``flags``, and why (said in one log line)."""
    native = [flag for flag in BF16_CPU_FLAGS if flag in flags]
    if native:
        return "bf16", f"this CPU has {', '.join(native)}: bf16 matrix products run natively"
    return "fp32", f"this CPU has none of {', '.join(BF16_CPU_FLAGS)}: bf16 would be emulated, so fp32"


@registry.misc("pt_legal_ner.CpuEncoder.v1")
def make_cpu_encoder(
    precision: str = "int8", needs: Sequence[str] = INT8_CPU_FLAGS, allow_spinning: bool = False
) -> OnnxInt8Encoder | TorchEncoder:
    """``int8``: the stored int8 graph on ONNX Runtime where the CPU has one of ``needs`` (none
    listed: any CPU), else fp32 torch with one warning. ``fp32``: the torch model as trained.
    ``bf16``: the same model with bf16 matrix products (fast where the CPU has one of
    ``BF16_CPU_FLAGS``, correct anywhere). ``auto``: bf16 where the CPU runs it natively, else fp32,
    said in one log line (int8, whose accuracy costs more, only when asked for)."""
    if precision not in PRECISIONS:
        raise ValueError(f"pt_legal_ner.CpuEncoder.v1: precision must be one of {PRECISIONS}, not {precision!r}")
    if precision == "auto":
        precision, why = auto_precision(cpu_flags())
        cpu = cpuinfo().get("model name") or platform.machine()
        logger.info("the encoder runs in %s on %s (%s)", precision, cpu, why)
    if precision == "int8":
        return OnnxInt8Encoder(needs, allow_spinning)
    return TorchEncoder(bf16=precision == "bf16")
