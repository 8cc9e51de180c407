"""Average the weights of K models of one recipe into one model (a "model soup").

    python -m scripts.training.soup training/legal_ner_trf_soup \
        training/legal_ner_trf/model-best training/teachers/seed1/model-best ...

The teachers differ only by seed and all start from the same pretrained encoder, so their
weights may lie close enough for their mean to work as one model (Wortsman et al., 2022,
"Model soups"): an ensemble's gain, if any survives, at one model's inference cost. Whether it
does is measured on dev by `evaluate-distillation`, beside the ensemble and the student.
The first model's pipeline, config and non-float buffers are kept; every float parameter of
every component, thinc's and torch's, is the plain mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import typer
from spacy.language import Language
from thinc.api import Model

from pt_legal_ner.io.atomic import to_disk_atomic
from scripts.training.soft_labels import load_teacher


def _models(nlp: Language) -> dict[str, Model]:
    return {name: proc.model for name, proc in nlp.pipeline if isinstance(getattr(proc, "model", None), Model)}


def average_weights(nlps: Sequence[Language]) -> Language:
    """Set the first pipeline's weights to the mean of all of ``nlps``' and return it."""
    import torch

    first = nlps[0]
    tags = first.get_pipe("ner").tags
    for k, nlp in enumerate(nlps[1:], 2):
        if nlp.pipe_names != first.pipe_names or nlp.get_pipe("ner").tags != tags:
            raise ValueError(f"model {k} has other components or tags than model 1: only one recipe's models average")
    for name, model in _models(first).items():
        walks = [list(model.walk()), *(list(_models(nlp)[name].walk()) for nlp in nlps[1:])]
        if len({len(walk) for walk in walks}) != 1:
            raise ValueError(f"{name}: the models' layers differ")
        for nodes in zip(*walks, strict=True):
            for param in nodes[0].param_names:
                if nodes[0].has_param(param):
                    mean = np.mean([model.ops.to_numpy(node.get_param(param)) for node in nodes], axis=0)
                    nodes[0].set_param(param, model.ops.asarray(mean.astype("float32")))
            for shims in zip(*(node.shims for node in nodes), strict=True):
                states = [shim._model.state_dict() for shim in shims]
                averaged = {
                    key: torch.stack([state[key] for state in states]).mean(dim=0)
                    if tensor.is_floating_point()
                    else tensor  # integer buffers (position ids) are the same in every model
                    for key, tensor in states[0].items()
                }
                shims[0]._model.load_state_dict(averaged)
    return first


def soup(output: Path, model_paths: Sequence[Path]) -> Language:
    """Write the mean of ``model_paths``' weights to ``output``, atomically."""
    if len(model_paths) < 2:
        raise typer.BadParameter("a soup needs at least 2 models")
    nlp = average_weights([load_teacher(path) for path in model_paths])
    to_disk_atomic(nlp, output)
    return nlp


def main(
    output: Path = typer.Argument(..., help="Folder to write the averaged pipeline to"),
    models: list[Path] = typer.Argument(..., exists=True, file_okay=False, help="Pipelines of one recipe"),
) -> None:
    soup(output, models)
    typer.echo(f"mean of {len(models)} models -> {output}")


if __name__ == "__main__":
    typer.run(main)
