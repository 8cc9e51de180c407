"""compare-llm scores trained-only against trained + LLM, through either model, on a gold corpus."""

import json
import subprocess
import sys

import pytest
from spacy.tokens import DocBin

from tests.conftest import ROOT
from tests.fake_ollama import FakeOllama
from tests.llm_pipeline import sentence_prompt_nlp

SENTENCES = {"O recurso veio de Goiânia .": ("Goiânia", "LOCAL"), "Julgado em 2015 .": ("2015", "TEMPO")}


def answer(prompt: str) -> str:
    """The pipeline's prompt here is the sentence alone; the LLM names its one entity."""
    text, label = SENTENCES[prompt]
    return json.dumps({"entities": [{"text": text, "label": label}]})


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A pipeline without trained NER (so every sentence is unsure) and a gold corpus of two docs."""
    folder = tmp_path_factory.mktemp("compare")
    nlp = sentence_prompt_nlp(folder, {"@llm_models": "pt_legal_ner.Ollama.v1", "max_retries": 0, "timeout": 5.0})
    nlp.to_disk(folder / "pipeline")
    gold = DocBin()
    for sentence, (surface, label) in SENTENCES.items():
        doc = nlp.make_doc(sentence)
        start = sentence.index(surface)
        doc.ents = [doc.char_span(start, start + len(surface), label=label)]
        doc[0].is_sent_start = True
        gold.add(doc)
    gold.to_disk(folder / "test.spacy")
    return folder


def compare(project, *options):
    command = [
        sys.executable,
        "-m",
        "scripts.evaluation.compare_llm",
        str(project / "pipeline"),
        str(project / "test.spacy"),
    ]
    command += [str(project / "out.json"), str(project / "out.md"), *options]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads((project / "out.json").read_text())


@pytest.mark.parametrize("api, path", [("ollama", ""), ("openai", "/v1")])
def test_scores_trained_only_against_trained_plus_llm(project, api, path):
    with FakeOllama(answer=answer) as fake:
        result = compare(project, "--api", api, "--name", "llama3", "--base-url", fake.url + path)
    assert result["test_sentences"] == 2 and result["share_sent_to_llm"] == 1.0
    assert result["trained_only"]["ents_f"] == 0.0
    assert result["trained_plus_llm"]["ents_f"] == 1.0
    assert result["llm"]["stats"]["sent"] == 2 and result["llm"]["stats"]["answered"] == 2
    assert result["llm"]["model"]["base_url"] == fake.url + path
    assert "trained_plus_llm | 100.00 | 100.00 | 100.00" in (project / "out.md").read_text()


def test_without_a_server_only_the_share_is_reported(project):
    with FakeOllama() as fake:
        url = fake.url
    result = compare(project, "--base-url", url)  # that server is gone
    assert result["share_sent_to_llm"] == 1.0 and "trained_plus_llm" not in result
    assert "cannot reach" in result["llm"]["skipped"]
