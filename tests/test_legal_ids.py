"""`legal_ids`: Brazilian identifiers found in their formats, checked, and kept beside the trained entities."""

import pytest
import spacy
from spacy.tokens import Span
from spacy.training import Example

import pt_legal_ner  # noqa: F401  (registers the component)
from pt_legal_ner.privacy.patterns import LABELS, find_ids


def found(text, labels=LABELS):
    return [(f.label, text[f.start : f.end], f.normalized, f.valid) for f in find_ids(text, labels)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("CPF 111.444.777-35.", ("CPF", "111.444.777-35", "11144477735", True)),
        ("CPF 111.444.777-36.", ("CPF", "111.444.777-36", "11144477736", False)),  # a typo is still personal data
        ("inscrito no CPF/MF sob o nº 11144477735,", ("CPF", "11144477735", "11144477735", True)),
        ("CNPJ 11.222.333/0001-81", ("CNPJ", "11.222.333/0001-81", "11222333000181", True)),
        ("CNPJ 12.ABC.345/01DE-35", ("CNPJ", "12.ABC.345/01DE-35", "12ABC34501DE35", True)),
        ("CNPJ 12.ABC.345/01DE-36", ("CNPJ", "12.ABC.345/01DE-36", "12ABC34501DE36", False)),
        ("autos 0058967-77.2016.8.19.0000/RJ", ("CNJ", "0058967-77.2016.8.19.0000", "00589677720168190000", True)),
        ("TST-RR-257440-71.2002.5.02.0372", ("CNJ", "257440-71.2002.5.02.0372", "02574407120025020372", True)),
        ("Fulano (OAB/DF 12.345)", ("OAB", "OAB/DF 12.345", "DF12345", None)),
        ("Fulano, OAB nº 1234/SP,", ("OAB", "OAB nº 1234/SP", "SP1234", None)),
        ("Fulano (13469-E/OAB-DF)", ("OAB", "13469-E/OAB-DF", "DF13469", None)),
        ("FULANO  - RJ083152\n", ("OAB", "RJ083152", "RJ83152", None)),
        ("CEP 70.040-906,", ("CEP", "70.040-906", "70040906", None)),
        ("CEP: 70040906", ("CEP", "70040906", "70040906", None)),
        ("e-mail: Joao.Silva@tjdft.jus.br.", ("EMAIL", "Joao.Silva@tjdft.jus.br", "joao.silva@tjdft.jus.br", None)),
        ("Tel. (61) 99999-8888", ("TELEFONE", "(61) 99999-8888", "61999998888", None)),
        ("Tel. 68 3302-0444/0445,", ("TELEFONE", "68 3302-0444/0445", "68330204440445", None)),
        ("telefone 3333-4444", ("TELEFONE", "3333-4444", "33334444", None)),
        ("RG nº 1.234.567 SSP/DF,", ("RG", "1.234.567 SSP/DF", "1234567", None)),
        ("CNH nº 02650306461,", ("CNH", "02650306461", "02650306461", True)),
        ("CNH 02650306462,", ("CNH", "02650306462", "02650306462", False)),
        ("título de eleitor 0043 5687 0906.", ("TITULO_ELEITOR", "0043 5687 0906", "004356870906", True)),
        ("inscrição eleitoral nº 004356870906", ("TITULO_ELEITOR", "004356870906", "004356870906", True)),
        ("PIS 120.72985.62-7", ("PIS", "120.72985.62-7", "12072985627", True)),
        ("NIT nº 12072985627", ("PIS", "12072985627", "12072985627", True)),
        ("CNS 898 0000 0004 3208", ("CNS", "898 0000 0004 3208", "898000000043208", True)),
        ("RENAVAM 639884962", ("RENAVAM", "639884962", "639884962", True)),
        ("placa JKL-1234 e", ("PLACA", "JKL-1234", "JKL1234", None)),
        ("o carro BRA2E19 foi", ("PLACA", "BRA2E19", "BRA2E19", None)),
        ("passaporte nº FT123456.", ("PASSAPORTE", "FT123456", "FT123456", None)),
        ("cartão 4111 1111 1111 1111", ("CARTAO", "4111 1111 1111 1111", "4111111111111111", True)),
        ("agência 1234-5", ("DADOS_BANCARIOS", "1234-5", "12345", None)),
        ("conta corrente nº 12.345-6", ("DADOS_BANCARIOS", "12.345-6", "123456", None)),
        (
            "chave PIX 123e4567-e89b-42d3-a456-426614174000.",
            ("PIX", "123e4567-e89b-42d3-a456-426614174000", "123e4567-e89b-42d3-a456-426614174000", None),
        ),  # fmt: skip
        ("matrícula nº 12.345 do 2º Ofício", ("IMOVEL", "12.345", "12345", None)),
        ("CNM 123456.2.0012345-67", ("IMOVEL", "123456.2.0012345-67", "1234562001234567", False)),
        ("nascida aos 3 de março de 1969,", ("DATA_NASCIMENTO", "3 de março de 1969", "3 de marco de 1969", None)),
        (
            "na SQN 308 Bloco C apto 101, Asa Norte",
            ("ENDERECO", "SQN 308 Bloco C apto 101", "sqn 308 bloco c apto 101", None),
        ),
        (
            "na Rua das Flores, nº 123, apto 45.",
            ("ENDERECO", "Rua das Flores, nº 123, apto 45", "rua das flores, no 123, apto 45", None),
        ),
        ("sofre de transtorno bipolar, segundo", ("SAUDE", "transtorno bipolar", "transtorno bipolar", None)),
    ],
)
def test_each_kind_is_found_normalised_and_checked(text, expected):
    assert found(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "processo 12345678901 arquivado",  # eleven digits, neither valid nor named a CPF
        "Lei 8.078/90, art. 5º, 2007.01.1.001234-5",  # law and old court numbers
        "Acórdão n.999404, 20160610082800APC",  # TJDFT's process numbers glued to a class
        "Televisão), às fls. 1852-1888",  # "Tel" inside a word is no phone's name
        "o número 14536376 do documento",  # 8 digits not named a CEP
        "RG 12",  # too short to be a registration
    ],
)
def test_other_numbers_are_left_alone(text):
    assert found(text) == []


