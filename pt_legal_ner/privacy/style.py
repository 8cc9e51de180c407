"""How a masked span is written: the pseudonymization style, with the key of the keyed one.

One object per policy, checked once where it is made: ``Style("keyed", key)`` refuses a weak
key, and never shows the key (not in its repr, not in the settings a run records: those
hold a fingerprint that cannot be turned back into it).

Keyed placeholders link: the same value gets the same placeholder in every document under
one key. For health data (LGPD art. 11: CID codes, diagnoses) and dates of birth that would
let a reader of a published archive count who shares a diagnosis, so those kinds get the
per-document numbered placeholders unless ``link_sensitive`` opts in.
"""

# no `from __future__ import annotations`: see annotate.py (dataclasses under spacy.util.import_file)

import hashlib
import hmac
import re
from dataclasses import dataclass, field

from pt_legal_ner.privacy.br_ids import fold
from pt_legal_ner.privacy.patterns import SENSITIVE

STYLES = ("placeholder", "initials", "mask", "keyed")
# hex digits of a keyed placeholder: 48 bits, so two values of one label share one by chance
# about once in 500 among a million different values of that label
KEYED_DIGITS = 12
MIN_KEY_BYTES = 16
# fewer different bytes than this is a typed word or a run of one character, not a secret
MIN_KEY_DISTINCT = 8
PERSON = "PESSOA"
# never linked across documents unless asked: health data (LGPD art. 11) and dates of birth
UNLINKED = frozenset(SENSITIVE) | {"DATA_NASCIMENTO"}
PARTICLES = frozenset({"de", "da", "do", "das", "dos", "e", "d"})
_WORD = re.compile(r"\w+")


def check_key(key: bytes | None) -> bytes:
    """``key`` if it can be the keyed style's secret; ValueError saying why not."""
    if key is None or len(key) < MIN_KEY_BYTES:
        raise ValueError(f"style 'keyed' needs a secret key of at least {MIN_KEY_BYTES} bytes")
    if len(set(key)) < MIN_KEY_DISTINCT:
        raise ValueError(f"style 'keyed' needs a random secret key: this one has only {len(set(key))} different bytes")
    return key


@dataclass(frozen=True)
class Style:
    name: str = "placeholder"
    key: bytes | None = field(default=None, repr=False)
    # keyed: link health data and dates of birth across documents too
    link_sensitive: bool = False

    def __post_init__(self) -> None:
        if self.name not in STYLES:
            raise ValueError(f"unknown style {self.name!r}; choose one of {', '.join(STYLES)}")
        if self.name == "keyed":
            check_key(self.key)
        elif self.key is not None:
            raise ValueError(f"a key is for style 'keyed', not {self.name!r}")

    def fingerprint(self) -> str | None:
        """Names the key without revealing it: two runs with the same key have the same one."""
        if self.key is None:
            return None
        return hmac.new(self.key, b"pt_legal_ner key fingerprint", hashlib.sha256).hexdigest()[:16]

    def describe(self) -> dict:
        """What a run records of its style (never the key)."""
        return {"style": self.name, "key_fingerprint": self.fingerprint(), "link_sensitive": self.link_sensitive}

    def replacement(self, label: str, entity: str, canonical: str, original: str) -> str:
        """What replaces ``original``, a mention of ``entity`` (e.g. PESSOA_1) whose value is ``canonical``."""
        if self.name == "keyed" and (self.link_sensitive or label not in UNLINKED):
            digest = hmac.new(self.key, f"{label}\x00{canonical}".encode(), hashlib.sha256).hexdigest()
            return f"[{label}_{digest[:KEYED_DIGITS]}]"
        if self.name == "mask":
            return re.sub(r"\w", "*", original)
        if self.name == "initials" and label == PERSON:
            initials = [w[0].upper() + "." for w in _WORD.findall(original) if fold(w) not in PARTICLES]
            return " ".join(initials) or f"[{entity}]"
        return f"[{entity}]"
