"""What a resumed run checks: the settings the run that wrote OUT used, recorded beside it.

A re-run skips the documents already in OUT, so it must be the same run: the same command,
pipeline, labels, style and key, mapping, limits and OCR. The first run writes them to
``<OUT>.run.json`` (OUT a file) or ``<OUT>/.run.json`` (OUT a folder) before its first record;
a later run into an OUT that holds records compares, and refuses another command or other
settings, naming what differs. OUT holding records but no settings (another tool's file, or a
run of a version that recorded none) is refused as well: what is in it cannot be known.
The keyed style's key is recorded as a fingerprint only (pt_legal_ner/privacy/style.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pt_legal_ner.io.atomic import write_text_atomic
from pt_legal_ner.io.guard import Refused

SETTINGS_NAME = ".run.json"


def settings_path(out: Path, folder: bool) -> Path:
    return out / SETTINGS_NAME if folder else out.with_name(out.name + SETTINGS_NAME)


def _differences(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    keys = sorted(set(before) | set(now))
    return [f"{key}: {before.get(key)!r} then, {now.get(key)!r} now" for key in keys if before.get(key) != now.get(key)]


def check_settings(out: Path, folder: bool, settings: dict[str, Any], has_records: bool) -> None:
    """Refuse (Refused) to resume an OUT that holds records of another command or other settings."""
    path = settings_path(out, folder)
    settings = json.loads(json.dumps(settings))  # as the file holds them (tuples as lists)
    if has_records:
        if not path.exists():
            raise Refused(
                f"{out} holds records but no {path.name}: another command or tool wrote it, or a version that"
                " recorded no settings; write to a new output"
            )
        try:
            before = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise Refused(f"{path}: the settings of the run that wrote {out} cannot be read ({err})") from None
        if before.get("command") != settings.get("command"):
            raise Refused(
                f"{out} was written by `{before.get('command')}`; `{settings.get('command')}` will not add to it:"
                " write to a new output"
            )
        changed = _differences(before, settings)
        if changed:
            raise Refused(
                f"{out} was written with other settings ({'; '.join(changed)}): resuming would mix two runs;"
                " run with the same settings, or write to a new output"
            )


def record_settings(out: Path, folder: bool, settings: dict[str, Any]) -> None:
    """Write ``settings`` beside OUT (before its first record)."""
    text = json.dumps(settings, indent=2, sort_keys=True, ensure_ascii=False)
    write_text_atomic(settings_path(out, folder), text + "\n")
