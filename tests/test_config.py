"""The training config resolves, builds the intended pipeline and optimizer."""

from pathlib import Path

import numpy as np
import pytest
import spacy
from spacy import util
from spacy.util import registry
from thinc.api import Config

import pt_legal_ner  # noqa: F401
from pt_legal_ner.components.optimizers import PartwiseAdam, partwise_adam
from tests.conftest import ROOT

CONFIG = ROOT / "configs" / "legal_ner_trf.cfg"


def test_config_builds_the_pipeline(encoder_dir):
    config = util.load_config(CONFIG, overrides={"paths.encoder": str(encoder_dir)}, interpolate=True)
    nlp = util.load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == ["transformer", "ner", "legal_rules"]
    assert nlp.get_pipe("ner").__class__.__name__ == "TaggingNER"
    assert nlp.config["components"]["transformer"]["model"]["name"] == str(encoder_dir)


def test_training_section_validates(encoder_dir):
    config = util.load_config(CONFIG, overrides={"paths.encoder": str(encoder_dir)}, interpolate=True)
    nlp = util.load_model_from_config(config, auto_fill=True, validate=True)
    from spacy.schemas import ConfigSchemaTraining

    training = registry.resolve(nlp.config.interpolate()["training"], schema=ConfigSchemaTraining)
    assert isinstance(training["optimizer"], PartwiseAdam)
    assert training["max_steps"] == 0 and training["max_epochs"] > 0
    assert nlp.config["training"]["score_weights"]["ents_f"] == 1.0


def test_partwise_adam_scales_only_encoder_parameters():
    config = Config().from_str(
        """
        [opt]
        @optimizers = "pt_legal_ner.PartwiseAdam.v1"
        learn_rate = 0.001
        encoder_lr_ratio = 0.1
        L2 = 0.0
        grad_clip = 0.0
        use_averages = false
        """
    )
    opt = registry.resolve(config)["opt"]
    steps = {}
    for key in [(1, "W"), (2, "encoder.layer.0.attention.self.query.weight")]:
        w = np.zeros(4, dtype="f")
        g = np.ones(4, dtype="f")
        new_w, _ = opt(key, w.copy(), g.copy())
        steps[key[1]] = float(-new_w[0])
    # Adam's first step moves each weight by ~learn_rate
    assert np.isclose(steps["W"], 1e-3, rtol=1e-3)
    assert np.isclose(steps["encoder.layer.0.attention.self.query.weight"], 1e-4, rtol=1e-3)


def test_layer_decay_scales_each_encoder_layer_below_the_top():
    opt = partwise_adam(1e-3, 0.2, layer_decay=0.5, encoder_layers=3, L2=0.0, grad_clip=0.0, use_averages=False)
    assert opt.encoder_scale("encoder.layer.2.output.dense.weight") == pytest.approx(0.1)
    assert opt.encoder_scale("encoder.layer.0.attention.self.query.bias") == pytest.approx(0.025)
    assert opt.encoder_scale("embeddings.word_embeddings.weight") == pytest.approx(0.0125)
    assert opt.encoder_scale("pooler.dense.weight") == pytest.approx(0.2)
    # the rate reaches the step: Adam's first step moves a weight by ~its rate
    new_w, _ = opt((1, "encoder.layer.0.output.dense.weight"), np.zeros(4, dtype="f"), np.ones(4, dtype="f"))
    assert np.isclose(-new_w[0], 1e-3 * 0.025, rtol=1e-3)
    with pytest.raises(ValueError, match="layer 3 .*encoder_layers"):
        opt.encoder_scale("encoder.layer.3.output.dense.weight")
    # without decay every encoder parameter takes encoder_lr_ratio, as before
    assert partwise_adam(1e-3, 0.2).encoder_scale("embeddings.word_embeddings.weight") == 0.2


