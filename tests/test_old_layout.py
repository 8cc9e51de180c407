"""A pipeline built and packaged by the flat layout (the code at d5b1ef7, before the subpackages)
loads with today's code and gives the same entities on the example decision, its lines joined
(since issue 38 a line break is read as the space it replaced: decoding and windows differ there).

The old code comes from this repository's history (git archive): it builds the packaged pipeline
as its project did (a transformer + legal_ner + legal_rules model, `spacy assemble` of
configs/llm_fallback.cfg, `quantize-encoder`), on a 2-layer encoder with a random head so that
the entities depend on every layer; the old code and today's each load it in a process of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

OLD_COMMIT = "d5b1ef7"
EXAMPLE = ROOT.parent / "shared" / "examples" / "decisao_interlocutoria.txt"

# run by the old code, in the old tree: a small model as `train` would save it
BUILD = """
import json, sys
import numpy as np, spacy
from spacy.training import Example
from thinc.api import Config
import pt_legal_ner
encoder, out = sys.argv[1], sys.argv[2]
config = Config().from_disk("configs/legal_ner_trf.cfg", overrides={"paths.encoder": encoder})
nlp = spacy.util.load_model_from_config(config, auto_fill=True)
train = [("O Supremo Tribunal Federal julgou a ação em Brasília .", [(2, 26, "ORGANIZACAO"), (44, 52, "LOCAL")]),
         ("O ministro Gilmar Mendes citou a Lei nº 8.666 .", [(11, 24, "PESSOA"), (33, 45, "LEGISLACAO")])]
nlp.initialize(lambda: [Example.from_dict(nlp.make_doc(t), {"entities": e}) for t, e in train])
softmax = nlp.get_pipe("ner").model.get_ref("softmax")
softmax.set_param("W", np.random.default_rng(0).normal(0, 0.5, softmax.get_param("W").shape).astype("float32"))
nlp.to_disk(out)
spacy.tokens.DocBin(docs=[nlp.make_doc(t) for t, _ in train]).to_disk("sample.spacy")
"""

# run by either code: the entities of the example, with each component's view
ENTITIES = """
import json, sys
import spacy
import pt_legal_ner
nlp = spacy.load(sys.argv[1])
doc = nlp(open(sys.argv[2], encoding="utf-8").read())
print(json.dumps({
    "pipeline": nlp.pipe_names,
    "ents": [[e.start_char, e.end_char, e.label_, e._.source, round(float(e._.confidence or 0), 4)] for e in doc.ents],
    "ids": [[s.start_char, s.end_char, s.label_] for s in doc.spans["legal_ids"]],
    "llm": doc._.llm_fallback["sent"],
}))
"""


def run(cmd: list[str], cwd: Path, env: dict) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{cmd[:4]}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def old_pipeline(tmp_path_factory, tiny_encoder) -> tuple[Path, Path, dict]:
    archive = subprocess.run(
        ["git", "archive", OLD_COMMIT, "pt_legal_ner", "configs", "scripts"], cwd=ROOT, capture_output=True
    )
    if archive.returncode != 0:
        pytest.skip(f"commit {OLD_COMMIT} is not in this checkout's history: {archive.stderr.decode()[:200]}")
    if not EXAMPLE.is_file():
        pytest.skip(f"{EXAMPLE} not found")
    old = tmp_path_factory.mktemp("old_layout")
    tarfile.open(fileobj=BytesIO(archive.stdout)).extractall(old, filter="data")
    (old / "scripts" / "__init__.py").touch()  # ignored in the repository (.gitignore), as the project makes it
    (old / "examples.json").write_text(json.dumps([{"text": "O STF", "entities": []}]), encoding="utf-8")
    # the old tree first on the path, nothing of today's; no LLM server: a closed port
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"PYTHONPATH": str(old), "OLLAMA_HOST": f"127.0.0.1:{free_port()}", "HF_HUB_OFFLINE": "1"}
    run([sys.executable, "-c", BUILD, str(tiny_encoder), "trained"], old, env)
    assemble = [sys.executable, "-m", "spacy", "assemble", "configs/llm_fallback.cfg", "fp32"]
    run([*assemble, "--code", "pt_legal_ner/__init__.py", "--paths.trained", "trained", "--paths.llm_examples",
         "examples.json"], old, env)  # fmt: skip
    quantize = [sys.executable, "-m", "scripts.packaging.quantize_encoder", "fp32", "pipeline"]
    run([*quantize, "--config", "configs/cpu_inference.cfg", "--sample", "sample.spacy"], old, env)
    flat = old / "example.txt"
    flat.write_text(" ".join(EXAMPLE.read_text(encoding="utf-8").split()), encoding="utf-8")
    entities = json.loads(run([sys.executable, "-c", ENTITIES, "pipeline", str(flat)], old, env).splitlines()[-1])
    return old / "pipeline", flat, entities


def test_a_pipeline_of_the_flat_layout_loads_with_todays_code_and_gives_the_same_entities(old_pipeline):
    pipeline, flat, expected = old_pipeline
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"OLLAMA_HOST": f"127.0.0.1:{free_port()}", "HF_HUB_OFFLINE": "1"}
    got = json.loads(run([sys.executable, "-c", ENTITIES, str(pipeline), str(flat)], ROOT, env).splitlines()[-1])
    assert got["pipeline"] == ["transformer", "ner", "legal_rules", "legal_ids", "sentencizer", "llm_fallback"]
    assert len(expected["ents"]) > 5 and len(expected["ids"]) > 0
    assert got == expected