def test_each_code_of_a_cid_list_is_its_own_span_and_health_words_need_a_cue():
    text = "portador de quadro grave (CID-10 F32.1, F41 e G40.9); portador de boa-fé"
    assert found(text) == [
        ("SAUDE", "quadro grave", "quadro grave", None),  # no medical word, but a CID code follows
        ("CID", "F32.1", "F321", None),
        ("CID", "F41", "F41", None),
        ("CID", "G40.9", "G409", None),
    ]


def test_a_name_reaches_only_its_own_value():
    # "CNH e CPF 111...": the eleven digits are the CPF's, not the CNH's
    assert found("CNH e CPF 11144477735") == [("CPF", "11144477735", "11144477735", True)]
    # the courts' own classes look like old plates, and "c/c" is "combinado com"
    assert found("na ADI-3767, arts. 155 c/c 288") == []


def test_the_longer_of_overlapping_kinds_wins():
    # a bare valid CNPJ holds runs that look like other numbers
    assert [f[0] for f in found("CNPJ 11222333000181 e CPF 11144477735")] == ["CNPJ", "CPF"]


def test_an_unknown_kind_fails_when_the_component_is_built():
    nlp = spacy.blank("pt")
    with pytest.raises(ValueError, match="unknown identifier kinds"):
        nlp.add_pipe("legal_ids", config={"labels": ["CPX"]})


TEXT = "Pedro Cabral, CPF 111.444.777-35, no processo 0058967-77.2016.8.19.0000, em Brasília."


def with_ents(nlp, policy):
    nlp.add_pipe("legal_ids", config={"ents_filter": {"@misc": policy}})
    doc = nlp.make_doc(TEXT)
    pedro = Span(doc, 0, 2, label="PESSOA")
    # a trained citation that holds the CNJ number
    start = TEXT.index("processo")
    citation = doc.char_span(start, start + len("processo 0058967-77.2016.8.19.0000"), label="JURISPRUDENCIA")
    doc.ents = [pedro, citation]
    return nlp.get_pipe("legal_ids")(doc)


