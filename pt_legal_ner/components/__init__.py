"""The trained and rule components and their model layers: the token tagger (``token_ner``), the
transformer, its windows and its CPU encoder runtime, rule corrections, IOB decoding, soft tags, labels, extensions.

Importing it registers their factories and architectures with spaCy.
"""

from pt_legal_ner.components import (  # noqa: F401
    encoder_runtime,
    extensions,
    optimizers,
    rules,
    token_ner,
    transformer_model,
    windows,
)
