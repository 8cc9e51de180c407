"""Where the transformer's encoder runs on CPU at inference: ONNX Runtime int8, or the torch model
in fp32 or bf16.

Each runtime has two entry points. ``encode`` (the packaged default, ``batch_invariant``) gives every
window of a batch hidden states that no other window, batch size or thread count can change: the
windows are shared out among single-threaded workers (``workers``), and each is computed alone
(int8, or a model that cannot be packed) or packed end to end in fixed-size products
(``packed_bert``). Calling a runtime on a bucket of windows (``input_ids`` and ``attention_mask``,
padded to the bucket's longest) runs the bucket as one call, whose results depend on it.
Threads follow torch's setting (``torch.set_num_threads`` / ``OMP_NUM_THREADS``), read at each call,
so a process that was given one core uses one core.
"""

import contextlib
import functools
import logging
import platform
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from spacy.util import registry

from pt_legal_ner.components import workers
from pt_legal_ner.components.packed_bert import PackedBert, unsupported, weights

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
logger = logging.getLogger("pt_legal_ner")


@contextlib.contextmanager
def evaluating(hf_model: torch.nn.Module) -> Iterator[None]:
    """No dropout inside; thinc's shim keeps the model in train mode between calls, restored after."""
    training = hf_model.training
    hf_model.eval()
    try:
        yield
    finally:
        hf_model.train(training)


class TorchEncoder:
    """The Hugging Face model as trained: fp32, or its matrix products in bf16 (as ``torch.autocast``
    runs them: inputs rounded to bf16, layer norms and residual sums in fp32)."""

    def __init__(self, bf16: bool = False) -> None:
        self.bf16 = bf16
        self.name = "bf16 torch" if bf16 else "fp32 torch"
        self._packed: dict[int, tuple[tuple, PackedBert]] = {}
        self._unpacked: set[int] = set()

    def unavailable(self, int8_graph: bytes) -> str | None:
        return None

    def __call__(self, hf_model: torch.nn.Module, int8_graph: bytes, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with evaluating(hf_model):
            return self.forward(hf_model, ids, mask)

    def forward(self, hf_model: torch.nn.Module, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            output = hf_model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
        return output.last_hidden_state.float().numpy()

    def packed(self, hf_model: torch.nn.Module) -> PackedBert | None:
        """The model packed for ``encode`` (rebuilt when training has changed its weights), or None
        where it cannot be (said once)."""
        key = id(hf_model)
        if key in self._unpacked:
            return None
        reason = unsupported(hf_model)
        if reason is not None:
            logger.info("the encoder runs each window in a call of its own: %s", reason)
            self._unpacked.add(key)
            return None
        cached = self._packed.get(key)
        if cached is None or cached[0] != weights(hf_model):
            model = PackedBert(hf_model, torch.bfloat16 if self.bf16 else torch.float32)
            cached = self._packed[key] = (model.weights, model)
        return cached[1]

    def encode(self, hf_model: torch.nn.Module, int8_graph: bytes, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Every window's hidden states, independent of the batch and of the thread count."""
        model = self.packed(hf_model)
        if model is not None:
            return workers.run(lambda rows: model.windows(ids[rows], lengths[rows]), lengths, ids.shape)

        def one(row: int, n: int) -> np.ndarray:
            window = ids[row : row + 1, :n]
            return self.forward(hf_model, window, np.ones_like(window))

        with evaluating(hf_model):  # once around all workers: none may restore train mode mid-forward
            return workers.run_each(one, lengths, ids.shape)


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

    def session(self, int8_graph: bytes, threads: int | None = None):
        threads = threads or torch.get_num_threads()
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

    def encode(self, hf_model: torch.nn.Module, int8_graph: bytes, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Each window in a call of its own (dynamic int8 scales its activations per call), on
        single-threaded sessions shared out among workers: independent of batch and thread count."""
        session = self.session(int8_graph, threads=1)

        def one(row: int, n: int) -> np.ndarray:
            window = ids[row : row + 1, :n].astype(np.int64)
            return session.run(None, {"input_ids": window, "attention_mask": np.ones_like(window)})[0]

        return workers.run_each(one, lengths, ids.shape)


PRECISIONS = ("auto", "int8", "fp32", "bf16")
# what ``auto`` picks on each kind of CPU (`evaluate-cpu` scores each path; the model card lists them)
AUTO_PATHS = {
    "bf16": f"CPUs with {' or '.join(BF16_CPU_FLAGS)} (Intel Xeon 4th gen and later, AMD Zen 4 and 5)",
    "int8": "CPUs with VNNI (AVX-512 or AVX), AMX int8 or Arm dot product, but no bf16",
    "fp32": "other CPUs (AVX2 only, for instance)",
}


def auto_precision(flags: frozenset[str], needs: Sequence[str] = INT8_CPU_FLAGS) -> tuple[str, str]:
    """The precision ``auto`` picks on a CPU with ``flags``, and why (said in one log line)."""
    native = [flag for flag in BF16_CPU_FLAGS if flag in flags]
    if native:
        return "bf16", f"this CPU has {', '.join(native)}: bf16 matrix products run natively"
    int8 = [flag for flag in needs if flag in flags]
    if int8:
        has = f"this CPU has {', '.join(int8)} but none of {', '.join(BF16_CPU_FLAGS)}"
        return "int8", f"{has}: int8 runs natively, bf16 would be emulated"
    lacks = ", ".join(BF16_CPU_FLAGS + tuple(needs))
    return "fp32", f"this CPU has none of {lacks}: bf16 and int8 would gain little, so fp32"


@registry.misc("pt_legal_ner.CpuEncoder.v1")
def make_cpu_encoder(
    precision: str = "auto", needs: Sequence[str] = INT8_CPU_FLAGS, allow_spinning: bool = False
) -> OnnxInt8Encoder | TorchEncoder:
    """``int8``: the stored int8 graph on ONNX Runtime where the CPU has one of ``needs`` (none
    listed: any CPU), else fp32 torch with one warning. ``fp32``: the torch model as trained.
    ``bf16``: the same model with bf16 matrix products (fast where the CPU has one of
    ``BF16_CPU_FLAGS``, correct anywhere). ``auto`` (the packaged default): bf16 where the CPU runs
    it natively, else int8 where it has one of ``needs``, else fp32 (``AUTO_PATHS``), said in one
    log line."""
    if precision not in PRECISIONS:
        raise ValueError(f"pt_legal_ner.CpuEncoder.v1: precision must be one of {PRECISIONS}, not {precision!r}")
    if precision == "auto":
        precision, why = auto_precision(cpu_flags(), needs)
        cpu = cpuinfo().get("model name") or platform.machine()
        logger.info("the encoder runs in %s on %s (%s)", precision, cpu, why)
    if precision == "int8":
        return OnnxInt8Encoder(needs, allow_spinning)
    return TorchEncoder(bf16=precision == "bf16")
