import spacy
from spacy.tokens import Doc, Span

import pt_legal_ner  # noqa: F401  (registers legal_rules)


def make_doc(nlp, words: list[str], ents: list[tuple[int, int, str]]) -> Doc:
    doc = Doc(nlp.vocab, words=words)
    doc.ents = [Span(doc, s, e, label=label) for s, e, label in ents]
    for ent in doc.ents:
        ent._.source, ent._.confidence = "model", 0.8
    return doc


def ents(doc: Doc) -> list[tuple[str, str]]:
    return [(e.text, e.label_) for e in doc.ents]


def test_joined_decisions_are_split_at_the_comma():
    nlp = spacy.blank("pt")
    rules = nlp.add_pipe("legal_rules")
    words = "( Acórdão n.999404 , 20160610082800APC , Relator : ARNOLDO".split()
    doc = rules(make_doc(nlp, words, [(1, 5, "JURISPRUDENCIA")]))
    assert ents(doc) == [("Acórdão n.999404", "JURISPRUDENCIA"), ("20160610082800APC", "JURISPRUDENCIA")]
    assert [(e._.source, e._.confidence) for e in doc.ents] == [("model", 0.8), ("model", 0.8)]


def test_comma_without_an_identifier_on_both_sides_is_kept():
    nlp = spacy.blank("pt")
    rules = nlp.add_pipe("legal_rules")
    words = "o HC 123 , Segunda Turma , julgou".split()
    doc = rules(make_doc(nlp, words, [(1, 7, "JURISPRUDENCIA")]))
    assert ents(doc) == [("HC 123 , Segunda Turma ,", "JURISPRUDENCIA")]


def test_other_labels_are_not_split():
    nlp = spacy.blank("pt")
    rules = nlp.add_pipe("legal_rules")
    words = "o art . 7o , § 2o da Lei".split()
    doc = rules(make_doc(nlp, words, [(1, 9, "LEGISLACAO")]))
    assert ents(doc) == [("art . 7o , § 2o da Lei", "LEGISLACAO")]


def test_verification_code_is_not_a_law_but_a_code_is():
    nlp = spacy.blank("pt")
    rules = nlp.add_pipe("legal_rules")
    words = "Código de Verificação :2018ACONT2JYXTK52 conforme o Código Civil e Código".split()
    doc = make_doc(nlp, words, [(0, 4, "LEGISLACAO"), (6, 8, "LEGISLACAO"), (9, 10, "ORGANIZACAO")])
    assert ents(rules(doc)) == [("Código Civil", "LEGISLACAO"), ("Código", "ORGANIZACAO")]


def test_rules_come_from_the_config_and_survive_saving(tmp_path):
    nlp = spacy.blank("pt")
    nlp.add_pipe("legal_rules", config={"never": {"LOCAL": ["Brasília"]}, "split_at_comma": []})
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    words = "Acórdão n.1 , 2APC em Brasília".split()
    doc = loaded.get_pipe("legal_rules")(make_doc(loaded, words, [(0, 4, "JURISPRUDENCIA"), (5, 6, "LOCAL")]))
    assert ents(doc) == [("Acórdão n.1 , 2APC", "JURISPRUDENCIA")]


def test_place_takes_in_the_state_code_that_follows():
    nlp = spacy.blank("pt")
    rules = nlp.add_pipe("legal_rules")
    words = "notas . Brasília ( DF ) , 15 de março".split()
    cut = rules(make_doc(nlp, words, [(2, 4, "LOCAL"), (4, 5, "LOCAL")]))
    assert ents(cut) == [("Brasília ( DF )", "LOCAL")]
    assert [(e._.source, e._.confidence) for e in cut.ents] == [("model", 0.8)]
    alone = rules(make_doc(nlp, words, [(2, 3, "LOCAL")]))
    assert ents(alone) == [("Brasília ( DF )", "LOCAL")]


def test_state_code_is_only_taken_in_whole_and_for_the_configured_labels():
    nlp = spacy.blank("pt")
    rules = nlp.add_pipe("legal_rules")
    words = "em Brasília ( decisão ) e o STF ( DF ) e Goiás ( GO".split()
    doc = rules(make_doc(nlp, words, [(1, 2, "LOCAL"), (7, 8, "ORGANIZACAO"), (12, 13, "LOCAL")]))
    assert ents(doc) == [("Brasília", "LOCAL"), ("STF", "ORGANIZACAO"), ("Goiás", "LOCAL")]


SIGNATURE = "Territórios , NÍDIA CORRÊA LIMA - Relatora , EUSTÁQUIO DE CASTRO - 2º Vogal , sob a presidência"


def test_a_signature_name_before_its_role_is_a_person_whatever_the_tagger_said():
    nlp = spacy.blank("pt")
    rules = nlp.add_pipe("legal_rules")
    words = SIGNATURE.split()
    # one name read as a place, the other cut around "DE"; the tagger's PESSOA inside is replaced
    doc = rules(make_doc(nlp, words, [(2, 3, "PESSOA"), (8, 11, "LOCAL")]))
    assert ents(doc) == [("NÍDIA CORRÊA LIMA", "PESSOA"), ("EUSTÁQUIO DE CASTRO", "PESSOA")]
    assert [(e._.source, e._.confidence) for e in doc.ents] == [("rule", 1.0), ("rule", 1.0)]
    cut = rules(make_doc(nlp, words, [(8, 9, "PESSOA"), (10, 11, "PESSOA")]))
    assert ents(cut) == [("NÍDIA CORRÊA LIMA", "PESSOA"), ("EUSTÁQUIO DE CASTRO", "PESSOA")]


def test_a_title_a_single_word_and_an_entity_reaching_past_the_name_are_left_alone():
    nlp = spacy.blank("pt")
    rules = nlp.add_pipe("legal_rules")
    titled = "O SENHOR MINISTRO LUÍS ROBERTO BARROSO - Presidente".split()
    assert ents(rules(make_doc(nlp, titled, []))) == [("LUÍS ROBERTO BARROSO", "PESSOA")]
    case = "HC 3-23.2017 - PA - Relator Ministro".split()
    assert ents(rules(make_doc(nlp, case, [(0, 4, "JURISPRUDENCIA")]))) == [("HC 3-23.2017 - PA", "JURISPRUDENCIA")]
    wide = "J.J. COSTA CARVALHO - Relator".split()
    assert ents(rules(make_doc(nlp, wide, [(0, 3, "PESSOA")]))) == [("J.J. COSTA CARVALHO", "PESSOA")]
    # a line break inside the name reads as a space; without a role there is no rule
    broken = rules(make_doc(nlp, ["EUSTÁQUIO", "DE", "\n", "CASTRO", "-", "Vogal", "CRUZ", "MACEDO", "-", "Juiz"], []))
    assert ents(broken) == [("EUSTÁQUIO DE \n CASTRO", "PESSOA")]


def test_the_role_rule_is_off_when_its_label_is_null():
    nlp = spacy.blank("pt")
    rules = nlp.add_pipe("legal_rules", config={"name_before_role": None})
    assert ents(rules(make_doc(nlp, SIGNATURE.split(), [(8, 11, "LOCAL")]))) == [("EUSTÁQUIO DE CASTRO", "LOCAL")]