def test_identifiers_fill_the_gaps_and_keep_every_trained_entity():
    doc = with_ents(spacy.blank("pt"), "pt_legal_ner.ids_fill_gaps.v1")
    assert [(e.label_, e._.source) for e in doc.ents] == [("PESSOA", None), ("CPF", "rule"), ("JURISPRUDENCIA", None)]
    # the CNJ number inside the citation is still found, in the span group
    group = doc.spans["legal_ids"]
    assert [(s.label_, s._.normalized, s._.valid) for s in group] == [
        ("CPF", "11144477735", True),
        ("CNJ", "00589677720168190000", True),
    ]


def test_an_entity_over_exactly_an_identifier_keeps_its_own_source_and_confidence():
    from pt_legal_ner.annotation.records import span_dict

    nlp = spacy.blank("pt")
    nlp.add_pipe("legal_ids")
    doc = nlp.make_doc(TEXT)
    start = TEXT.index("0058967")
    citation = doc.char_span(start, start + len("0058967-77.2016.8.19.0000"), label="JURISPRUDENCIA")
    citation._.source, citation._.confidence = "model", 0.71
    doc.ents = [citation]
    doc = nlp.get_pipe("legal_ids")(doc)
    (entity,) = [e for e in doc.ents if e.label_ == "JURISPRUDENCIA"]
    assert span_dict(entity) == {
        "start": start,
        "end": start + 25,
        "label": "JURISPRUDENCIA",
        "text": "0058967-77.2016.8.19.0000",
        "source": "model",
        "confidence": 0.71,
    }
    cnj = span_dict(next(s for s in doc.spans["legal_ids"] if s.label_ == "CNJ"))
    assert (cnj["source"], cnj["confidence"], cnj["normalized"], cnj["valid"]) == (
        "rule",
        1.0,
        "00589677720168190000",
        True,
    )


def test_identifiers_first_drop_only_the_entities_they_overlap():
    doc = with_ents(spacy.blank("pt"), "pt_legal_ner.ids_first.v1")
    assert [e.label_ for e in doc.ents] == ["PESSOA", "CPF", "CNJ"]


def test_spans_only_leaves_the_entities_alone():
    doc = with_ents(spacy.blank("pt"), "pt_legal_ner.ids_spans_only.v1")
    assert [e.label_ for e in doc.ents] == ["PESSOA", "JURISPRUDENCIA"] and len(doc.spans["legal_ids"]) == 2


def test_entity_scores_leave_identifiers_out():
    nlp = spacy.blank("pt")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "PESSOA", "pattern": "Pedro Cabral"}])
    nlp.add_pipe("legal_ids")
    reference = nlp.make_doc(TEXT)
    reference.ents = [Span(reference, 0, 2, label="PESSOA")]
    example = Example(nlp(TEXT), reference)
    assert any(e.label_ == "CPF" for e in example.predicted.ents)
    scores = nlp.evaluate([example])
    assert scores["ents_p"] == 1.0 and set(scores["ents_per_type"]) == {"PESSOA"}


def test_the_component_round_trips_through_disk(tmp_path):
    nlp = spacy.blank("pt")
    nlp.add_pipe("legal_ids", config={"labels": ["CPF"]})
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert [e.label_ for e in loaded(TEXT).ents] == ["CPF"]


def test_overlaps_are_resolved_as_the_longest_first_rule_says_on_a_dense_text():
    # every kind at once, packed together: the bisecting resolution keeps exactly what checking each
    # span against every kept one keeps
    from pt_legal_ner.privacy.kind import find_kind
    from pt_legal_ner.privacy.patterns import KINDS
    from scripts.evaluation.id_samples import generated_set

    text = " ".join(sentence for sentence, _ in generated_set(n_rounds=2, seed=3, n_random=50))
    order = {label: i for i, label in enumerate(KINDS)}
    candidates = sorted(
        (f for kind in KINDS.values() for f in find_kind(text, kind)),
        key=lambda f: (-(f.end - f.start), order[f.label], f.start),
    )
    reference = []
    for f in candidates:
        if all(f.end <= k.start or f.start >= k.end for k in reference):
            reference.append(f)
    assert find_ids(text) == sorted(reference, key=lambda f: f.start) and len(reference) > 200
