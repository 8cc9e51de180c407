"""llm_fallback's task inside spacy-llm's `llm` component, with a scripted in-process model:
which sentences are asked about, how answers merge, what is counted, what is kept on disk.

The prompt template here is just the sentence, so the scripted model answers by sentence.
HTTP models and their faults are in test_llm_models.py.
"""

import json
import logging
import pickle
import subprocess
import sys
import typing  # spacy-llm reads a model's signature as typing's aliases

import pytest
import spacy
from spacy.tokens import Span

import pt_legal_ner  # noqa: F401
from pt_legal_ner.llm.chat import Failure, LLMHTTPError, LLMTimeout
from pt_legal_ner.llm.registry import registry
from tests.conftest import ROOT
from tests.llm_pipeline import FIRST, SECOND, TASK, ents, run, sentence_prompt_nlp, trained_doc

ANSWERS = {
    FIRST: [{"text": "Supremo Tribunal Federal", "label": "ORGANIZACAO"}],
    SECOND: [{"text": "Goiânia", "label": "LOCAL"}, {"text": "2015", "label": "TEMPO"}],
}
ASKED: list[str] = []  # every prompt the scripted model received, in order


@registry.llm_models("tests.Scripted.v1")
def scripted_model(answers: dict, raw: dict | None = None):
    """Answers a prompt (= a sentence) with its entities from `answers`, or its raw text from `raw`."""

    def model(prompts: typing.Iterable[typing.Iterable[str]]) -> typing.Iterable[typing.Iterable[str]]:
        out = []
        for doc_prompts in prompts:
            doc_prompts = list(doc_prompts)
            ASKED.extend(doc_prompts)
            out.append(
                [
                    (raw or {}).get(p) or json.dumps({"entities": answers.get(p, [])}, ensure_ascii=False)
                    for p in doc_prompts
                ]
            )
        return out

    return model


@pytest.fixture(autouse=True)
def forget_prompts():
    ASKED.clear()


def make_nlp(tmp_path, task=None, model=None, **component):
    model = model or {"@llm_models": "tests.Scripted.v1", "answers": ANSWERS}
    return sentence_prompt_nlp(tmp_path, model, task, **component)


def test_the_component_is_spacy_llms_own(tmp_path):
    nlp = make_nlp(tmp_path)
    assert nlp.get_pipe_meta("llm_fallback").factory == "llm"
    assert nlp.get_pipe("llm_fallback").task.labels[:2] == ("ORGANIZACAO", "PESSOA")


def test_threshold_one_asks_about_every_sentence_and_adds_llm_entities(tmp_path):
    doc = run(make_nlp(tmp_path, task={"threshold": 1.0}), trained_doc(spacy.blank("pt")))
    assert ASKED == [FIRST, SECOND]
    assert ents(doc) == [
        ("Supremo Tribunal Federal", "ORGANIZACAO", "model"),
        ("Goiânia", "LOCAL", "llm"),
        ("2015", "TEMPO", "llm"),
    ]
    assert [e._.confidence for e in doc.ents if e._.source == "llm"] == [0.5, 0.5]
    stats = doc._.llm_fallback
    assert (stats["sent"], stats["answered"], stats["failed"], stats["spans_added"]) == (2, 2, 0, 2)


def test_threshold_zero_asks_nothing_however_unsure(tmp_path):
    doc = run(make_nlp(tmp_path, task={"threshold": 0.0}), trained_doc(spacy.blank("pt"), token_conf=0.01))
    assert ASKED == []
    assert doc._.llm_fallback["sent"] == 0
    assert ents(doc) == [("Supremo Tribunal Federal", "ORGANIZACAO", "model")]


def test_only_sentences_below_the_threshold_are_asked_about(tmp_path):
    nlp = make_nlp(tmp_path, task={"threshold": 0.6})
    doc = run(nlp, trained_doc(nlp, low=[("Goiânia", 0.4)]))
    assert ASKED == [SECOND]
    assert ("Goiânia", "LOCAL", "llm") in ents(doc)


