"""The plan of an annotate run: parts of at most N documents that, read back, are exactly the inputs."""

import json

import pytest

from pt_legal_ner.io.inputs import list_entries, open_documents, plan, read_part, read_plan

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture
def inputs(tmp_path) -> list[str]:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(3):
        (folder / f"t{i}.txt").write_text(f"texto {i}", encoding="utf-8")
    lines = [json.dumps({"text": f"linha {i}", "n": i}) for i in range(7)]
    (folder / "a.jsonl").write_text("\n".join([lines[0], "", *lines[1:4], "{bad", *lines[4:]]) + "\n", encoding="utf-8")
    table = pa.table({"text": [f"linha {i}" for i in range(9)] + [None], "court": ["STF"] * 10})
    pq.write_table(table, tmp_path / "b.parquet", row_group_size=3)
    (tmp_path / "c.jsonl").write_text(json.dumps({"text": "só"}) + "\n", encoding="utf-8")
    return [str(folder), (tmp_path / "b.parquet").as_uri(), str(tmp_path / "c.jsonl")]


def summary(docs) -> list[tuple]:
    return [(d.id, d.text, json.dumps(d.fields, sort_keys=True), d.error) for d in docs]


@pytest.mark.parametrize("part_size", [1, 2, 3, 4, 7, 100])
def test_parts_read_back_to_the_whole_input_in_order(inputs, part_size):
    whole = summary(open_documents(inputs)[1])
    assert len(whole) == 3 + 8 + 10 + 1
    cut = plan(inputs, part_size)
    assert all(sum(s.count for s in part) <= part_size for part in cut.parts)
    assert all(sum(s.count for s in part) == part_size for part in cut.parts[:-1])
    assert cut.total == len(whole)
    assert summary(d for part in cut.parts for d in read_part(cut.entries, part)) == whole
    assert summary(read_plan(cut)) == whole


def test_ids_name_their_file_and_rows_keep_their_other_columns(inputs):
    docs = {d.id: d for d in open_documents(inputs)[1]}
    uri = inputs[1]
    assert docs["a.jsonl:6"].error.endswith(
        "invalid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"
    )
    assert docs["a.jsonl:7"].fields == {"n": 4}
    assert docs[f"{uri}:1"].text == "linha 0" and docs[f"{uri}:1"].fields == {"court": "STF"}
    assert docs[f"{uri}:10"].error == f"{uri} row 10: no 'text'"
    assert docs["t0.txt"].text == "texto 0"


def test_two_inputs_with_the_same_ids_are_refused(tmp_path):
    for name in ("x", "y"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "same.txt").write_text("a", encoding="utf-8")
    with pytest.raises(ValueError, match="same document ids 'same.txt'"):
        list_entries([str(tmp_path / "x"), str(tmp_path / "y")])


def test_a_parquet_file_without_a_text_column_or_damaged_is_one_error_record(tmp_path):
    pq.write_table(pa.table({"body": ["a"]}), tmp_path / "x.parquet")
    pq.write_table(pa.table({"text": ["b"]}), tmp_path / "y.parquet")
    (tmp_path / "z.parquet").write_bytes((tmp_path / "y.parquet").read_bytes()[:-20])
    whole = plan([str(tmp_path)], 10)
    records = {d.id: d for d in read_plan(whole)}
    assert whole.total == 3 and set(records) == {"x.parquet", "y.parquet:1", "z.parquet"}
    assert records["x.parquet"].error == f"{tmp_path / 'x.parquet'}: no 'text' column (columns: body)"
    assert records["z.parquet"].error.startswith(f"{tmp_path / 'z.parquet'}: ") and records["y.parquet:1"].text == "b"


def test_a_missing_uri_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        plan([(tmp_path / "nowhere").as_uri()], 10)
