"""The settings of one annotate or pseudonymize run, built once by the command line and taken by
the local path (``run_locally``), the Ray path (``annotate_on_ray``), each Ray actor
(``PartAnnotator``) and the settings a resume checks (pt_legal_ner/io/run_settings.py)."""

# no `from __future__ import annotations`: see annotate.py (dataclasses under spacy.util.import_file)

from dataclasses import asdict, dataclass
from typing import Any

from pt_legal_ner.annotation.records import DEFAULT_BATCH_SIZE, MAX_CHUNK_CHARS
from pt_legal_ner.io.inputs import ALL_FILES, DEFAULT_PART_SIZE
from pt_legal_ner.io.limits import DEFAULT_LIMITS, Limits
from pt_legal_ner.io.ocr import DEFAULT_OCR, Ocr

MODEL = "pt_legal_ner"
DEFAULT_MEMORY_PER_WORKER = 2 * 1024**3  # the packaged pipeline peaks at ~1.3 GiB RSS


@dataclass(frozen=True)
class RunOptions:
    """How documents are read and annotated."""

    model: str = MODEL
    exclude: tuple[str, ...] = ()
    code: str | None = None  # a Python file imported first (custom components)
    batch_size: int = DEFAULT_BATCH_SIZE
    n_process: int = 1
    max_chars: int = MAX_CHUNK_CHARS
    glob: str = ALL_FILES
    limits: Limits = DEFAULT_LIMITS
    ocr: Ocr = DEFAULT_OCR

    def records_settings(self) -> dict[str, Any]:
        """What of these changes the records (not the batching, not how many pages are OCRed at once)."""
        return {
            "exclude": sorted(self.exclude),
            "max_chars": self.max_chars,
            "limits": asdict(self.limits),
            "ocr": {"mode": self.ocr.mode, "dpi": self.ocr.dpi, "language": self.ocr.language},
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for a Ray actor's constructor (``from_dict`` gives these back)."""
        return {**asdict(self), "exclude": list(self.exclude)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "RunOptions":
        limits, ocr = Limits(**values["limits"]), Ocr(**values["ocr"])
        return cls(**{**values, "exclude": tuple(values["exclude"]), "limits": limits, "ocr": ocr})


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide a Ray run goes."""

    address: str = "local"  # local (start Ray here), auto, HOST:PORT or ray://HOST:10001
    workers: int = 2  # actors, each loading the pipeline once
    threads_per_worker: int = 1
    memory_per_worker: int = DEFAULT_MEMORY_PER_WORKER
    part_size: int = DEFAULT_PART_SIZE  # documents per output part: the unit of work and of retry
    compress: bool = False  # gzip parts
