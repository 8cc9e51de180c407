"""Fetching LeNER-Br and turning it into spaCy corpora."""
