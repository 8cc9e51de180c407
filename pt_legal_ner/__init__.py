"""Runtime code of the pt_legal_ner pipeline.

`spacy package --code` copies every module of this folder into the built package, whose
generated ``__init__`` (replacing this file) imports each of them, so their registered
functions exist at ``spacy.load``. Modules import each other absolutely
(``from pt_legal_ner.iob import ...``): the same import works in this checkout and in the
installed wheel. Importing this package in the checkout registers everything too
(``spacy train --code pt_legal_ner/__init__.py``). ``__main__`` (``python -m pt_legal_ner``,
the command line) is shipped but never imported by ``spacy.load``.
"""

from pt_legal_ner import (  # noqa: F401
    answer_cache,
    encoder_runtime,
    extensions,
    llm_fallback,
    llm_task,
    ollama_model,
    optimizers,
    rules,
    token_ner,
    transformer_model,
)
