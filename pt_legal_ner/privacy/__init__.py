"""Personal data: Brazilian identifier patterns and check digits, the ``legal_ids`` component, and
pseudonymization (placeholders, the pseudonymizing writer).

Importing it registers ``legal_ids`` and its filters.
"""

from pt_legal_ner.privacy import legal_ids, patterns  # noqa: F401
