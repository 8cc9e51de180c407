"""Runtime code of the pt_legal_ner pipeline.

`spacy package --code` copies every module of this folder into the built package, whose
generated ``__init__`` (replacing this file) imports each of them, so their registered
functions exist at ``spacy.load``. Modules import each other absolutely
(``from pt_legal_ner.iob import ...``): the same import works in this checkout and in the
installed wheel. Importing this package in the checkout registers everything too
(``spacy train --code pt_legal_ner/__init__.py``). ``__main__`` (``python -m pt_legal_ner``,
the command line) is shipped but never imported by ``spacy.load``. None of them imports
spacy-llm: spaCy imports it when it builds an ``llm`` component (`llm_registry`), so
``exclude=["llm_fallback"]`` keeps it out of the process.
"""

from pt_legal_ner import (  # noqa: F401
    encoder_runtime,
    extensions,
    id_patterns,
    legal_ids,
    llm_answer_cache,
    llm_chat,
    llm_fallback,
    llm_merge,
    llm_ollama,
    llm_openai,
    llm_prompt,
    llm_registry,
    optimizers,
    rules,
    token_ner,
    transformer_model,
)
