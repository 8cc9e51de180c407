"""The library's layout and how it ships: subpackages without an import circle and with small
modules, its registered functions declared as the wheel's entry points, spaCy's setup.py
patched to ship every subpackage, and the flat layout's module paths still importing."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys

import spacy

from scripts.packaging.package_pipeline import LIBRARY_DIR, library_files, patch_setup, registry_entry_points
from tests.conftest import ROOT

MAX_MODULE_LINES = 350
MAX_MAIN_LINES = 150


def module_name(relative) -> str:
    parts = ["pt_legal_ner", *relative.with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path, modules: set[str]) -> set[str]:
    """The library modules a module imports, anywhere in it (lazy imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in modules}


def test_no_import_circle_and_small_modules():
    modules = {module_name(p): LIBRARY_DIR / p for p in library_files()}
    graph = {name: imports_of(path, set(modules)) - {name} for name, path in modules.items()}
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            assert state.get(other) != 1, "import circle: " + " -> ".join([*trail, name, other])
            if other not in state:
                visit(other, [*trail, name])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules.items()}
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}
    assert sizes["pt_legal_ner.__main__"] < MAX_MAIN_LINES
    assert {name.split(".")[1] for name in modules if name.count(".") >= 2} == {
        "annotation", "cli", "components", "io", "llm", "privacy", "review",
    }  # fmt: skip
    # lower layers import nothing above them: io only io; privacy (a leaf beside the components
    # it registers with) neither io, annotation nor cli; annotation not the command line
    allowed = {"io": {"io"}, "privacy": {"privacy", "components"}, "annotation": {"annotation", "io", "privacy",
               "components", "llm"}}  # fmt: skip
    for name, imported in graph.items():
        layer = name.split(".")[1] if name.count(".") >= 2 else None
        if layer in allowed:
            # the package itself: importing it registers the components (a Ray actor does)
            above = {
                o for o in imported - {"pt_legal_ner"} if o.count(".") < 2 or o.split(".")[1] not in allowed[layer]
            }
            assert above == set(), f"{name} imports {sorted(above)}"


def test_every_registered_function_is_an_entry_point_that_resolves_to_it():
    groups = registry_entry_points()
    names = {entry.split(" = ")[0] for entries in groups.values() for entry in entries}
    assert {"legal_ner", "legal_rules", "legal_ids", "pt_legal_ner.TransformerModel.v1"} <= names
    assert {"pt_legal_ner.Ollama.v1", "pt_legal_ner.LegalNERFallback.v1", "pt_legal_ner.ids_spans_only.v1"} <= names
    registries = {"spacy_factories": "factories", "spacy_architectures": "architectures", "spacy_misc": "misc"}
    for group, entries in groups.items():
        for entry in entries:
            name, target = entry.split(" = ")
            module, attr = target.split(":")
            func = getattr(importlib.import_module(module), attr)
            if group in registries:
                assert getattr(spacy.util.registry, registries[group]).get(name) is func


def test_spacys_setup_py_is_patched_to_ship_the_subpackages_and_declare_the_entry_points(tmp_path):
    template = importlib.import_module("spacy.cli.package").TEMPLATE_SETUP
    setup_py = tmp_path / "setup.py"
    setup_py.write_text(template, encoding="utf-8")
    patch_setup(setup_py, "pt_legal_ner")
    text = setup_py.read_text(encoding="utf-8")
    assert "'pt_legal_ner.components'" in text and "'pt_legal_ner.cli'" in text and "'pt_legal_ner.io'" in text
    assert "'spacy_factories': ['legal_ids = pt_legal_ner.privacy.legal_ids:make_legal_ids'" in text
    assert "'spacy_models': ['pt_legal_ner = pt_legal_ner']" in text
    compile(text, "setup.py", "exec")


def test_the_old_module_paths_still_import_as_the_modules_they_became_and_warn():
    code = (
        "import warnings; warnings.simplefilter('always');"
        " from pt_legal_ner.annotate import annotate; from pt_legal_ner.inputs import open_documents;"
        " import pt_legal_ner.llm_fallback as old, pt_legal_ner.llm.fallback as new;"
        " from pt_legal_ner.annotation.records import annotate as moved;"
        " from pt_legal_ner.pseudonymize import PseudonymizingWriter;"
        " from pt_legal_ner.privacy.pseudonymize import PseudonymizingWriter as writer;"
        " assert annotate is moved and old is new and writer is PseudonymizingWriter; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    warned = [line for line in done.stderr.splitlines() if "DeprecationWarning" in line]
    assert len(warned) == 5 and "pt_legal_ner.privacy.pseudonymize is now pt_legal_ner.annotation.masking" in (
        done.stderr
    )
    assert all("stops importing in 1.0" in line for line in warned)