@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_torch_kernels_take_thincs_adam_steps(l2):
    """The encoder's parameters by torch's fused kernel: thinc's Adam (clipping, bias correction,
    eps, decoupled decay) to float32 rounding, over steps with clipped and unclipped gradients."""
    rng = np.random.default_rng(0)
    thinc_adam = partwise_adam(1e-3, 0.1, L2=l2, torch_kernels=False)
    torch_adam = partwise_adam(1e-3, 0.1, L2=l2, torch_kernels=True)
    start = rng.normal(size=(300, 40)).astype("f")
    a, b = start.copy(), start.copy()
    key = (1, "encoder.layer.0.output.dense.weight")
    for step in range(20):
        gradient = rng.normal(size=start.shape).astype("f") * (3.0 if step % 2 else 0.001)
        a, _ = thinc_adam(key, a, gradient.copy())
        b, returned = torch_adam(key, b, gradient.copy())
        assert not returned.any()  # the gradient is zeroed, as thinc's shim expects
    moved = np.abs(a - start).max()
    assert moved > 1e-3
    # decay multiplies by (1 - 1e-6): its float32 rounding differs between the two by up to 3%
    assert np.abs(a - b).max() < (1e-3 if l2 == 0 else 5e-3) * moved
    np.testing.assert_allclose(thinc_adam.mom2[key], torch_adam.mom2[key], rtol=1e-4, atol=1e-12)
    # the head's parameters are thinc's, averages included; the encoder's have no average (see optimizers.py)
    torch_adam((1, "W"), start.copy(), np.ones_like(start))
    assert list(torch_adam.averages) == [(1, "W")] and key in thinc_adam.averages


def read_project() -> dict:
    import srsly

    return srsly.read_yaml(ROOT / "project.yml")


def test_project_yml_names_the_encoder_once():
    """Swapping the encoder is one variable: the train step passes vars.encoder through."""
    project = read_project()
    train = next(c for c in project["commands"] if c["name"] == "train")
    assert "--encoder ${vars.encoder}" in " ".join(train["script"])
    assert spacy.util.load_config(CONFIG)["paths"]["encoder"] == project["vars"]["encoder"]


def schedule_steps(config: Config, corpus: Path) -> int:
    """How many steps max_epochs of the config's batches over ``corpus`` take."""
    nlp = spacy.blank("pt")
    examples = list(registry.resolve({"c": config["corpora"]["train"] | {"path": str(corpus)}})["c"](nlp))
    batcher = registry.resolve({"b": config["training"]["batcher"]})["b"]
    return sum(1 for _ in batcher(examples)) * config["training"]["max_epochs"]


@pytest.mark.parametrize("splits", [["train"], ["train", "dev"]], ids=["default", "final"])
def test_learning_rate_decays_over_the_whole_training(splits, lener_dir, tmp_path):
    """The schedule's total_steps matches max_epochs of the config's batches (±5%, shuffling):
    ending early leaves the last steps at rate 0, ending late never finishes the decay.
    The final model (train + dev) sets total_steps through the project variable."""
    from scripts.data.convert_conll import convert
    from scripts.data.merge_corpora import merge

    project = read_project()
    config = util.load_config(CONFIG, interpolate=True)
    parts = []
    for split in splits:
        parts.append(tmp_path / f"{split}.spacy")
        convert(lener_dir / f"{split}.conll", parts[-1], n_sents=project["vars"]["n_sents"])
    merge(parts, tmp_path / "corpus.spacy")
    steps = schedule_steps(config, tmp_path / "corpus.spacy")
    if splits == ["train"]:
        total = config["training"]["optimizer"]["learn_rate"]["total_steps"]
    else:
        total = project["vars"]["final_total_steps"]
        train_final = next(c for c in project["commands"] if c["name"] == "train-final")
        script = " ".join(train_final["script"])
        assert "--paths.train corpus/train_dev.spacy" in script
        assert "--training.optimizer.learn_rate.total_steps ${vars.final_total_steps}" in script
    assert 0.95 * steps <= total <= 1.05 * steps, (total, steps)


def test_the_shipped_pipeline_finds_every_identifier_kind():
    # the assembled pipeline's config lists legal_ids' kinds; a kind added to patterns.py but not
    # here would be missing from every packaged pipeline
    from pt_legal_ner.privacy.patterns import LABELS

    config = util.load_config(ROOT / "configs" / "llm_fallback.cfg")
    assert tuple(config["components"]["legal_ids"]["labels"]) == LABELS
