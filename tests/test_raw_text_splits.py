"""Finding the split of each raw text: whitespace differences ignored, short sentences not used,
a document holding any dev or test sentence held out of unlabeled text."""

from scripts.data.raw_text_splits import find


def conll(sentences: list[str]) -> str:
    return "\n\n".join("\n".join(f"{word} O" for word in s.split()) for s in sentences) + "\n"


def test_documents_are_assigned_by_their_sentences_and_dev_or_test_ones_held_out(tmp_path):
    raw, splits = tmp_path / "raw", tmp_path / "conll"
    raw.mkdir()
    splits.mkdir()
    train = ["O recurso especial foi conhecido e provido pela turma , por unanimidade .", "Relator"]
    dev = ["A ação direta de inconstitucionalidade foi julgada procedente em parte ."]
    test = ["O habeas corpus foi denegado , nos termos do voto do relator ministro ."]
    (splits / "train.conll").write_text(conll(train), encoding="utf-8")
    (splits / "dev.conll").write_text(conll(dev), encoding="utf-8")
    (splits / "test.conll").write_text(conll(test), encoding="utf-8")
    # the texts' own spacing: "turma, por", line breaks inside a sentence
    texts = {
        "a.txt": "Relator\nO recurso especial foi conhecido e provido\npela turma, por unanimidade.",
        "b.txt": "Relator\nO habeas corpus foi denegado, nos termos do voto do relator ministro.",
        "c.txt": "Relator\nNada daqui.",
    }
    for name, text in texts.items():
        (raw / name).write_text(text, encoding="utf-8")
    result = find(raw, splits, min_chars=20)
    assert result["documents"]["a.txt"] == {"train": 1, "dev": 0, "test": 0, "split": "train"}
    assert result["documents"]["b.txt"]["split"] == "test"
    assert result["documents"]["c.txt"]["split"] is None  # "Relator" is too short to count
    assert result["held_out"] == ["b.txt"]
    assert result["unlabeled_ok"] == ["a.txt", "c.txt"]
    assert result["sentences_not_found"] == {"train": 0, "dev": 1, "test": 0}


def test_a_splits_sentences_are_grouped_back_into_their_source_decisions(tmp_path):
    from scripts.data.raw_text_splits import source_documents

    raw = tmp_path / "raw"
    raw.mkdir()
    shared = "Ante o exposto , nego provimento ao recurso , nos termos da fundamentação ."
    (raw / "a.txt").write_text(
        "O habeas corpus foi denegado pela turma julgadora.\nRelator\n" + shared, encoding="utf-8"
    )
    (raw / "b.txt").write_text("A apelação foi provida em parte pela câmara.\n" + shared, encoding="utf-8")
    sentences = [
        "O habeas corpus foi denegado pela turma julgadora .",
        "Relator",  # too short: stays with its predecessor
        shared,  # in both: stays with its predecessor
        "A apelação foi provida em parte pela câmara .",
        shared,
    ]
    (tmp_path / "test.conll").write_text(conll(sentences), encoding="utf-8")
    assert source_documents(raw, tmp_path / "test.conll", min_chars=20) == [("a.txt", [0, 1, 2]), ("b.txt", [3, 4])]