def unsure_and_sure_trained_spans(nlp):
    """ "Supremo Tribunal" unsure (0.3) and "Goiânia em" sure (0.9, wrongly PESSOA); both sentences unsure."""
    return trained_doc(
        nlp,
        ents=(("Supremo Tribunal", "ORGANIZACAO", 0.3), ("Goiânia em", "PESSOA", 0.9)),
        low=[("julgou", 0.2), ("veio", 0.2)],
    )


def test_default_merge_replaces_only_unsure_trained_spans(tmp_path):
    nlp = make_nlp(tmp_path, task={"threshold": 0.6})
    doc = run(nlp, unsure_and_sure_trained_spans(nlp))
    assert ents(doc) == [
        ("Supremo Tribunal Federal", "ORGANIZACAO", "llm"),  # replaced the unsure span
        ("Goiânia em", "PESSOA", "model"),  # the sure span stays; the LLM's Goiânia is dropped
        ("2015", "TEMPO", "llm"),
    ]
    assert doc._.llm_fallback["spans_dropped"] == {"conflict": 1}


def test_merge_policy_is_chosen_in_the_config(tmp_path):
    nlp = make_nlp(tmp_path, task={"threshold": 0.6, "merge": {"@misc": "pt_legal_ner.trained_first.v1"}})
    doc = run(nlp, unsure_and_sure_trained_spans(nlp))
    assert ents(doc) == [
        ("Supremo Tribunal", "ORGANIZACAO", "model"),  # unsure, but trained_first keeps it
        ("Goiânia em", "PESSOA", "model"),
        ("2015", "TEMPO", "llm"),
    ]
    assert doc._.llm_fallback["spans_dropped"] == {"conflict": 2}


def test_answers_are_read_strictly_and_every_drop_is_counted(tmp_path):
    answers = {
        FIRST: [
            {"text": "Supremo Tribunal Federal", "label": "ORGANIZACAO"},
            {"text": "Tribunal de Marte", "label": "ORGANIZACAO"},  # not in the text
            {"text": "caso", "label": "ASSUNTO"},  # not a label
            {"nome": "x"},  # not an entity item
            {"text": "Supremo Tribunal", "label": "ORGANIZACAO"},  # overlaps the first
        ],
        # in the text, but ends inside the token "veio": not stretched to a token boundary
        SECOND: [{"text": "recurso ve", "label": "ORGANIZACAO"}],
    }
    nlp = make_nlp(tmp_path, task={"threshold": 1.0}, model={"@llm_models": "tests.Scripted.v1", "answers": answers})
    doc = run(nlp, trained_doc(nlp, ents=()))
    assert ents(doc) == [("Supremo Tribunal Federal", "ORGANIZACAO", "llm")]
    assert doc._.llm_fallback["spans_dropped"] == {
        "not_in_text": 1,
        "unknown_label": 1,
        "bad_item": 1,
        "overlap": 1,
        "misaligned": 1,
    }


@pytest.mark.parametrize(
    "raw, cause",
    [("", "bad_answer"), ("Goiânia é um LOCAL", "bad_answer"), ('{"ents": []}', "bad_answer")],
)
def test_unusable_answers_keep_every_trained_entity(tmp_path, caplog, raw, cause):
    model = {"@llm_models": "tests.Scripted.v1", "answers": {}, "raw": {FIRST: raw or " ", SECOND: raw or " "}}
    nlp = make_nlp(tmp_path, task={"threshold": 1.0}, model=model)
    with caplog.at_level(logging.WARNING, logger="pt_legal_ner"):
        docs = [run(nlp, trained_doc(nlp)) for _ in range(2)]
    for doc in docs:
        assert ents(doc) == [("Supremo Tribunal Federal", "ORGANIZACAO", "model")]
        assert doc._.llm_fallback["errors"] == {cause: 2} and doc._.llm_fallback["failed"] == 2
    assert len([r for r in caplog.records if r.name == "pt_legal_ner"]) == 1  # once per cause


