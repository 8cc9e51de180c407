"""`pseudonymize`: names and identifiers replaced by placeholders (LGPD), with mapping and review pages."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

from pt_legal_ner.cli.annotate import LocalRun, run_locally
from pt_legal_ner.cli.common import (
    INPUT_HELP,
    KEY_ENV,
    add_reading_args,
    comma_labels,
    fail,
    positive_float,
    report,
    take_key_from_environment,
    unit_float,
)
from pt_legal_ner.components.labels import LENER_LABELS
from pt_legal_ner.io.guard import Output
from pt_legal_ner.privacy.style import STYLES, Style


def add_pseudonymize(sub) -> None:
    from pt_legal_ner.annotation.masking import DEFAULT_LABELS, DEFAULT_PERSON_WEIGHT, DEFAULT_REVIEW_BELOW

    pse = sub.add_parser(
        "pseudonymize",
        help="replace names and identifiers by placeholders (LGPD), with a mapping file and review pages",
        description=INPUT_HELP
        + " OUT: a .jsonl file (id, text, replacements, error), or else a folder with one .txt per document"
        " and .pseudonymize.jsonl (the same records without the text). Input fields other than the text are"
        " not copied: they may hold personal data.",
    )
    add_reading_args(pse)
    pse.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.jsonl|OUT_DIR")
    pse.add_argument(
        "--labels",
        type=label_list,
        default=list(DEFAULT_LABELS),
        help=f"comma-separated labels to mask (default {','.join(DEFAULT_LABELS)})",
    )
    pse.add_argument(
        "--style",
        choices=STYLES,
        default="placeholder",
        help="[PESSOA_1] (default); initials of names (J. S.; identifiers keep placeholders); mask (***); or"
        f" keyed: [PESSOA_<HMAC of the value>], the same in every document and run under one secret key, read"
        f" from --key-file or ${KEY_ENV} (never from the command line)",
    )
    pse.add_argument(
        "--key-file",
        type=Path,
        metavar="FILE",
        help=f"the secret key of --style keyed (at least 16 random bytes; a final line break is ignored; keep it"
        f" mode 0600, outside the input folders); else ${KEY_ENV}",
    )
    pse.add_argument(
        "--link-sensitive",
        action="store_true",
        help="--style keyed: also give health data and dates of birth placeholders that are the same across"
        " documents (off by default: counting them across a published archive tells who shares a diagnosis)",
    )
    pse.add_argument(
        "--mapping",
        type=Path,
        metavar="MAP.jsonl",
        help="add placeholder -> original values here (mode 0600; lines are only ever added, each naming its OUT,"
        " so batches into other outputs can share one mapping)",
    )
    pse.add_argument(
        "--html", type=Path, metavar="DIR", help="write a review page per document here (original text; mode 0600)"
    )
    pse.add_argument(
        "--review-below",
        type=unit_float,
        default=DEFAULT_REVIEW_BELOW,
        help=f"flag masked spans whose confidence is below this on the review pages (default {DEFAULT_REVIEW_BELOW})",
    )
    pse.add_argument(
        "--person-weight",
        type=positive_float,
        default=DEFAULT_PERSON_WEIGHT,
        help="PESSOA's probabilities are multiplied by this before decoding: above 1 masks more names at some"
        f" cost in precision (default {DEFAULT_PERSON_WEIGHT}; 1 = as trained)",
    )
    pse.add_argument(
        "--propagate",
        action="store_true",
        help="also mask every other occurrence of a masked person's full name (off by default: on LeNER-Br it"
        " spread the model's false names and caught no missed one, metrics/pseudonymize.md)",
    )
    pse.set_defaults(func=cmd_pseudonymize)


def label_list(value: str) -> list[str]:
    from pt_legal_ner.annotation.masking import DEFAULT_LABELS

    labels = comma_labels(value)
    known = set(DEFAULT_LABELS) | set(LENER_LABELS)
    unknown = sorted(set(labels) - known)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown labels {unknown}; known: {', '.join(sorted(known))}")
    return labels


def read_key(key_file: Path | None, from_environment: str | None) -> bytes | None:
    """The keyed style's secret: the file's bytes (less a final line break), else the environment's."""
    value = from_environment
    if key_file is not None:
        mode = stat.S_IMODE(key_file.stat().st_mode)
        if mode & 0o077:
            report(f"warning: --key-file {key_file} can be read by others (mode {mode:o}): chmod 600 {key_file}")
        return key_file.read_bytes().rstrip(b"\r\n")
    return value.encode() if value else None


def pseudonymize_style(args: argparse.Namespace) -> Style:
    """--style and its key, checked once; ValueError saying what is wrong. The key's variable is
    taken out of the environment first, whatever the style, so that no process this one starts
    (the PDF reader, Tesseract, nlp.pipe's workers) inherits it."""
    from_environment = take_key_from_environment()
    if args.style != "keyed":
        if args.key_file is not None:
            raise ValueError("--key-file is for --style keyed")
        if args.link_sensitive:
            raise ValueError("--link-sensitive is for --style keyed")
        return Style(args.style)
    try:
        key = read_key(args.key_file, from_environment)
    except OSError as err:
        raise ValueError(f"--key-file {args.key_file}: {err.strerror or err}") from None
    try:
        return Style("keyed", key, args.link_sensitive)
    except ValueError as err:
        where = f"--key-file {args.key_file}" if args.key_file else f"${KEY_ENV}"
        raise ValueError(
            f"{err}, from --key-file or ${KEY_ENV} ({where}); make one with"
            " `head -c 32 /dev/urandom | base64 > key && chmod 600 key`"
        ) from None


def cmd_pseudonymize(args: argparse.Namespace) -> int:
    from pt_legal_ner.annotation.masking import MANIFEST, is_jsonl, open_writer, prepare

    try:
        style = pseudonymize_style(args)
    except ValueError as err:
        return fail(err)
    folder = not is_jsonl(args.output)
    outputs = [Output("-o", args.output, folder)]
    outputs += [Output("--mapping", args.mapping, False)] if args.mapping is not None else []
    outputs += [Output("--html", args.html, True)] if args.html is not None else []
    settings = {
        "labels": args.labels,
        **style.describe(),
        "propagate": args.propagate,
        "person_weight": args.person_weight,
        "review_below": args.review_below,
        "mapping": str(args.mapping.resolve()) if args.mapping is not None else None,
    }
    writer = {"labels": args.labels, "style": style, "propagate": args.propagate, "mapping": args.mapping}
    return run_locally(
        args,
        LocalRun(
            "pseudonymize",
            outputs,
            lambda: open_writer(args.output, **writer, review_dir=args.html, review_below=args.review_below),
            settings=settings,
            secrets={"the --key-file": args.key_file} if args.key_file is not None else {},
            out_folder=folder,
            records_file=args.output / MANIFEST if folder else args.output,
            prepare=lambda nlp: prepare(nlp, args.person_weight, args.labels),
        ),
    )
