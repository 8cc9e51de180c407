"""Span arithmetic the components share (merge policies of llm_fallback, filters of legal_ids)."""

from spacy.tokens import Span


def overlaps(a: Span, b: Span) -> bool:
    """Whether two spans of the same doc share a token."""
    return a.start < b.end and b.start < a.end
