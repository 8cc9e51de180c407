"""Reading what users point `annotate` at: encodings, binary files, folders, JSONL."""

import json

import pytest

from pt_legal_ner.io.documents import DocumentError, decode_text
from pt_legal_ner.io.inputs import open_documents

TEXT = "Decisão do Tribunal de Justiça de São Paulo, em Brasília, 12 de março de 2015 — ação nº 1."


@pytest.mark.parametrize(
    "data, encoding",
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "windows-1252"],
)
def test_text_encodings_decode_to_the_same_text(data, encoding):
    assert decode_text(data) == (TEXT, encoding)


def test_latin1_bytes_undefined_in_windows_1252_still_decode():
    data = ("ação " * 50).encode("latin-1") + b"\x81"
    text, encoding = decode_text(data)
    assert encoding == "latin-1" and text.startswith("ação")


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP"),
        (b"abc\x00def", "NUL"),
        (bytes(range(1, 32)) * 20, "control characters"),
    ],
    ids=["pdf", "docx", "nul", "controls"],
)
def test_binary_data_is_refused_with_its_reason(data, reason):
    with pytest.raises(DocumentError, match=reason):
        decode_text(data)


def test_folder_documents_are_sorted_relative_paths_with_errors_kept(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("segundo", encoding="utf-8")
    (tmp_path / "a.txt").write_bytes("ação".encode("cp1252"))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.4 ...")
    (tmp_path / ".hidden.txt").write_text("não", encoding="utf-8")
    total, docs = open_documents([str(tmp_path)])
    docs = list(docs)
    assert [d.id for d in docs] == ["a.txt", "empty.txt", "scan.pdf", "sub/b.txt"]
    assert total == 4
    by_id = {d.id: d for d in docs}
    assert by_id["a.txt"].text == "ação" and by_id["a.txt"].encoding == "cp1252"
    assert by_id["empty.txt"].text == "" and by_id["empty.txt"].error is None
    assert "scan.pdf" in by_id["scan.pdf"].error and "PDF" in by_id["scan.pdf"].error
    assert [d.id for d in open_documents([str(tmp_path)], "*.txt")[1]] == ["a.txt", "empty.txt"]
    # the run's own output and pages, inside the folder, are not documents
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "a.html").write_text("<p>", encoding="utf-8")
    skip = [tmp_path / "empty.txt", tmp_path / "html"]
    total, docs = open_documents([str(tmp_path)], skip=skip)
    assert [d.id for d in docs] == ["a.txt", "scan.pdf", "sub/b.txt"]
    assert total == 3


def test_jsonl_keeps_fields_and_names_each_bad_line(tmp_path):
    path = tmp_path / "docs.jsonl"
    lines = [
        json.dumps({"text": "um", "processo": "123", "id": "x"}),
        "",
        "{not json",
        json.dumps({"body": "sem texto"}),
        json.dumps([1, 2]),
        json.dumps({"text": 5}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    total, docs = open_documents([str(path)])
    docs = list(docs)
    assert [d.id for d in docs] == [f"{path}:{n}" for n in (1, 3, 4, 5, 6)]  # ids name their file
    assert total == len(docs)
    assert docs[0].text == "um" and docs[0].fields == {"processo": "123", "id": "x"}
    assert docs[1].error.startswith(f"{path} line 3: invalid JSON")
    assert 'no "text" field' in docs[2].error and docs[2].fields == {"body": "sem texto"}
    assert "expected a JSON object" in docs[3].error
    assert '"text" is int' in docs[4].error


def test_missing_input_is_an_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.txt"):
        open_documents([str(tmp_path / "nowhere.txt")])
