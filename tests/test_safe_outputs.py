"""Nothing lost, nothing leaked: the mistakes users make at the command line never destroy an
original, wipe a mapping, publish the key or skip a document silently.

Each test runs the real command (``python -m pt_legal_ner``) on a blank Portuguese pipeline with
an entity ruler, and checks the files on disk: originals byte for byte, every record, the mapping.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

from tests.conftest import ROOT

DOC = "O réu Pedro Cabral, CPF 111.444.777-35, mora em Brasília.\n"
KEY = b"k3y-0f-th1rty-tw0-bytes-4-HMAC!!"


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    nlp = spacy.blank("pt")
    nlp.add_pipe("entity_ruler").add_patterns(
        [{"label": "PESSOA", "pattern": "Pedro Cabral"}, {"label": "LOCAL", "pattern": "Brasília"}]
    )
    path = tmp_path_factory.mktemp("ruler") / "pipeline"
    nlp.to_disk(path)
    return path


def cli(command: str, *args, model: Path, cwd: Path = ROOT, env: dict | None = None, stdin: bytes | None = None):
    cmd = [sys.executable, "-m", "pt_legal_ner", command, *map(os.fsdecode, args), "--model", str(model)]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(cmd, capture_output=True, cwd=cwd, env=environment, input=stdin)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) and its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


@pytest.fixture()
def archive(tmp_path) -> Path:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(DOC, encoding="utf-8")
    (folder / "sub" / "b.txt").write_text("Pedro Cabral assina.\n", encoding="utf-8")
    return folder


# 1. outputs never touch inputs


def test_writing_into_the_folder_of_an_input_named_by_path_is_refused_and_the_original_stays(model, archive):
    before = snapshot(archive)
    done = cli("pseudonymize", "a.txt", "-o", ".", model=model, cwd=archive)
    assert done.returncode == 2 and b"holds the input" in done.stderr
    assert snapshot(archive) == before


@pytest.mark.parametrize(
    "case",
    [
        ("pseudonymize", ["{in}", "-o", "{in}"]),
        ("pseudonymize", ["{in}/a.txt", "-o", "{in}/a.txt"]),
        ("annotate", ["{in}/a.txt", "-o", "{in}/sub/b.txt"]),
        ("annotate", ["{in}/sub", "-o", "{tmp}/o.jsonl", "--html", "{in}"]),
        ("pseudonymize", ["{in}/sub", "-o", "{tmp}/o.jsonl", "--mapping", "{in}/a.txt"]),
        ("pseudonymize", ["{in}/sub", "-o", "{tmp}/out", "--mapping", "{tmp}/out/map.jsonl"]),
        ("pseudonymize", ["{in}/sub", "-o", "{tmp}/out", "--html", "{tmp}/out/pages"]),
        ("pseudonymize", ["{in}/sub", "-o", "{tmp}/o.jsonl", "--mapping", "{tmp}/o.jsonl"]),
        (
            "pseudonymize",
            ["{in}/sub", "-o", "{tmp}/o.jsonl", "--style", "keyed", "--key-file", "{in}/key", "--mapping", "{in}/key"],
        ),
    ],  # fmt: skip
    ids=[
        "out-is-input-folder",
        "out-is-input",
        "annotate-over-input",
        "html-holds-input",
        "mapping-is-input",
        "mapping-inside-out",
        "html-inside-out",
        "mapping-is-out",
        "mapping-is-key",
    ],  # fmt: skip
)
def test_an_output_that_is_holds_or_replaces_an_input_or_another_output_is_refused_before_writing(
    case, model, archive, tmp_path
):
    command, args = case
    (archive / "key").write_bytes(KEY)
    before = snapshot(tmp_path)
    done = cli(command, *(a.format(**{"in": archive, "tmp": tmp_path}) for a in args), model=model)
    assert done.returncode == 2, done.stderr.decode()
    assert snapshot(tmp_path) == before  # nothing written anywhere, the originals as they were


def test_a_completed_run_into_a_folder_inside_the_input_leaves_every_original_as_it_was(model, archive):
    before = snapshot(archive)
    for _ in range(2):
        done = cli("pseudonymize", archive, "-o", archive / "masked", "--mapping", archive / "map.jsonl", model=model)
        assert done.returncode == 0, done.stderr.decode()
    after = snapshot(archive)
    assert {name: after[name] for name in before} == before
    assert after["masked/a.txt"] == b"O r\xc3\xa9u [PESSOA_1], CPF [CPF_1], mora em Bras\xc3\xadlia.\n"


def test_ids_that_want_one_output_name_get_distinct_files_recorded_in_the_manifest(model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "decisao").write_text("Pedro Cabral um.\n", encoding="utf-8")
    (folder / "decisao.txt").write_text("Pedro Cabral dois.\n", encoding="utf-8")
    (folder / "x.jsonl").write_text('{"text": "a"}\n{"text": "b"}\n{"text": "Pedro Cabral tres."}\n', encoding="utf-8")
    (folder / "x.jsonl_3").write_text("Pedro Cabral quatro.\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "decisao.txt.keep").write_text("um arquivo do usuário\n", encoding="utf-8")
    done = cli("pseudonymize", folder, "-o", out, model=model)
    assert done.returncode == 0, done.stderr.decode()
    manifest = {m["id"]: m["file"] for m in lines(out / ".pseudonymize.jsonl")}
    assert len(set(manifest.values())) == len(manifest) == 6
    texts = {doc_id: (out / name).read_text(encoding="utf-8") for doc_id, name in manifest.items()}
    assert texts["decisao"] == "[PESSOA_1] um.\n" and texts["decisao.txt"] == "[PESSOA_1] dois.\n"
    assert texts["x.jsonl:3"] == "[PESSOA_1] tres." and texts["x.jsonl_3"] == "[PESSOA_1] quatro.\n"
    assert (out / "decisao.txt.keep").read_text(encoding="utf-8") == "um arquivo do usuário\n"


# 2. the mapping is append-only and durable


def test_the_mapping_of_two_batches_holds_both_and_a_rerun_adds_nothing(model, tmp_path):
    mapping = tmp_path / "map.jsonl"
    for batch, name in (("b1", "Pedro Cabral"), ("b2", "Pedro Cabral Filho")):
        (tmp_path / batch).mkdir()
        (tmp_path / batch / "a.txt").write_text(f"{name}, CPF 111.444.777-35.\n", encoding="utf-8")
    for batch in ("b1", "b2", "b1"):
        done = cli("pseudonymize", tmp_path / batch, "-o", tmp_path / f"{batch}.jsonl", "--mapping", mapping,
                   model=model)  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()
    got = lines(mapping)
    assert [(Path(m["output"]).name, m["id"]) for m in got] == [("b1.jsonl", "a.txt"), ("b2.jsonl", "a.txt")]
    assert all(e["values"] for m in got for e in m["entities"])
    assert stat.S_IMODE(mapping.stat().st_mode) == 0o600


def test_two_runs_at_once_into_one_mapping_lose_no_line(model, tmp_path):
    mapping = tmp_path / "map.jsonl"
    runs = []
    for batch in ("b1", "b2"):
        folder = tmp_path / batch
        folder.mkdir()
        for number in range(20):
            (folder / f"d{number:02d}.txt").write_text(f"Pedro Cabral {batch} {number}.\n", encoding="utf-8")
        out = tmp_path / f"{batch}.jsonl"
        cmd = [sys.executable, "-m", "pt_legal_ner", "pseudonymize", str(folder), "-o", str(out),
               "--mapping", str(mapping), "--model", str(model), "--batch-size", "1"]  # fmt: skip
        runs.append(subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE))
    assert all(run.wait(timeout=300) == 0 for run in runs)
    got = lines(mapping)
    assert sorted((Path(m["output"]).stem, m["id"]) for m in got) == sorted(
        (batch, f"d{number:02d}.txt") for batch in ("b1", "b2") for number in range(20)
    )


@pytest.mark.parametrize("what", ["annotate output", "input"])
def test_a_mapping_pointed_at_a_file_that_is_not_one_is_refused_and_kept(what, model, archive, tmp_path):
    other = tmp_path / "other.jsonl"
    if what == "annotate output":
        assert cli("annotate", archive, "-o", other, model=model).returncode == 0
    else:
        other.write_text('{"id": 1, "text": "Pedro Cabral", "entities": []}\n', encoding="utf-8")
    before = other.read_bytes()
    done = cli("pseudonymize", archive, "-o", tmp_path / "p.jsonl", "--mapping", other, model=model)
    assert done.returncode == 2 and b"is not a mapping record" in done.stderr
    assert other.read_bytes() == before and not (tmp_path / "p.jsonl").exists()


# 3. secrets stay secret


def test_no_byte_of_the_key_reaches_an_output_a_log_or_a_child_process(model, archive, tmp_path):
    from tests.office_files import pdf_bytes

    (archive / "key").write_bytes(KEY + b"\n")  # kept beside the documents, as users do
    (archive / "key").chmod(0o644)
    (archive / "c.pdf").write_bytes(pdf_bytes([["O réu Pedro Cabral, em Brasília."]]))  # starts the reader child
    watcher = tmp_path / "watch.py"
    seen = tmp_path / "children.jsonl"
    watcher.write_text(
        "import json, os, subprocess\n"
        "real = subprocess.Popen.__init__\n"
        "def spy(self, *args, **kwargs):\n"
        f"    with open({str(seen)!r}, 'a') as f:\n"
        "        f.write(json.dumps(dict(kwargs.get('env') or os.environ)) + '\\n')\n"
        "    real(self, *args, **kwargs)\n"
        "subprocess.Popen.__init__ = spy\n",
        encoding="utf-8",
    )
    out, mapping = tmp_path / "out", tmp_path / "map.jsonl"
    args = ["--mapping", mapping, "--html", tmp_path / "pages", "--style", "keyed", "--code", watcher]
    by_file = cli("pseudonymize", archive, "-o", out, *args, "--key-file", archive / "key", model=model)
    assert by_file.returncode == 0, by_file.stderr.decode()
    assert b"key (the --key-file)" in by_file.stderr and b"can be read by others" in by_file.stderr
    assert "key" not in {m["id"] for m in lines(out / ".pseudonymize.jsonl")}
    by_env = cli("pseudonymize", archive, "-o", tmp_path / "env.jsonl", *args, model=model,
                 env={"PT_LEGAL_NER_KEY": KEY.decode()})  # fmt: skip
    assert by_env.returncode == 0, by_env.stderr.decode()
    # from the environment the key file is not known by name: its content is, and is not written
    (key_record,) = [r for r in lines(tmp_path / "env.jsonl") if r["id"] == "key"]
    assert key_record["text"] is None and "holds the secret key" in key_record["error"]
    children = lines(seen)
    assert len(children) >= 1 and all("PT_LEGAL_NER_KEY" not in env for env in children)
    written = b"".join(snapshot(tmp_path).get(name, b"") for name in snapshot(tmp_path) if not name.startswith("in/"))
    for text in (written, by_file.stdout + by_file.stderr, by_env.stdout + by_env.stderr):
        assert KEY not in text and KEY[:16] not in text
    assert json.loads((out / ".run.json").read_text(encoding="utf-8"))["key_fingerprint"]


def test_links_out_of_an_input_folder_are_not_read_and_are_named(model, archive, tmp_path):
    secret = tmp_path / "elsewhere" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("Pedro Cabral PRIVATE KEY\n", encoding="utf-8")
    (archive / "link.txt").symlink_to(secret)
    (archive / "sub" / "inside.txt").symlink_to(archive / "a.txt")  # a link within the folder is read
    done = cli("annotate", archive, "-o", tmp_path / "o.jsonl", model=model)
    assert done.returncode == 0, done.stderr.decode()
    assert [r["id"] for r in lines(tmp_path / "o.jsonl")] == ["a.txt", "sub/b.txt", "sub/inside.txt"]
    assert b"link.txt (a link out of the folder)" in done.stderr
    assert b"PRIVATE" not in (tmp_path / "o.jsonl").read_bytes()


def test_keyed_placeholders_of_health_data_link_only_when_asked():
    from pt_legal_ner.privacy.pseudonyms import pseudonymize
    from pt_legal_ner.privacy.style import Style

    def masked(text: str, style: Style) -> str:
        spans = [
            {"start": text.index(v), "end": text.index(v) + len(v), "label": label, "source": "rule", "normalized": v}
            for v, label in (("F20", "CID"), ("111.444.777-35", "CPF"))
        ]
        return pseudonymize(text, spans, ["CID", "CPF"], style).text

    first, second = "CID F20, CPF 111.444.777-35.", "Outro: F20 e CPF 111.444.777-35."
    unlinked = Style("keyed", KEY)
    assert masked(first, unlinked) == "CID [CID_1], CPF " + masked(first, unlinked).split("CPF ")[1]
    cpf = masked(first, unlinked).split("CPF ")[1]
    assert cpf in masked(second, unlinked) and "[CID_1]" in masked(second, unlinked)
    linked = Style("keyed", KEY, link_sensitive=True)
    cid = masked(first, linked).split(",")[0].removeprefix("CID ")
    assert cid.startswith("[CID_") and cid != "[CID_1]" and cid in masked(second, linked)
    assert "KEY" not in repr(unlinked) and KEY.decode() not in repr(unlinked)
    with pytest.raises(ValueError, match="different bytes"):
        Style("keyed", b"a" * 32)


def test_the_llm_answer_cache_is_private_and_bad_answers_are_logged_without_their_words(tmp_path):
    from pt_legal_ner.llm.cache import AnswerCache
    from pt_legal_ner.llm.prompt import MalformedAnswer, _entity_items

    cache = AnswerCache(tmp_path / "cache" / "answers.sqlite3")
    cache.put("k", '{"entities": [["Pedro Cabral", "PESSOA"]]}')
    assert stat.S_IMODE((tmp_path / "cache" / "answers.sqlite3").stat().st_mode) == 0o600
    with pytest.raises(MalformedAnswer) as err:
        _entity_items("O réu Pedro Cabral não é JSON")
    assert "Pedro" not in str(err.value) and "characters, sha256" in str(err.value)


# 4. every document gets exactly one record


JSONL_LINES = [
    b'{"text": "Pedro Cabral um."}',
    b'{"text": "dois", "n": ' + b"9" * 4400 + b"}",  # an integer Python refuses to parse
    b"not json",
    b"",
    b'{"text": "Pedro Cabral \\ud800 tr\\u00eas.", "campo": "\\udcff"}',  # lone surrogates
    b'{"text": "Pedro Cabral quatro."}',
]


def test_every_jsonl_line_gets_one_record_with_its_line_number_and_reruns_add_none(model, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(JSONL_LINES) + b"\n")
    out = tmp_path / "out.jsonl"
    for _ in range(2):
        done = cli("annotate", source, "-o", out, model=model)
        assert done.returncode == 0, done.stderr.decode()
    got = lines(out)
    assert [r["id"] for r in got] == [f"{source}:{n}" for n in (1, 2, 3, 5, 6)]
    assert "Exceeds the limit" in got[1]["error"] and "invalid JSON" in got[2]["error"]
    assert got[3]["error"] is None and got[3]["text"] == "Pedro Cabral \ud800 três." and got[3]["entities"]
    assert got[4]["entities"][0]["text"] == "Pedro Cabral"
    out.read_bytes().decode("utf-8")  # valid UTF-8 throughout
    on_stdin = cli("annotate", "-", "-o", tmp_path / "stdin.jsonl", model=model, stdin=source.read_bytes())
    assert on_stdin.returncode == 0, on_stdin.stderr.decode()
    assert [r["id"] for r in lines(tmp_path / "stdin.jsonl")] == [1, 2, 3, 5, 6]


def test_a_file_named_like_a_line_of_a_jsonl_file_beside_it_is_refused(model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "x.jsonl").write_text('{"text": "a"}\n{"text": "b"}\n', encoding="utf-8")
    (folder / "x.jsonl:2").write_text("Pedro Cabral\n", encoding="utf-8")
    done = cli("annotate", folder, "-o", tmp_path / "o.jsonl", model=model)
    assert done.returncode == 2 and b"their ids would be the same" in done.stderr


def test_a_file_name_that_is_not_utf8_or_is_long_is_annotated_with_the_others(model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text(DOC, encoding="utf-8")
    with open(os.fsencode(folder) + b"/decis\xe3o.txt", "wb") as f:  # Windows-1252, as unzipped archives have
        f.write(DOC.encode("utf-8"))
    (folder / ("p" * 245 + ".txt")).write_text(DOC, encoding="utf-8")
    for command, out in (("annotate", tmp_path / "a.jsonl"), ("pseudonymize", tmp_path / "masked")):
        for _ in range(2):
            done = cli(command, folder, "-o", out, "--html", tmp_path / f"{command}-pages", model=model)
            assert done.returncode == 0, done.stderr.decode()
    records = lines(tmp_path / "a.jsonl")
    assert [r["id"] for r in records] == ["decis\\xe3o.txt", "ok.txt", "p" * 245 + ".txt"]
    assert all(r["error"] is None and r["entities"] for r in records)
    manifest = lines(tmp_path / "masked" / ".pseudonymize.jsonl")
    assert len(manifest) == 3 and all((tmp_path / "masked" / m["file"]).is_file() for m in manifest)


# 5. resume checks what it resumes


def test_pseudonymize_into_an_annotate_output_or_with_other_settings_is_refused(model, archive, tmp_path):
    annotated = tmp_path / "annotated.jsonl"
    assert cli("annotate", archive, "-o", annotated, model=model).returncode == 0
    before = annotated.read_bytes()
    into = cli("pseudonymize", archive, "-o", annotated, model=model)
    assert into.returncode == 2 and b"written by `annotate`" in into.stderr
    assert annotated.read_bytes() == before
    masked = tmp_path / "masked.jsonl"
    assert cli("pseudonymize", archive, "-o", masked, model=model).returncode == 0
    before = masked.read_bytes()
    other = cli("pseudonymize", archive, "-o", masked, "--style", "mask", model=model)
    assert other.returncode == 2 and b"'placeholder' then, 'mask' now" in other.stderr
    assert masked.read_bytes() == before
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text('{"id": "a.txt", "text": "x"}\n', encoding="utf-8")
    refused = cli("annotate", archive, "-o", foreign, model=model)
    assert refused.returncode == 2 and b"holds records but no foreign.jsonl.run.json" in refused.stderr
    same = cli("pseudonymize", archive, "-o", masked, model=model)
    assert same.returncode == 0 and masked.read_bytes() == before


# 6. limits cover memory, not only bytes


def test_a_jsonl_line_that_would_grow_past_the_limit_once_parsed_is_its_error_record():
    from pt_legal_ner.io.documents import parse_jsonl_line
    from pt_legal_ner.io.limits import Limits

    line = "[" + ",".join(["{}"] * 100_000) + "]"
    document = parse_jsonl_line(line, 7, "f.jsonl", Limits(max_parsed=4 * 1024**2))
    assert "f.jsonl line 7: estimated memory once parsed" in document.error and "max_parsed" in document.error
    text = json.dumps({"text": "Pedro Cabral, em Brasília, " * 20_000})
    assert parse_jsonl_line(text, 1, "f.jsonl", Limits(max_parsed=8 * 1024**2)).error is None


def test_a_parquet_value_repeated_in_every_row_is_bounded_per_row_not_decoded_at_once(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from pt_legal_ner.io.limits import Limits
    from pt_legal_ner.io.parquet import read_parquet_rows, row_sizes

    def binary(location):
        return open(location, "rb")

    big = "Pedro Cabral " * 80_000  # ~1 MB, dictionary-encoded once for 200 rows
    path = tmp_path / "bomb.parquet"
    pq.write_table(pa.table({"text": [big] * 200 + ["ok"], "n": list(range(201))}), path, use_dictionary=True)
    table = pq.ParquetFile(path, read_dictionary=["text"]).read()
    assert row_sizes(table)[:2] == [len(big) + 8, len(big) + 8] and table.nbytes < 4 * len(big)
    rows = list(read_parquet_rows(str(path), "bomb.parquet", 0, 201, binary, Limits(max_bytes=512 * 1024)))
    assert "row group" in rows[0].error  # the whole group is over 512 KiB encoded
    rows = list(read_parquet_rows(str(path), "bomb.parquet", 195, 6, binary, Limits(max_bytes=2 * 1024**2)))
    assert [r.id for r in rows] == [f"bomb.parquet:{n}" for n in range(196, 202)]
    assert rows[0].text == big and rows[-1].text == "ok" and rows[-1].fields == {"n": 200}
    small = list(read_parquet_rows(str(path), "bomb.parquet", 0, 1, binary, Limits(max_bytes=1024**2, max_chars=10)))
    assert "over the limit max_chars" in small[0].error
