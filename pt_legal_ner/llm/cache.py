"""An on-disk cache of LLM answers keyed by model identity and the full prompt.

spacy-llm's BatchCache keys docs by the sum of their token hashes and ignores the model, so
a changed model or reordered words can return a stale answer. Here the key is a SHA-256 of
(model, options, prompt); the prompt holds the text, the definitions and the examples.
SQLite makes each write atomic, so an interrupted run never leaves a torn entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from pt_legal_ner.llm.registry import registry

PRIVATE = 0o600


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pt_legal_ner"


class AnswerCache:
    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @staticmethod
    def key(model_identity: dict[str, Any], prompt: str) -> str:
        payload = json.dumps({"model": model_identity, "prompt": prompt}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _connect(self) -> sqlite3.Connection | None:
        # opened on first use: spacy.load never touches the cache file
        if self.path is None:
            return None
        if self._conn is None:
            # the answers hold the sentences asked about, names and all: only their owner reads them
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE))
            os.chmod(self.path, PRIVATE)  # also a cache made before this was so
            self._conn = sqlite3.connect(self.path, check_same_thread=False)
            self._conn.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL)")
            self._conn.commit()
        return self._conn

    def get(self, key: str) -> str | None:
        with self._lock:
            conn = self._connect()
            if conn is None:
                return None
            row = conn.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
            return row[0] if row else None

    def put(self, key: str, answer: str) -> None:
        with self._lock:
            conn = self._connect()
            if conn is None:
                return
            conn.execute("INSERT OR REPLACE INTO answers (key, answer) VALUES (?, ?)", (key, answer))
            conn.commit()

    def __getstate__(self) -> dict:  # a connection and a lock do not cross processes
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"])

    def __len__(self) -> int:
        with self._lock:
            conn = self._connect()
            return 0 if conn is None else conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]


@registry.llm_misc("pt_legal_ner.AnswerCache.v1")
def answer_cache(path: str | None = None, enabled: bool = True) -> AnswerCache:
    """path None = $XDG_CACHE_HOME/pt_legal_ner/llm_answers.sqlite3 (~/.cache by default)."""
    if not enabled:
        return AnswerCache(None)
    return AnswerCache(Path(path) if path else default_cache_dir() / "llm_answers.sqlite3")
