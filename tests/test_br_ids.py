"""Check digits of Brazilian identifiers, on published examples and on every one-character typo."""

import pytest

from pt_legal_ner.privacy.br_ids import cnj_check_digits, cnj_valid, cnpj_valid, cpf_valid, normalize

# published examples: the CPF and CNPJ of validator documentation, Receita Federal's example of
# the alphanumeric CNPJ, and the CNJ number of Business::BR::CNJ's documentation
VALID = {
    cpf_valid: ["111.444.777-35", "529.982.247-25", "52998224725"],
    cnpj_valid: ["11.222.333/0001-81", "11222333000181", "12.ABC.345/01DE-35", "12abc34501de35"],
    cnj_valid: ["0058967-77.2016.8.19.0000", "00589677720168190000"],
}
INVALID = {
    cpf_valid: ["111.444.777-36", "000.000.000-00", "111.111.111-11", "529.982.247-2", "529.982.247-255"],
    cnpj_valid: ["11.222.333/0001-82", "00.000.000/0000-00", "12.ABC.345/01DE-36", "12.ABC.345/01DE-3X"],
    cnj_valid: ["0058967-78.2016.8.19.0000", "0058967-77.2016.8.19.000"],
}


@pytest.mark.parametrize("check, value", [(c, v) for c, vs in VALID.items() for v in vs])
def test_published_valid_values(check, value):
    assert check(value)


@pytest.mark.parametrize("check, value", [(c, v) for c, vs in INVALID.items() for v in vs])
def test_invalid_values(check, value):
    assert not check(value)


@pytest.mark.parametrize("check, value", [(c, vs[0]) for c, vs in VALID.items()] + [(cnpj_valid, "12ABC34501DE35")])
def test_a_one_character_typo_fails_unless_the_rule_cannot_see_it(check, value):
    """Digits differ by 1 to 9, so mod 11 and mod 97 catch every digit typo; the alphanumeric CNPJ's
    characters are worth 0 to 42, so a letter 11 or 22 away from the original passes, by the rule itself."""
    chars = normalize(value)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if not chars.isdigit() else ""
    unseen = set()
    for i, original in enumerate(chars):
        for replacement in "0123456789" + (letters if i < 12 else ""):
            if replacement != original and check(chars[:i] + replacement + chars[i + 1 :]):
                unseen.add((i, replacement))
    blind_spots = {
        (i, r)
        for i, original in enumerate(chars[:12])
        for r in "0123456789" + letters
        if r != original and (ord(r) - ord(original)) % 11 == 0
    }
    assert unseen == (blind_spots if letters else set())
    assert not letters or unseen  # the alphanumeric form does have them


def test_cnj_check_digits_make_valid_numbers():
    assert cnj_check_digits("0058967", "2016", "8", "19", "0000") == "77"
    assert cnj_valid(f"1234567-{cnj_check_digits('1234567', '2021', '5', '02', '0001')}.2021.5.02.0001")


def test_formatting_does_not_change_the_value():
    assert normalize("123.456.789-09") == normalize("12345678909") == "12345678909"
    assert normalize("12.abc.345/01de-35") == "12ABC34501DE35"
