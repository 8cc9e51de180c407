"""The command line (``python -m pt_legal_ner``): one module per command, each a thin function
that checks its arguments, hands off to the library and reports through ``common``."""
