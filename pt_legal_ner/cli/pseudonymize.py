"""`pseudonymize`: names and identifiers replaced by placeholders (LGPD), with mapping and review pages."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pt_legal_ner.cli.annotate import run_locally
from pt_legal_ner.cli.common import INPUT_HELP, add_reading_args, comma_labels, fail, positive_float, unit_float
from pt_legal_ner.components.labels import LENER_LABELS

KEY_ENV = "PT_LEGAL_NER_KEY"


def add_pseudonymize(sub) -> None:
    from pt_legal_ner.privacy.pseudonymize import DEFAULT_LABELS, DEFAULT_PERSON_WEIGHT, DEFAULT_REVIEW_BELOW
    from pt_legal_ner.privacy.pseudonyms import STYLES

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
        help=f"the secret key of --style keyed (at least 16 bytes; a final line break is ignored); else ${KEY_ENV}",
    )
    pse.add_argument(
        "--mapping", type=Path, metavar="MAP.jsonl", help="write placeholder -> original values here (mode 0600)"
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
    from pt_legal_ner.privacy.pseudonymize import DEFAULT_LABELS

    labels = comma_labels(value)
    known = set(DEFAULT_LABELS) | set(LENER_LABELS)
    unknown = sorted(set(labels) - known)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown labels {unknown}; known: {', '.join(sorted(known))}")
    return labels


def read_key(key_file: Path | None) -> bytes | None:
    """The keyed style's secret: the file's bytes (less a final line break), else the environment's."""
    if key_file is not None:
        return key_file.read_bytes().rstrip(b"\r\n")
    value = os.environ.get(KEY_ENV)
    return value.encode() if value else None


def cmd_pseudonymize(args: argparse.Namespace) -> int:
    from pt_legal_ner.privacy.pseudonymize import open_writer, prepare
    from pt_legal_ner.privacy.pseudonyms import check_key

    if args.mapping is not None and args.mapping.resolve() == args.output.resolve():
        return fail("--mapping must not be the output")
    key = None
    if args.style == "keyed":
        try:
            key = check_key(read_key(args.key_file))
        except OSError as err:
            return fail(f"--key-file {args.key_file}: {err.strerror or err}")
        except ValueError as err:
            where = f"--key-file {args.key_file}" if args.key_file else f"${KEY_ENV}"
            return fail(
                f"{err}, from --key-file or ${KEY_ENV}: {where} is too short or not set"
                " (e.g. `head -c 32 /dev/urandom | base64 > key`)"
            )
    elif args.key_file is not None:
        return fail("--key-file is for --style keyed")
    own_outputs = [p for p in (args.output, args.mapping, args.html) if p is not None]
    settings = {
        "labels": args.labels,
        "style": args.style,
        "propagate": args.propagate,
        "mapping": args.mapping,
        "key": key,
    }
    return run_locally(
        args,
        own_outputs,
        lambda: open_writer(args.output, **settings, review_dir=args.html, review_below=args.review_below),
        prepare=lambda nlp: prepare(nlp, args.person_weight, args.labels),
    )
