"""Input limits: how much of one document `annotate` and `pseudonymize` read, checked before the work.

A document over a limit gets an error line naming the limit and how to raise it
(``--limit NAME=VALUE`` on the command line, ``Limits(NAME=VALUE)`` in Python); the run goes on.
The defaults are far above any court decision (the 300-page judgment of
metrics/benchmark_annotate.txt is ~1 million characters) and far below what exhausts a
2-core, 24 GiB machine. Only the standard library here: the reader process imports it alone.
"""

from dataclasses import dataclass, fields, replace

MIB = 1024**2


@dataclass(frozen=True)
class Limits:
    # bytes read into memory at once: a whole file, one JSONL line, one Parquet row group or row
    max_bytes: int = 256 * MIB
    # memory one JSONL line may take once parsed, estimated from its brackets and commas before
    # parsing: ``[{},{},...]`` takes ~24 times its bytes as Python objects, text ~1-4 times
    max_parsed: int = 1024 * MIB
    # characters of one document's text, after extraction (PDF, DOCX, text, JSONL, Parquet)
    max_chars: int = 10_000_000
    # pages of one PDF
    max_pages: int = 10_000
    # members of one DOCX (a ZIP archive; Word writes 10-100)
    max_parts: int = 1_000
    # bytes of a DOCX's members once inflated, all together
    max_inflated: int = 256 * MIB
    # inflated / compressed size of one DOCX member of 1 MiB or more (Word's XML: 5-20)
    max_ratio: int = 100
    # seconds to extract the text of one PDF or DOCX, and to OCR each of its pages
    max_read_seconds: int = 300
    # seconds to OCR all the pages of one PDF together (Tesseract reads ~0.4-0.8 pages/s per core)
    max_ocr_seconds: int = 4 * 3600
    # memory of the process that extracts PDF and DOCX text (PDFium aborts when it runs out): a
    # 300-page PDF or DOCX reads within 128 MiB; with the loaded pipeline (~1.4 GiB) under 2 GiB
    max_read_memory: int = 384 * MIB


DEFAULT_LIMITS = Limits()
NAMES = tuple(f.name for f in fields(Limits))


class LimitExceeded(ValueError):
    """A document over one of the Limits; the message names the limit and how to raise it."""

    def __init__(self, what: str, value: int, name: str, limits: Limits) -> None:
        super().__init__(
            f"{what} ({value:,}) is over the limit {name}={getattr(limits, name):,}: raise it with"
            f" --limit {name}=N (Python: Limits({name}=N))"
        )
        self.name = name


def check(what: str, value: int, name: str, limits: Limits) -> None:
    """Raise LimitExceeded when ``value`` is over ``limits``'s ``name``."""
    if value > getattr(limits, name):
        raise LimitExceeded(what, value, name, limits)


def with_overrides(limits: Limits, settings: list[str]) -> Limits:
    """``limits`` with NAME=VALUE settings applied (the command line's --limit); raises ValueError."""
    changes = {}
    for setting in settings:
        name, sep, value = setting.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in NAMES:
            raise ValueError(f"--limit takes NAME=VALUE with NAME one of {', '.join(NAMES)}; got {setting!r}")
        try:
            number = parse_size(value)
        except ValueError:
            raise ValueError(f"--limit {name}: not a number or size: {value!r} (e.g. 20000000, 512MiB)") from None
        if number < 1:
            raise ValueError(f"--limit {name}: must be >= 1, got {number}")
        changes[name] = number
    return replace(limits, **changes)


UNITS = {"kib": 1024, "mib": MIB, "gib": 1024**3, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "b": 1}


def parse_size(value: str) -> int:
    """'2GiB', '1500MiB', '512MB', '20_000_000' or a plain number; raises ValueError."""
    text = value.strip().lower().replace("_", "")
    for unit, factor in UNITS.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)
