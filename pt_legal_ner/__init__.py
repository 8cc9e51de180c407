"""pt_legal_ner: Portuguese legal named-entity recognition for spaCy (LeNER-Br labels).

The library and, in the built wheel, the trained pipeline beside it (``load``). Where things are:

- ``components/``: the trained and rule components and their model layers (registered with spaCy)
- ``llm/``: the spacy-llm fallback: task, models (Ollama, OpenAI-compatible), prompt, merge, cache
- ``privacy/``: Brazilian identifiers (patterns, check digits, ``legal_ids``) and pseudonymization
- ``io/``: reading documents (text, PDF, DOCX, JSONL, Parquet), limits, the reader process, outputs
- ``annotation/``: annotating documents into records, locally or on Ray, and their HTML pages
- ``review/``: the annotation-tool formats and the correction loop
- ``cli/``: the command line, one module per command (``python -m pt_legal_ner``)

Importing the package registers its factories and registry functions (the wheel also declares
them as entry points, so a pipeline folder loads without importing it first). None of them
imports spacy-llm: spaCy imports it when it builds an ``llm`` component (``llm/registry.py``),
so ``exclude=["llm_fallback"]`` keeps it out of the process. Module paths of the flat layout
(``pt_legal_ner.annotate`` and the like, before 0.2) and ``pt_legal_ner.privacy.pseudonymize``
still import, as the modules they became, with a DeprecationWarning: they go in 1.0.
"""

import importlib
import importlib.abc
import importlib.util
import json
import sys
import warnings
from pathlib import Path

from pt_legal_ner import components, llm, privacy  # noqa: F401  (registers everything)

# the version that stops importing the old module names
MOVED_REMOVED_IN = "1.0"
# module names before they moved (the flat layout's, then privacy.pseudonymize) -> where they are now
MOVED = {
    "token_ner": "components.token_ner",
    "transformer_model": "components.transformer_model",
    "encoder_runtime": "components.encoder_runtime",
    "rules": "components.rules",
    "iob": "components.iob",
    "soft_tags": "components.soft_tags",
    "extensions": "components.extensions",
    "optimizers": "components.optimizers",
    "labels": "components.labels",
    "llm_fallback": "llm.fallback",
    "llm_chat": "llm.chat",
    "llm_ollama": "llm.ollama",
    "llm_openai": "llm.openai",
    "llm_prompt": "llm.prompt",
    "llm_merge": "llm.merge",
    "llm_answer_cache": "llm.cache",
    "llm_registry": "llm.registry",
    "br_ids": "privacy.br_ids",
    "id_patterns": "privacy.patterns",
    "legal_ids": "privacy.legal_ids",
    "pseudonyms": "privacy.pseudonyms",
    "pseudonymize": "annotation.masking",
    "privacy.pseudonymize": "annotation.masking",
    "documents": "io.documents",
    "extract": "io.extract",
    "inputs": "io.inputs",
    "parts": "io.parts",
    "atomic": "io.atomic",
    "annotate": "annotation.records",
    "ray_annotate": "annotation.on_ray",
    "render": "annotation.render",
    "review": "review.loop",
    "review_formats": "review.formats",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import pt_legal_ner.<old name>`` gives the module it became (the same object), and warns."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(f"{__name__}.") and fullname[len(__name__) + 1 :] in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        old = spec.name[len(__name__) + 1 :]
        warnings.warn(
            f"{spec.name} is now {__name__}.{MOVED[old]}; the old name stops importing in {MOVED_REMOVED_IN}",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(f"{__name__}.{MOVED[old]}")

    def exec_module(self, module):
        pass


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())


def _version() -> str:
    meta = Path(__file__).parent / "meta.json"
    return json.loads(meta.read_text(encoding="utf-8"))["version"] if meta.exists() else "0+checkout"


__version__ = _version()


def load(**overrides):
    """The trained pipeline packaged beside this library (``spacy.load("pt_legal_ner")`` calls this)."""
    from spacy.util import load_model_from_init_py

    if not (Path(__file__).parent / "meta.json").exists():
        raise OSError("this pt_legal_ner is the library alone (a checkout): no packaged pipeline beside it")
    return load_model_from_init_py(__file__, **overrides)
