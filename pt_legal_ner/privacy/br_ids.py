"""Brazilian identifiers: their normalised values and whether their check digits hold.

- CPF: 11 digits, two mod-11 check digits (weights 10..2, then 11..2).
- CNPJ: 12 characters and two mod-11 check digits (weights 2..9 from the right). Since July 2026
  the 12 may be letters too; a character counts as its code point minus 48 ("0" = 0, "A" = 17),
  which leaves the numeric form's arithmetic unchanged (Receita Federal, Nota Técnica COCAD/SUARA).
  Letters are worth up to 42, so a typo 11 or 22 values away (1 for G) passes: the rule's own blind spot.
- CNJ case number NNNNNNN-DD.AAAA.J.TR.OOOO: DD makes N AAAA J TR OOOO DD congruent to 1 mod 97
  (ISO 7064 mod 97-10, CNJ Resolução 65/2008, Anexo VIII).

Issue 14's `legal_ids` component will find these in text; these functions only judge a value.
"""

import re

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


def normalize(value: str) -> str:
    """Digits and letters only, letters upper-cased: one value however it was formatted."""
    return _NOT_ALNUM.sub("", value).upper()


def _mod11_digit(values: list[int], weights: list[int]) -> int:
    rest = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if rest < 2 else 11 - rest


def cpf_valid(value: str) -> bool:
    digits = normalize(value)
    if len(digits) != 11 or not digits.isdigit() or len(set(digits)) == 1:
        return False  # eleven equal digits pass the arithmetic but are no CPF
    numbers = [int(c) for c in digits]
    first = _mod11_digit(numbers[:9], list(range(10, 1, -1)))
    second = _mod11_digit(numbers[:10], list(range(11, 1, -1)))
    return numbers[9:] == [first, second]


def _cnpj_weights(n: int) -> list[int]:
    return [2 + (i % 8) for i in range(n)][::-1]  # 2..9 from the right, repeating


def cnpj_valid(value: str) -> bool:
    chars = normalize(value)
    if len(chars) != 14 or not chars[12:].isdigit() or len(set(chars)) == 1:
        return False
    values = [ord(c) - 48 for c in chars]
    first = _mod11_digit(values[:12], _cnpj_weights(12))
    second = _mod11_digit(values[:13], _cnpj_weights(13))
    return values[12:] == [first, second]


def cnj_valid(value: str) -> bool:
    digits = normalize(value)
    if len(digits) != 20 or not digits.isdigit():
        return False
    sequence, check, rest = digits[:7], digits[7:9], digits[9:]
    return int(sequence + rest + check) % 97 == 1


def cnj_check_digits(sequence: str, year: str, justice: str, court: str, origin: str) -> str:
    """The DD of a CNJ number from its other fields (to write test data with known values)."""
    return f"{98 - int(sequence + year + justice + court + origin + '00') % 97:02d}"
