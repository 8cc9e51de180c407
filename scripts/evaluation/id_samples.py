"""The generated identifier set: every kind in every format courts write it, valid and mistyped,
in sentences of a decision's kind, among numbers and words that are no identifier.

A bare number without its kind's name is only planted where its kind takes bare numbers
(CPF, CNPJ, CNJ: two check digits or more) and its digits hold. Beside the planted sentences:
sentences with one random bare number (8 to 20 digits), and look-alikes courts write every day
("arts. 155 c/c 288", "ADI-3767", "portador de boa-fé"). Seeded: the same set every run.
The patterns and this set were written by the same team: the raw-text counts, the unit tests'
published examples and the other anonymizers (compare_anonymizers.py) are the outside checks.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

from pt_legal_ner.privacy.br_ids import (
    card_valid,
    cnh_valid,
    cnj_check_digits,
    cnm_valid,
    cnpj_valid,
    cns_valid,
    cpf_valid,
    pis_valid,
    renavam_valid,
    titulo_valid,
)
from pt_legal_ner.privacy.kind import UF

TEMPLATES = [
    "O requerente {name}, {value}, residente em Brasília, ajuizou a ação em 12/03/2018 com base na Lei 8.078/90.",
    "Conforme fls. 1852-1888, o réu ({value}) deve R$ 12.345,67 desde o Acórdão n.999404, 20160610082800APC.",
    "Intime-se {name} ({value}), nos termos do art. 5º, inciso LV, da CF/88 e do processo 2007.01.1.001234-5.",
    "Documento assinado digitalmente sob o número 14536376; {value}. Publicado no DJe de 02/03/2016, p. 45.",
    "{value}\nRelator: Ministro HERMAN BENJAMIN, REsp 1583083/RS, julgado em 13/12/2016, Súmula 297/STJ.",
]
NAMES = ["Maria da Silva", "JOSÉ CARLOS PEREIRA", "Ana Lúcia Costa", "Pedro Alvares Cabral"]
DOMAINS = ["tjdft.jus.br", "gmail.com", "adv.oab.org.br", "empresa.com.br"]
# what courts write every day that looks like an identifier and is none
LOOK_ALIKES = [
    "Condenado nos arts. 155, §4º, incs. II e IV, c/c 288, ambos do Código Penal.",
    "Conforme decidido na ADI-3767 e na ACO-2821, aplica-se a regra.",
    "O laudo aponta QI de 120 pontos e boa adaptação escolar.",
    "O possuidor é portador de boa-fé, nos termos do art. 1.201 do Código Civil.",
    "Levando em conta 3 fatores, fixo a pena em 4 anos.",
    "O direito nascido em 2015 não se altera pela lei posterior.",
    "A matrícula do imóvel foi juntada às fls. 45.",
    "O IPTU, na ordem de R$ 26.941,59, foi pago em 2019.",
    "Rua de mão única, conforme o Código de Trânsito (Lei 9.503/97).",
    "Veja-se a conta de liquidação às fls. 212, item 3.",
]


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def checked(make: Callable[[], str], check: Callable[[str], bool], valid: bool) -> str:
    """A value from ``make`` whose check is ``valid`` (a typo: one that fails it)."""
    while True:
        value = make()
        if check(value) == valid:
            return value


def cpf(rng: random.Random, valid: bool) -> str:
    return checked(lambda: digits(rng, 11), cpf_valid, valid)


def cnpj(rng: random.Random, valid: bool, letters: bool) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ" if letters else "0123456789"
    return checked(lambda: "".join(rng.choice(alphabet) for _ in range(12)) + digits(rng, 2), cnpj_valid, valid)


def cnj(rng: random.Random, valid: bool) -> tuple[str, str]:
    sequence, year, justice, court, origin = (
        digits(rng, 7),
        str(rng.randint(1990, 2026)),
        str(rng.randint(1, 9)),
        digits(rng, 2),
        digits(rng, 4),
    )
    check = int(cnj_check_digits(sequence, year, justice, court, origin))
    check = check if valid else (check + rng.randint(1, 96)) % 97 if check else 1
    return sequence, f"{sequence}-{check:02d}.{year}.{justice}.{court}.{origin}"


def registrations(rng: random.Random, valid: bool) -> list[tuple[str, str, str]]:
    """(label, value as written, the words before it) for CPF, CNPJ, CNJ and the one-check-digit kinds."""
    out: list[tuple[str, str, str]] = []
    c = cpf(rng, valid)
    out += [("CPF", f"{c[:3]}.{c[3:6]}.{c[6:9]}-{c[9:]}", "CPF "), ("CPF", f"{c[:9]}-{c[9:]}", "")]
    out += [("CPF", c, "inscrito no CPF sob o nº ")] + ([("CPF", c, "")] if valid else [])
    for letters in (False, True):
        n = cnpj(rng, valid, letters)
        out += [("CNPJ", f"{n[:2]}.{n[2:5]}.{n[5:8]}/{n[8:12]}-{n[12:]}", "")]
        out += [("CNPJ", n, "CNPJ nº ")] + ([("CNPJ", n, "")] if valid else [])
    _, number = cnj(rng, valid)
    out += [("CNJ", number, "Processo nº "), ("CNJ", number, "TST-RR-")]
    out += [("CNJ", number.replace("-", "").replace(".", ""), "autos nº ")]
    if valid:
        out += [("CNJ", number.replace("-", "").replace(".", ""), "")]
    h = checked(lambda: digits(rng, 11), cnh_valid, valid)
    out += [("CNH", h, "CNH nº "), ("CNH", h, "carteira nacional de habilitação "), ("CNH", f"{h[:9]}-{h[9:]}", "CNH ")]
    t = checked(lambda: digits(rng, 8) + f"{rng.randint(1, 28):02d}" + digits(rng, 2), titulo_valid, valid)
    out += [("TITULO_ELEITOR", f"{t[:4]} {t[4:8]} {t[8:]}", ""), ("TITULO_ELEITOR", t, "título de eleitor nº ")]
    out += [("TITULO_ELEITOR", f"{t[:4]}.{t[4:8]}.{t[8:]}", "inscrição eleitoral ")]
    p = checked(lambda: digits(rng, 11), pis_valid, valid)
    out += [("PIS", f"{p[:3]}.{p[3:8]}.{p[8:10]}-{p[10]}", ""), ("PIS", p, "PIS/PASEP nº "), ("PIS", p, "NIT ")]
    definitive = checked(
        lambda: rng.choice("12") + digits(rng, 10) + rng.choice(["000", "001"]) + digits(rng, 1), cns_valid, valid
    )
    provisional = checked(lambda: rng.choice("789") + digits(rng, 14), cns_valid, valid)
    for s in (definitive, provisional):
        out += [("CNS", f"{s[:3]} {s[3:7]} {s[7:11]} {s[11:]}", ""), ("CNS", s, "cartão nacional de saúde nº ")]
        out += [("CNS", s, "CNS ")]
    r = checked(lambda: digits(rng, 11), renavam_valid, valid)
    old = checked(lambda: digits(rng, 9), renavam_valid, valid)  # before 2013: 9 digits
    out += [("RENAVAM", r, "RENAVAM "), ("RENAVAM", old, "Renavam nº ")]
    issuer = rng.choice(["4", "55", "6011"])
    card = checked(lambda: issuer + digits(rng, 16 - len(issuer)), card_valid, valid)
    out += [("CARTAO", " ".join(card[i : i + 4] for i in range(0, 16, 4)), "")]
    out += [("CARTAO", "-".join(card[i : i + 4] for i in range(0, 16, 4)), "cartão de crédito ")]
    out += [("CARTAO", card, "cartão de crédito nº ")]
    amex = checked(lambda: rng.choice(["34", "37"]) + digits(rng, 13), card_valid, valid)
    out += [("CARTAO", f"{amex[:4]} {amex[4:10]} {amex[10:]}", "")]
    m = checked(lambda: digits(rng, 6) + rng.choice("23") + digits(rng, 9), cnm_valid, valid)
    out += [("IMOVEL", f"{m[:6]}.{m[6]}.{m[7:14]}-{m[14:]}", "")]
    return out


def personal(rng: random.Random) -> list[tuple[str, str, str]]:
    """Kinds with no check digits: contact, bank, property, vehicle, birth, address and health."""
    uf, number = rng.choice(UF), rng.randint(1000, 399999)
    dotted = f"{number:,}".replace(",", ".")
    letters = "".join(rng.choice("BDFGHJKLMNPRSTVWXZ") for _ in range(3))
    cep = digits(rng, 8)
    user = rng.choice(["joao.silva", "ana_costa", "adv.pereira2", "contato"])
    area, line = rng.randint(11, 99), digits(rng, 4)
    rg = digits(rng, 7)
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1930, 2010)
    months = "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro".split()
    street = rng.choice(["Rua das Flores", "Avenida Presidente Vargas", "Rua 7 de Setembro", "Alameda Santos"])
    return [
        ("OAB", f"OAB/{uf} {dotted}", "advogado "),
        ("OAB", f"OAB-{uf} nº {number}", ""),
        ("OAB", f"OAB nº {dotted}/{uf}", ""),
        ("OAB", f"OAB: {number}/{uf}", ""),
        ("OAB", f"{number}-E/OAB-{uf}", ""),
        ("CEP", f"{cep[:2]}.{cep[2:5]}-{cep[5:]}", "CEP "),
        ("CEP", f"{cep[:5]}-{cep[5:]}", ""),
        ("CEP", cep, "CEP: "),
        ("EMAIL", f"{user}@{rng.choice(DOMAINS)}", "e-mail "),
        ("TELEFONE", f"({area}) 3{digits(rng, 3)}-{line}", "tel. "),
        ("TELEFONE", f"({area}) 9{digits(rng, 4)}-{line}", ""),
        ("TELEFONE", f"{area} 9{digits(rng, 4)}-{line}", "celular "),
        ("TELEFONE", f"+55 {area} 3{digits(rng, 3)}-{line}", ""),
        ("TELEFONE", f"0800 {digits(rng, 3)} {line}", ""),
        ("TELEFONE", f"3{digits(rng, 3)}-{line}", "telefone "),
        ("RG", f"{rg[0]}.{rg[1:4]}.{rg[4:]} SSP/{rng.choice(UF)}", "RG nº "),
        ("RG", f"{rg[:2]}.{rg[2:5]}.{rg[5:]}-{rng.choice('0123456789X')}", "RG "),
        ("RG", rg, "carteira de identidade nº "),
        ("PASSAPORTE", f"{letters[:2]}{digits(rng, 6)}", "passaporte nº "),
        ("PASSAPORTE", f"{letters[0]}{digits(rng, 7)}", "passaporte estrangeiro "),
        ("PLACA", f"{letters}{digits(rng, 1)}{rng.choice('ABCDEFGHIJ')}{digits(rng, 2)}", ""),
        ("PLACA", f"{letters}-{digits(rng, 4)}", ""),
        ("PLACA", f"{letters} {digits(rng, 4)}", "veículo de placa "),
        ("PIX", str(uuid.UUID(int=rng.getrandbits(128), version=4)), ""),
        ("PIX", str(uuid.UUID(int=rng.getrandbits(128), version=4)), "chave PIX "),
        ("DADOS_BANCARIOS", f"{digits(rng, 4)}-{rng.choice('0123456789X')}", "agência "),
        ("DADOS_BANCARIOS", f"{digits(rng, 5)}-{digits(rng, 1)}", "conta corrente nº "),
        ("DADOS_BANCARIOS", f"{digits(rng, 1)}.{digits(rng, 3)}.{digits(rng, 3)}-{digits(rng, 1)}", "conta poupança "),
        ("IMOVEL", f"{rng.randint(1, 99)}.{digits(rng, 3)}", "matrícula nº "),
        ("IMOVEL", f"{digits(rng, 3)}.{digits(rng, 3)}.{digits(rng, 3)}-{digits(rng, 1)}", "IPTU nº "),
        ("IMOVEL", digits(rng, 8), "inscrição imobiliária "),
        ("DATA_NASCIMENTO", f"{day:02d}/{month:02d}/{year}", "nascido em "),
        ("DATA_NASCIMENTO", f"{day:02d}.{month:02d}.{year}", "data de nascimento: "),
        ("DATA_NASCIMENTO", f"{day} de {months[month - 1]} de {year}", "nascida aos "),
        ("ENDERECO", f"{street}, nº {rng.randint(1, 3000)}, apto {rng.randint(101, 1204)}", "residente na "),
        ("ENDERECO", f"{street}, {rng.randint(1, 3000)}", "com endereço na "),
        ("ENDERECO", f"SQN {rng.randint(102, 416)} Bloco {rng.choice('ABCDEFGHIJK')} apto {rng.randint(101, 608)}", ""),
        ("ENDERECO", f"QI {rng.randint(1, 29)} Conjunto {rng.randint(1, 20)} Casa {rng.randint(1, 30)}", "morador da "),
        ("CID", f"{rng.choice('FGE')}{digits(rng, 2)}.{digits(rng, 1)}", "CID-10 "),
        ("CID", f"{rng.choice('CIKM')}{digits(rng, 2)}", "CID: "),
        (
            "SAUDE",
            rng.choice(["esquizofrenia paranoide", "transtorno bipolar", "neoplasia maligna de mama"]),
            "portador de ",
        ),  # fmt: skip
        ("SAUDE", rng.choice(["depressão grave", "doença de Crohn", "síndrome de Down"]), "diagnosticada com "),
    ]


def examples(rng: random.Random) -> list[tuple[str, str, str]]:
    """(label, text as written, the words before it) for every format of every kind."""
    return registrations(rng, True) + registrations(rng, False) + personal(rng)


def generated_set(n_rounds: int, seed: int, n_random: int) -> list[tuple[str, tuple[int, int, str] | None]]:
    """(sentence, (start, end, label)) with one identifier per sentence; (sentence, None) for the
    sentences with a random number or a look-alike."""
    rng = random.Random(seed)
    items: list[tuple[str, tuple[int, int, str] | None]] = []
    for _ in range(n_random):
        number = digits(rng, rng.choice([8, 10, 11, 12, 14, 15, 16, 20]))
        items.append(
            (rng.choice(["Documento nº {}, juntado às fls. 12.", "Origem: {} e outros."]).format(number), None)
        )
    for _ in range(n_rounds):
        items += [(sentence, None) for sentence in LOOK_ALIKES]
        for label, value, before in examples(rng):
            template = rng.choice(TEMPLATES)
            head, tail = template.split("{value}")
            head = head.format(name=rng.choice(NAMES)) + before
            items.append(
                (head + value + tail.format(name=rng.choice(NAMES)), (len(head), len(head) + len(value), label))
            )
    return items
