"""Brazilian identifiers: their normalised values and whether their check digits hold.

- CPF: 11 digits, two mod-11 check digits (weights 10..2, then 11..2).
- CNPJ: 12 characters and two mod-11 check digits (weights 2..9 from the right). Since July 2026
  the 12 may be letters too; a character counts as its code point minus 48 ("0" = 0, "A" = 17),
  which leaves the numeric form's arithmetic unchanged (Receita Federal, Nota Técnica COCAD/SUARA).
  Letters are worth up to 42, so a typo 11 or 22 values away (1 for G) passes: the rule's own blind spot.
- CNJ case number NNNNNNN-DD.AAAA.J.TR.OOOO: DD makes N AAAA J TR OOOO DD congruent to 1 mod 97
  (ISO 7064 mod 97-10, CNJ Resolução 65/2008, Anexo VIII).

The other kinds (CNH, título, PIS, CNS, RENAVAM, cards, CNM) say their rules where they are defined.
`legal_ids` finds them in text (patterns.py); these functions only judge a value.
"""

import re
import unicodedata

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


def normalize(value: str) -> str:
    """Digits and letters only, letters upper-cased: one value however it was formatted."""
    return _NOT_ALNUM.sub("", value).upper()


def fold(text: str) -> str:
    """Case, accents and spacing aside: one name, address or phrase however it was written."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


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


def _digits(value: str, *lengths: int) -> str | None:
    digits = normalize(value)
    if len(digits) not in lengths or not digits.isdigit() or len(set(digits)) == 1:
        return None
    return digits


def _weighted(digits: str, weights) -> int:
    return sum(int(c) * w for c, w in zip(digits, weights, strict=True))


def cnh_valid(value: str) -> bool:
    """CNH: 9 digits and two mod-11 check digits (weights 9..1, then 1..9); a first digit of 10
    becomes 0 and takes 2 off the second (DENATRAN's routine, as python-validate-docbr and tarja)."""
    digits = _digits(value, 11)
    if digits is None:
        return False
    first, discount = _weighted(digits[:9], range(9, 0, -1)) % 11, 0
    if first >= 10:
        first, discount = 0, 2
    second = _weighted(digits[:9], range(1, 10)) % 11
    second = 0 if second >= 10 else (second - discount) % 11
    return digits[9:] == f"{first}{0 if second >= 10 else second}"


def titulo_valid(value: str) -> bool:
    """Título de eleitor: 8 digits, the UF code (01..28, 28 = abroad), two mod-11 check digits;
    São Paulo and Minas Gerais (01, 02) write a rest of 0 as 1 (TSE Resolução 21.538/2003)."""
    digits = _digits(value, 12)
    if digits is None or not 1 <= int(digits[8:10]) <= 28:
        return False
    sp_mg = digits[8:10] in ("01", "02")
    rest = _weighted(digits[:8], range(2, 10)) % 11
    first = 1 if sp_mg and rest == 0 else 0 if rest == 10 else rest
    rest = (int(digits[8]) * 7 + int(digits[9]) * 8 + first * 9) % 11
    second = 1 if sp_mg and rest == 0 else 0 if rest == 10 else rest
    return digits[10:] == f"{first}{second}"


_PIS_WEIGHTS = (3, 2, 9, 8, 7, 6, 5, 4, 3, 2)  # PIS's, and RENAVAM's


def pis_valid(value: str) -> bool:
    """PIS/PASEP/NIT/NIS: 10 digits and a mod-11 check digit, weights 3,2,9..2."""
    digits = _digits(value, 11)
    if digits is None:
        return False
    rest = 11 - _weighted(digits[:10], _PIS_WEIGHTS) % 11
    return int(digits[10]) == (0 if rest >= 10 else rest)


def cns_valid(value: str) -> bool:
    """Cartão Nacional de Saúde: 15 digits. A provisional one (7, 8, 9) has its digits weighted
    15..1 summing to a multiple of 11; a definitive one (1, 2) is its 11-digit PIS part, then 000
    and a check digit, or 001 and another where the first would be 10 (DATASUS's routine)."""
    digits = _digits(value, 15)
    if digits is None or digits[0] not in "12789":
        return False
    if digits[0] in "789":
        return _weighted(digits, range(15, 0, -1)) % 11 == 0
    total = _weighted(digits[:11], range(15, 4, -1))
    check = 11 - total % 11
    if check == 10:
        return digits[11:] == f"001{11 - (total + 2) % 11}"
    return digits[11:] == f"000{0 if check == 11 else check}"


def renavam_valid(value: str) -> bool:
    """RENAVAM: 11 digits (the old 9 left-padded with zeros), the last a mod-11 check digit."""
    digits = _digits(value, 9, 11)
    if digits is None:
        return False
    digits = digits.zfill(11)
    rest = _weighted(digits[:10], _PIS_WEIGHTS) * 10 % 11
    return int(digits[10]) == (0 if rest == 10 else rest)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        n = int(c) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


# issuers' prefixes (IIN) and lengths: a card number is one of these and passes Luhn
_CARD_ISSUERS = (
    (r"4", (13, 16, 19)),  # Visa
    (r"5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)", (16,)),  # Mastercard
    (r"3[47]", (15,)),  # American Express
    (r"3(?:0[0-5]|[689])", (14,)),  # Diners
    (r"35(?:2[89]|[3-8]\d)", (16,)),  # JCB
    (r"6(?:011|4[4-9]|5|22(?:1(?:2[6-9]|[3-9]\d)|[2-8]\d\d|9(?:[01]\d|2[0-5])))", (16, 19)),  # Discover
    (r"606282|3841", (16, 19)),  # Hipercard
    (r"636368|636297|627780|438935|504175|451416|5067|4576|4011", (16,)),  # Elo
)


def card_valid(value: str) -> bool:
    digits = _digits(value, *range(13, 20))
    if digits is None:
        return False
    return luhn_valid(digits) and any(
        re.match(prefix, digits) and len(digits) in lengths for prefix, lengths in _CARD_ISSUERS
    )


def cnm_valid(value: str) -> bool:
    """Código Nacional de Matrícula (CNJ Provimento 143/2023): the registry office's 6 digits,
    the book (2 or 3), 7 digits of the property, and DD by ISO 7064 mod 97-10, as in CNJ numbers."""
    digits = _digits(value, 16)
    if digits is None or digits[6] not in "23":
        return False
    return digits[14:] == f"{98 - int(digits[:14] + '00') % 97:02d}"
