"""Runs one anonymizer over texts and prints what it found: run by compare_anonymizers.py with
the Python of the tool's own venv, so it imports nothing of this project.

stdin: {"tool": ..., "texts": [...]}; stdout: {"spans": [[[start, end, label], ...] per text],
"seconds": time inside the tool's find call over all texts (imports and set-up apart)}.
"""

import json
import sys
import tempfile
import time


def legal_ids():
    from pt_legal_ner.privacy.patterns import find_ids

    return lambda text: [(f.start, f.end, f.label) for f in find_ids(text)]


def tarja(report_invalid):
    import tarja as tool

    def find(text):
        found = tool.find(text, report_invalid=report_invalid)
        return [(m.start, m.end, m.entity) for m in found]

    return find


def anonimizador_dp():
    # regex mode: a blank Portuguese model (its default, pt_core_news_lg, is not on PyPI)
    import spacy
    from anonimizar import Anonimizar
    from anonimizar._constants.entity_labels import DEFAULT_SUPPORTED_LABELS

    folder = tempfile.mkdtemp()
    spacy.blank("pt").to_disk(folder)
    tool = Anonimizar(folder, labels=list(DEFAULT_SUPPORTED_LABELS))

    def find(text):
        return [(e["start_position"], e["end_position"], e["label"]) for e in tool.extract_entities(text)]

    return find


TOOLS = {
    "legal_ids": legal_ids,
    "tarja": lambda: tarja(False),
    "tarja-suspects": lambda: tarja(True),
    "anonimizador-dp": anonimizador_dp,
}


def main() -> None:
    request = json.load(sys.stdin)
    find = TOOLS[request["tool"]]()
    find("aquecimento: CPF 111.444.777-35")  # first-call set-up outside the timing
    start = time.perf_counter()
    spans = [find(text) for text in request["texts"]]
    seconds = time.perf_counter() - start
    json.dump({"spans": spans, "seconds": seconds}, sys.stdout)


if __name__ == "__main__":
    main()