@registry.llm_models("tests.Failing.v1")
def failing_model():
    """A model whose every prompt failed (as the HTTP models report a timeout)."""

    def model(prompts: typing.Iterable[typing.Iterable[str]]) -> typing.Iterable[typing.Iterable[str]]:
        return [[Failure(LLMTimeout("no answer within 1 s")) for _ in p] for p in prompts]

    return model


def test_a_models_failures_are_counted_or_raised_when_strict(tmp_path):
    nlp = make_nlp(tmp_path, task={"threshold": 1.0}, model={"@llm_models": "tests.Failing.v1"})
    doc = run(nlp, trained_doc(nlp))
    assert doc._.llm_fallback["errors"] == {"timeout": 2}
    assert ents(doc) == [("Supremo Tribunal Federal", "ORGANIZACAO", "model")]
    strict = make_nlp(tmp_path, task={"threshold": 1.0, "strict": True}, model={"@llm_models": "tests.Failing.v1"})
    with pytest.raises(LLMTimeout):
        run(strict, trained_doc(strict))


def test_a_model_that_answers_once_per_doc_is_counted_not_trusted(tmp_path):
    """spacy-llm's NoOp model answers each doc once, whatever its number of prompts."""
    nlp = make_nlp(tmp_path, task={"threshold": 1.0}, model={"@llm_models": "spacy.NoOp.v1"})
    doc = run(nlp, trained_doc(nlp))
    assert doc._.llm_fallback["errors"] == {"bad_answer": 1, "no_answer": 1}
    assert ents(doc) == [("Supremo Tribunal Federal", "ORGANIZACAO", "model")]
    confident = run(
        make_nlp(tmp_path, task={"threshold": 0.0}, model={"@llm_models": "spacy.NoOp.v1"}), trained_doc(nlp)
    )
    assert confident._.llm_fallback["failed"] == 0  # its one answer to a doc with no prompt is ignored


def test_extra_labels_reach_the_prompt_and_the_parser(tmp_path):
    nlp = spacy.blank("pt")
    nlp.add_pipe("sentencizer")
    answers = {"x": []}
    fallback = nlp.add_pipe(
        "llm",
        name="llm_fallback",
        config={
            "task": {
                "@llm_tasks": "pt_legal_ner.LegalNERFallback.v1",
                "threshold": 1.0,
                "extra_labels": {"VALOR_MONETARIO": "quantia em reais"},
            },
            "model": {"@llm_models": "tests.Scripted.v1", "answers": answers},
        },
    )
    fallback.initialize(
        labels_path=ROOT / "configs/llm/labels_pt.json", template_path=ROOT / "configs/llm/prompt_pt.jinja"
    )
    task = fallback.task
    assert "- VALOR_MONETARIO: quantia em reais" in task.prompt.render("Pagou R$ 10,00.")
    assert task.prompt.parse(
        "Pagou R$ 10,00.", '{"entities": [{"text": "R$ 10,00", "label": "VALOR_MONETARIO"}]}'
    ).spans
    assert "VALOR_MONETARIO" in task.labels


def test_identical_sentences_of_a_batch_are_one_prompt_each_for_http_models(tmp_path):
    """The scripted model sees every shard; the HTTP models send a distinct prompt once (test_llm_models)."""
    nlp = make_nlp(tmp_path, task={"threshold": 1.0})
    docs = list(nlp.pipe([trained_doc(nlp) for _ in range(3)], batch_size=3))
    assert ASKED == [FIRST, SECOND] * 3  # one model call for the batch, every doc's shards in it
    assert all(("Goiânia", "LOCAL", "llm") in ents(d) for d in docs)


def test_save_io_keeps_prompts_and_answers(tmp_path):
    model = {"@llm_models": "tests.Failing.v1"}
    nlp = make_nlp(tmp_path, task={"threshold": 0.6}, model=model, save_io=True)
    doc = run(nlp, trained_doc(nlp, low=[("Goiânia", 0.4)]))
    io = doc.user_data["llm_io"]["llm_fallback"]
    assert io["prompt"] == [SECOND]
    assert io["response"] == ["[timeout] no answer within 1 s"]


