"""Distillation (issue 15): teachers' soft tags on the corpus, and the student's loss that learns from them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import DocBin, Span
from spacy.training import Example
from thinc.api import SequenceCategoricalCrossentropy

import pt_legal_ner  # noqa: F401
from pt_legal_ner.components.soft_tags import get_soft_tags, mixed_loss, set_soft_tags, soft_targets

ROOT = Path(__file__).resolve().parent.parent
TAGS = ["O", "B-LOCAL", "I-LOCAL", "B-PESSOA", "I-PESSOA"]


def random_probs(rng, n: int) -> numpy.ndarray:
    logits = rng.normal(size=(n, len(TAGS)))
    return (numpy.exp(logits) / numpy.exp(logits).sum(axis=1, keepdims=True)).astype("f")


def test_without_soft_tags_the_loss_is_spacys_cross_entropy_and_with_them_the_target_mixes():
    rng = numpy.random.default_rng(0)
    probs = random_probs(rng, 6)
    gold_tags = ["O", "B-PESSOA", "I-PESSOA", None, "B-LOCAL", "O"]
    expected_grad, expected_loss = SequenceCategoricalCrossentropy(names=TAGS, normalize=False)([probs], [gold_tags])
    gold = numpy.zeros_like(probs)
    known = numpy.array([tag is not None for tag in gold_tags])
    for i, tag in enumerate(gold_tags):
        if tag is not None:
            gold[i, TAGS.index(tag)] = 1.0
    loss, grad = mixed_loss(probs, gold, known, None, 0.5)
    assert loss == pytest.approx(float(expected_loss), rel=1e-5)
    numpy.testing.assert_allclose(grad, expected_grad[0], atol=1e-6)

    soft = random_probs(rng, 6)
    loss, grad = mixed_loss(probs, gold, known, soft, 0.25)
    target = 0.75 * gold + 0.25 * soft
    target[3] = soft[3]  # no gold tag: the teachers alone
    numpy.testing.assert_allclose(grad, probs - target, atol=1e-6)
    assert loss == pytest.approx(float(((probs - target) ** 2).sum()), rel=1e-5)
    _, only_soft = mixed_loss(probs, None, numpy.zeros(6, bool), soft, 0.25)
    numpy.testing.assert_allclose(only_soft, probs - soft, atol=1e-6)


def test_soft_tags_survive_a_docbin_follow_the_components_tag_order_and_refuse_another_tokenization():
    nlp = spacy.blank("pt")
    doc = nlp.make_doc("João mora em Brasília .")
    probs = random_probs(numpy.random.default_rng(1), len(doc))
    set_soft_tags(doc, TAGS, probs)
    (back,) = (
        DocBin(docs=[doc], store_user_data=True)
        .from_bytes(DocBin(docs=[doc], store_user_data=True).to_bytes())
        .get_docs(nlp.vocab)
    )
    tags, starts, stored = get_soft_tags(back)
    assert tags == TAGS and starts == [0, 5, 10, 13, 22]
    numpy.testing.assert_allclose(stored, probs, atol=1e-3)  # float16 on disk

    reordered = list(reversed(TAGS))
    targets = soft_targets(Example(nlp.make_doc(back.text), back), reordered)
    numpy.testing.assert_allclose(targets, stored[:, ::-1])

    other = Example(nlp.make_doc("João mora em Brasília."), back)
    with pytest.raises(ValueError, match="another tokenization"):
        soft_targets(other, TAGS)
    with pytest.raises(ValueError, match="make them again"):
        soft_targets(Example(nlp.make_doc(back.text), back), TAGS[:3])


def train_student(soft_weight: float, soft_label: str, unlabeled: bool = False):
    """A tiny legal_ner whose gold says PESSOA and whose teachers say ``soft_label`` for 'João'."""
    nlp = spacy.blank("pt")
    model = {
        "@architectures": "spacy.Tagger.v2",
        "tok2vec": {
            "@architectures": "spacy.HashEmbedCNN.v2",
            "width": 32, "depth": 1, "embed_size": 500, "window_size": 1, "maxout_pieces": 2,
            "subword_features": True, "pretrained_vectors": None,
        },
    }  # fmt: skip
    ner = nlp.add_pipe("legal_ner", name="ner", config={"model": model, "soft_weight": soft_weight})
    text = "João mora em Brasília ."
    examples = []
    for _ in range(4):
        ref = nlp.make_doc(text)
        if not unlabeled:
            ref.ents = [Span(ref, 0, 1, "PESSOA"), Span(ref, 3, 4, "LOCAL")]
        examples.append(Example(nlp.make_doc(text), ref))
    ner.initialize(lambda: examples, labels=["LOCAL", "PESSOA"])
    tags = ner.tags
    for eg in examples:
        soft = numpy.zeros((5, len(tags)), dtype="f")
        soft[:, tags.index("O")] = 1.0
        soft[0] = 0.0
        soft[0, tags.index(f"B-{soft_label}")] = 1.0
        soft[3] = 0.0
        soft[3, tags.index("B-LOCAL")] = 1.0
        set_soft_tags(eg.reference, tags, soft)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(30):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return [(ent.text, ent.label_) for ent in nlp(text).ents]


def test_the_student_follows_the_gold_at_soft_weight_0_and_the_teachers_at_1():
    assert train_student(0.0, soft_label="LOCAL") == [("João", "PESSOA"), ("Brasília", "LOCAL")]
    assert train_student(1.0, soft_label="LOCAL") == [("João", "LOCAL"), ("Brasília", "LOCAL")]
    # a doc with no gold entities annotated learns from the teachers alone, whatever the weight
    assert train_student(0.0, soft_label="PESSOA", unlabeled=True) == [("João", "PESSOA"), ("Brasília", "LOCAL")]


def test_soft_weight_outside_0_1_is_refused():
    nlp = spacy.blank("pt")
    with pytest.raises(ValueError, match="soft_weight must be within"):
        nlp.add_pipe("legal_ner", config={"soft_weight": 1.5})


@pytest.fixture(scope="module")
def soft_corpus(tmp_path_factory, tiny_encoder, lener_train_docs) -> dict:
    """Two tiny teachers (initialized, heads set to different random weights) and their soft-labelled corpus."""
    from spacy import util
    from spacy.training.initialize import init_nlp

    from scripts.training.soft_labels import soft_label

    root = tmp_path_factory.mktemp("distill")
    docs = lener_train_docs
    DocBin(docs=docs[:12]).to_disk(root / "train.spacy")
    DocBin(docs=docs[12:18]).to_disk(root / "dev.spacy")
    overrides = {"paths.encoder": str(tiny_encoder), "paths.train": str(root / "train.spacy"),
                 "paths.dev": str(root / "dev.spacy")}  # fmt: skip
    config = util.load_config(ROOT / "configs" / "legal_ner_trf.cfg", overrides=overrides, interpolate=False)
    for seed in (1, 2):
        nlp = init_nlp(config)
        rng = numpy.random.default_rng(seed)
        head = next(node for node in nlp.get_pipe("ner").model.walk() if node.name == "softmax")
        head.set_param("W", rng.normal(0, 1, head.get_param("W").shape).astype("f"))
        nlp.to_disk(root / f"teacher{seed}")
    teachers = [root / "teacher1", root / "teacher2"]
    summary = soft_label(root / "train.spacy", root / "soft.spacy", teachers)
    return {"root": root, "encoder": tiny_encoder, "summary": summary, "docs": docs[:12]}


def test_soft_labels_keep_the_gold_and_average_the_teachers(soft_corpus):
    from scripts.training.soft_labels import load_teacher, tag_probs

    root = soft_corpus["root"]
    assert soft_corpus["summary"]["docs"] == 12 and soft_corpus["summary"]["teachers"] == 2
    teacher, other = load_teacher(root / "teacher1"), load_teacher(root / "teacher2")
    soft_docs = list(DocBin().from_disk(root / "soft.spacy").get_docs(teacher.vocab))
    first = list(tag_probs(teacher, [teacher.make_doc(doc.text) for doc in soft_docs]))
    second = list(tag_probs(other, [other.make_doc(doc.text) for doc in soft_docs]))
    assert not numpy.allclose(first[0], second[0], atol=0.05)
    for gold, doc, p1, p2 in zip(soft_corpus["docs"], soft_docs, first, second, strict=True):
        assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [
            (e.start_char, e.end_char, e.label_) for e in gold.ents
        ]
        tags, _, stored = get_soft_tags(doc)
        assert tags == teacher.get_pipe("ner").tags
        numpy.testing.assert_allclose(stored, (p1 + p2) / 2, atol=2e-3)  # float16 on disk
        numpy.testing.assert_allclose(stored.sum(axis=1), 1.0, atol=1e-2)


def train(root: Path, encoder: Path, corpus: Path, output: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "scripts.training.train", "configs/legal_ner_trf.cfg", str(output),
        "--encoder", str(encoder), "--max-steps", "3", "--checkpoint-every", "0",
        "--paths.train", str(corpus), "--paths.dev", str(root / "dev.spacy"),
        "--training.eval_frequency", "3", "--components.ner.soft_weight", "1.0",
        "--training.batcher.size.start", "300", "--training.batcher.size.stop", "300",
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def test_spacy_training_reads_the_soft_tags_through_the_corpus_reader(soft_corpus):
    root = soft_corpus["root"]
    gold_only = train(root, soft_corpus["encoder"], root / "train.spacy", root / "gold_student")
    soft = train(root, soft_corpus["encoder"], root / "soft.spacy", root / "soft_student")
    assert gold_only.returncode == 0, gold_only.stderr[-2000:]
    assert soft.returncode == 0, soft.stderr[-2000:]
    loss = [json.loads(line)["losses"]["ner"] for line in (root / "soft_student" / "train_log.jsonl").open()]
    gold_loss = [json.loads(line)["losses"]["ner"] for line in (root / "gold_student" / "train_log.jsonl").open()]
    assert loss != gold_loss  # same seed and data: only the targets differ

    # corrupt one doc's stored tokenization: the reader must hand the soft tags to the loss, which refuses
    docs = list(DocBin().from_disk(root / "soft.spacy").get_docs(spacy.blank("pt").vocab))
    for doc in docs:
        stored = dict(doc.user_data["pt_legal_ner.components.soft_tags"])
        stored["starts"] = [stored["starts"][0], stored["starts"][1] + 1, *stored["starts"][2:]]
        doc.user_data["pt_legal_ner.components.soft_tags"] = stored
    DocBin(docs=docs, store_user_data=True).to_disk(root / "bad.spacy")
    bad = train(root, soft_corpus["encoder"], root / "bad.spacy", root / "bad_student")
    assert bad.returncode != 0 and "another tokenization" in bad.stderr
    assert not (root / "bad_student").exists()


def test_the_distillation_table_scores_each_model_as_its_pipeline_does(soft_corpus):
    from spacy.training import Corpus

    from scripts.evaluation.evaluate_distillation import report, score_models
    from scripts.training.soft_labels import load_teacher

    root = soft_corpus["root"]
    teachers = [root / "teacher1", root / "teacher2"]
    corpora = {"dev": root / "dev.spacy", "test": root / "train.spacy"}
    scores = score_models([teachers[0], teachers[0]], {"student": teachers[1]}, corpora)
    found = []
    for split, corpus in corpora.items():
        for name, path in (("teacher 1", teachers[0]), ("student", teachers[1])):
            nlp = load_teacher(path)
            expected = nlp.evaluate(list(Corpus(corpus)(nlp)))
            found.append(expected["ents_f"])
            for key in ("ents_p", "ents_r", "ents_f"):
                assert scores[split][name][key] == pytest.approx(expected[key]), (split, name, key)
        # one teacher twice: the mean of its probabilities is its own, and so are its entities
        assert scores[split]["ensemble of 2"]["ents_f"] == pytest.approx(scores[split]["teacher 1"]["ents_f"])
    assert max(found) > 0  # random heads still get some entities right: the comparison means something
    table = report({"scores": scores, "limit": 0, "command": "c", "commit": "x", "hardware": "h", "wall_time_s": 1})
    assert "| ensemble of 2 |" in table and "| student |" in table
    dev_only = report({"scores": {"dev": scores["dev"]}, "limit": 0, "command": "c", "commit": "x", "hardware": "h",
                       "wall_time_s": 1})  # fmt: skip
    assert "## dev" in dev_only and "## test" not in dev_only and "| student |" in dev_only


def test_a_soup_is_the_mean_of_every_weight_and_refuses_models_of_other_tags(soft_corpus, tmp_path):
    import torch

    from scripts.training.soft_labels import load_teacher
    from scripts.training.soup import average_weights, soup

    root = soft_corpus["root"]
    one, two = load_teacher(root / "teacher1"), load_teacher(root / "teacher2")

    def torch_module(nlp):
        return next(node.shims[0]._model for node in nlp.get_pipe("transformer").model.walk() if node.shims)

    two_trf = torch_module(two)
    with torch.no_grad():
        next(iter(two_trf.parameters())).add_(1.0)  # the tiny teachers share an encoder: make them differ
    heads = [next(n for n in nlp.get_pipe("ner").model.walk() if n.name == "softmax") for nlp in (one, two)]
    expected_w = (heads[0].get_param("W") + heads[1].get_param("W")) / 2
    one_state = torch_module(one).state_dict()
    expected_t = {k: (v + two_trf.state_dict()[k]) / 2 for k, v in one_state.items() if v.is_floating_point()}
    mixed = average_weights([one, two])
    numpy.testing.assert_allclose(heads[0].get_param("W"), expected_w, rtol=1e-6)
    got = torch_module(mixed).state_dict()
    assert all(torch.allclose(got[k], v) for k, v in expected_t.items()) and len(expected_t) > 5

    # written and loaded again, a soup of a model with itself is that model
    same = soup(tmp_path / "soup", [root / "teacher1", root / "teacher1"])
    assert not (tmp_path / "soup.partial").exists()
    docs = [doc.text for doc in soft_corpus["docs"][:4]]
    again = load_teacher(tmp_path / "soup")
    assert [[(e.text, e.label_) for e in d.ents] for d in again.pipe(docs)] == [
        [(e.text, e.label_) for e in d.ents] for d in load_teacher(root / "teacher1").pipe(docs)
    ]
    assert same.pipe_names == again.pipe_names

    other = load_teacher(root / "teacher1")
    other.get_pipe("ner").cfg["labels"] = [*other.get_pipe("ner").labels, "EXTRA"]
    with pytest.raises(ValueError, match="other components or tags"):
        average_weights([load_teacher(root / "teacher1"), other])


def test_train_teachers_skips_finished_teachers_and_refuses_bad_seeds(tmp_path):
    (tmp_path / "seed1").mkdir()
    (tmp_path / "seed1" / "run.json").write_text("{}")
    base = [sys.executable, "-m", "scripts.training.train_teachers", "configs/legal_ner_trf.cfg", str(tmp_path)]
    done = subprocess.run([*base, "--seeds", "1", "--encoder", "nowhere"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and "done before" in done.stdout
    bad = subprocess.run([*base, "--seeds", "1,x", "--encoder", "nowhere"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "--seeds takes integers" in bad.stderr
    # an unfinished teacher runs the resumable `train`, whose failure stops the list with its exit code
    failed = subprocess.run([*base, "--seeds", "1,2", "--encoder", str(tmp_path / "no-encoder")], cwd=ROOT,
                            capture_output=True, text=True)  # fmt: skip
    assert failed.returncode != 0 and "teacher seed 2 stopped" in failed.stderr
