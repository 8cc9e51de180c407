"""Check digits of Brazilian identifiers, on published examples and on every one-character typo."""

import pytest

from pt_legal_ner.privacy.br_ids import (
    card_valid,
    cnh_valid,
    cnj_check_digits,
    cnj_valid,
    cnm_valid,
    cnpj_valid,
    cns_valid,
    cpf_valid,
    normalize,
    pis_valid,
    renavam_valid,
    titulo_valid,
)

# published examples: the CPF and CNPJ of validator documentation, Receita Federal's example of
# the alphanumeric CNPJ, and the CNJ number of Business::BR::CNJ's documentation
VALID = {
    cpf_valid: ["111.444.777-35", "529.982.247-25", "52998224725"],
    cnpj_valid: ["11.222.333/0001-81", "11222333000181", "12.ABC.345/01DE-35", "12abc34501de35"],
    cnj_valid: ["0058967-77.2016.8.19.0000", "00589677720168190000"],
    # the others: the payment networks' published test cards; tarja's documentation (título, CNS);
    # values tarja 0.12.0's validators also accept (they agreed with ours on 300,000 random numbers
    # of each kind, bar Elo's 5067 prefix, which tarja lacks)
    card_valid: ["4111 1111 1111 1111", "5555-5555-5555-4444", "3782 822463 10005", "6011111111111117"],
    titulo_valid: ["0043 5687 0906", "004356870906"],
    cns_valid: ["898 0000 0004 3208", "898000000043208"],
    cnh_valid: ["02650306461"],
    pis_valid: ["120.72985.62-7", "12072985627"],
    renavam_valid: ["00639884962", "639884962"],
    cnm_valid: ["123456.2.0012345-13"],  # DD by ISO 7064 mod 97-10, as tarja's cnm module
}
INVALID = {
    cpf_valid: ["111.444.777-36", "000.000.000-00", "111.111.111-11", "529.982.247-2", "529.982.247-255"],
    cnpj_valid: ["11.222.333/0001-82", "00.000.000/0000-00", "12.ABC.345/01DE-36", "12.ABC.345/01DE-3X"],
    cnj_valid: ["0058967-78.2016.8.19.0000", "0058967-77.2016.8.19.000"],
    card_valid: ["4111 1111 1111 1112", "1111 1111 1111 1111", "4111 1111 1111 111"],  # Luhn, issuer, length
    titulo_valid: ["0043 5687 2906", "0043 5687 0907"],  # UF code 29 does not exist
    cns_valid: ["898 0000 0004 3209", "398 0000 0004 3208"],  # no family starts with 3
    cnh_valid: ["02650306462", "11111111111"],
    pis_valid: ["120.72985.62-8", "00000000000"],
    renavam_valid: ["00639884963", "6398849620"],
    cnm_valid: ["123456.2.0012345-67", "123456.4.0012345-13"],  # book 4 does not exist
}


@pytest.mark.parametrize("check, value", [(c, v) for c, vs in VALID.items() for v in vs])
def test_published_valid_values(check, value):
    assert check(value)


@pytest.mark.parametrize("check, value", [(c, v) for c, vs in INVALID.items() for v in vs])
def test_invalid_values(check, value):
    assert not check(value)


TWO_DIGIT_CHECKS = (cpf_valid, cnpj_valid, cnj_valid)


@pytest.mark.parametrize(
    "check, value", [(c, VALID[c][0]) for c in TWO_DIGIT_CHECKS] + [(cnpj_valid, "12ABC34501DE35")]
)
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


@pytest.mark.parametrize("check", [c for c in VALID if c not in TWO_DIGIT_CHECKS])
def test_most_one_digit_typos_fail_the_other_kinds_checks(check):
    """One check digit (mod 11 folds two rests into 0; CNS weighs one place by 11) or Luhn: most
    typos fail, not all; that is why these kinds are only taken bare after their name."""
    value = normalize(VALID[check][0])
    typos = [value[:i] + d + value[i + 1 :] for i in range(len(value)) for d in "0123456789" if d != value[i]]
    caught = sum(not check(t) for t in typos) / len(typos)
    assert caught >= 0.85, caught


def test_cnj_check_digits_make_valid_numbers():
    assert cnj_check_digits("0058967", "2016", "8", "19", "0000") == "77"
    assert cnj_valid(f"1234567-{cnj_check_digits('1234567', '2021', '5', '02', '0001')}.2021.5.02.0001")


def test_formatting_does_not_change_the_value():
    assert normalize("123.456.789-09") == normalize("12345678909") == "12345678909"
    assert normalize("12.abc.345/01de-35") == "12ABC34501DE35"