def test_disk_and_bytes_keep_the_prompt_data_and_load_takes_settings(tmp_path):
    nlp = make_nlp(tmp_path, task={"threshold": 0.0})
    nlp.to_disk(tmp_path / "pipe")
    loaded = spacy.load(
        tmp_path / "pipe",
        config={"components": {"llm_fallback": {"task": {"threshold": 1.0}}}},
    )
    task = loaded.get_pipe("llm_fallback").task
    assert task.threshold == 1.0
    assert task.prompt_data == nlp.get_pipe("llm_fallback").task.prompt_data
    assert ("Goiânia", "LOCAL", "llm") in ents(run(loaded, trained_doc(loaded)))

    blank = spacy.blank("pt")
    blank.add_pipe("sentencizer")
    blank.add_pipe("llm", name="llm_fallback", config={"task": TASK, "model": {"@llm_models": "spacy.NoOp.v1"}})
    blank.from_bytes(nlp.to_bytes())
    assert blank.get_pipe("llm_fallback").task.prompt_data == task.prompt_data


def test_model_swapped_by_config_at_load(tmp_path):
    make_nlp(tmp_path).to_disk(tmp_path / "pipe")
    swap = {"components": {"llm_fallback": {"task": {"threshold": 1.0}, "model": {"@llm_models": "spacy.NoOp.v1"}}}}
    loaded = spacy.load(tmp_path / "pipe", config=swap)
    assert type(loaded.get_pipe("llm_fallback")._model).__name__ == "NoOpModel"
    doc = run(loaded, trained_doc(loaded))
    assert ents(doc) == [("Supremo Tribunal Federal", "ORGANIZACAO", "model")]
    assert doc._.llm_fallback["sent"] == 2


def test_uninitialised_component_says_so():
    nlp = spacy.blank("pt")
    nlp.add_pipe(
        "llm",
        name="llm_fallback",
        config={
            "task": {"@llm_tasks": "pt_legal_ner.LegalNERFallback.v1", "threshold": 1.0},
            "model": {"@llm_models": "spacy.NoOp.v1"},
        },
    )
    with pytest.raises(ValueError, match="labels_path"):
        nlp("Texto qualquer.")


def test_span_extension_values_follow_doc_ents():
    nlp = spacy.blank("pt")
    doc = nlp("João mora em Recife")
    span = Span(doc, 3, 4, label="LOCAL")
    doc.ents = [span]
    span._.confidence = 0.4
    assert doc.ents[0]._.confidence == 0.4


NO_SPACY_LLM = """
import sys, importlib.metadata as md
import catalogue
# as if spacy-llm were not installed: no module, and no entry points for spaCy to load
catalogue.AVAILABLE_ENTRY_POINTS = md.EntryPoints(
    ep for d in md.distributions() if d.metadata["Name"] != "spacy-llm" for ep in d.entry_points)
sys.modules["spacy_llm"] = None
import spacy, pt_legal_ner
nlp = spacy.load(sys.argv[1], exclude=["llm_fallback"])
print(nlp.pipe_names, [s.text for s in nlp("Um. Dois.").sents])
"""


def test_our_code_never_imports_spacy_llm_so_a_pipeline_without_it_runs_where_it_is_missing(tmp_path):
    make_nlp(tmp_path).to_disk(tmp_path / "pipe")
    out = subprocess.run(
        [sys.executable, "-c", NO_SPACY_LLM, str(tmp_path / "pipe")], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "['sentencizer'] ['Um.', 'Dois.']"


def test_a_failure_crosses_processes_with_its_cause():
    failure = pickle.loads(pickle.dumps(Failure(LLMHTTPError(503, "llama runner busy"))))
    assert failure == "[http_error] HTTP 503: llama runner busy"
    assert isinstance(failure, Failure) and failure.error.status == 503
