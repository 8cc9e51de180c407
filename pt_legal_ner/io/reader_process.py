"""PDF and DOCX text extraction in a child process with a memory cap and a time limit.

Why a process: a 1 MB PDF whose content stream inflates to 1 GiB makes PDFium allocate 2 GB,
and where memory runs out PDFium aborts the whole process (SIGABRT) instead of raising; a
hostile XML part can keep lxml busy for minutes. In the child, such a file costs its own error
line: the child is capped (``Limits.max_read_memory``, RLIMIT_DATA) and timed
(``max_read_seconds``); one that dies or overruns is killed and started again for the next file.

The child is a fresh interpreter that imports only this module, pt_legal_ner/io/extract.py,
limits.py, ocr.py and ocr_text.py (the standard library, pypdfium2, python-docx), not the package's
``__init__`` (spaCy, torch): it starts in ~0.2 s and holds ~60 MiB. It reads one request at a time
from stdin (a pickled header, then the file's bytes) and answers on the stdout it was started with:
an "alive" frame before OCR and after each page it OCRs, each giving the file another
``max_read_seconds`` (and a grace), then the answer. Tesseract runs as the child's own children,
each under the same memory cap.
"""

import atexit
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from pt_legal_ner.io.limits import Limits
from pt_legal_ner.io.ocr import DEFAULT_OCR, Ocr

FRAME = struct.Struct("<Q")
ALIVE = "alive"  # the child's frame before OCR and after each OCRed page
OCR_GRACE = 30  # seconds
# the child: the package folder as a bare namespace, so its __init__ (spaCy, torch) never runs;
# the folder of the interpreter's working directory ("" for -c) is dropped from sys.path
BOOT = (
    "import sys, types; sys.path[:] = [p for p in sys.path if p]; package = types.ModuleType('pt_legal_ner');"
    " package.__path__ = [sys.argv[1]]; sys.modules['pt_legal_ner'] = package;"
    " from pt_legal_ner.io.reader_process import serve; serve()"
)


def _write_frame(stream, payload: bytes) -> None:
    stream.write(FRAME.pack(len(payload)))
    stream.write(payload)


def _read_exactly(stream, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


class ReaderProcess:
    """The parent's side: ``extract(kind, data, limits)`` in the child, restarting it as needed."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            package = str(Path(__file__).resolve().parents[1])  # the pt_legal_ner folder
            # a process group of its own: stopping it stops the Tesseracts it started too
            self._proc = subprocess.Popen(
                [sys.executable, "-c", BOOT, package],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,
                start_new_session=True,
            )
        return self._proc

    def extract(self, kind: str, data: bytes, limits: Limits, ocr: Ocr = DEFAULT_OCR):
        """The child's answer for ``data``: an Extracted, or None for a ZIP that is no DOCX.

        Raises ExtractionError (pt_legal_ner/io/extract.py) with the file's reason, whatever happened.
        """
        from pt_legal_ner.io.extract import ExtractionError

        with self._lock:
            status, value = self._ask(kind, data, limits, ocr)
        if status == "error":
            raise ExtractionError(value)
        return value

    def _ask(self, kind: str, data: bytes, limits: Limits, ocr: Ocr) -> tuple[str, object]:
        """The child's (status, value); a child that died or overran is the file's ExtractionError."""
        from pt_legal_ner.io.extract import ExtractionError

        proc = self._start()
        ocr_ends = None  # the file's OCR budget, all pages together, from the first "alive"
        try:
            _write_frame(proc.stdin, pickle.dumps((kind, limits, ocr)))
            _write_frame(proc.stdin, data)
            proc.stdin.flush()
            wait = limits.max_read_seconds  # the text layer's time
            while True:  # "alive" before OCR and after each OCRed page: the next page has its own time
                deadline = time.monotonic() + wait
                reply = pickle.loads(self._read_reply(proc, deadline if ocr_ends is None else min(deadline, ocr_ends)))
                if reply[0] != ALIVE:
                    return reply
                if ocr_ends is None:
                    ocr_ends = time.monotonic() + limits.max_ocr_seconds
                # the child stops a Tesseract over the limit itself and names the page: the grace is
                # for that, and for drawing the page
                wait = limits.max_read_seconds + OCR_GRACE
        except TimeoutError:
            self.close()
            if ocr_ends is not None and time.monotonic() >= ocr_ends:
                raise ExtractionError(
                    f"OCR of its pages took over {limits.max_ocr_seconds} s in all, the limit max_ocr_seconds: raise it"
                    " with --limit max_ocr_seconds=N (Python: Limits(max_ocr_seconds=N))"
                ) from None
            raise ExtractionError(
                f"reading it (or OCR of one of its pages) took over {limits.max_read_seconds} s, the limit"
                " max_read_seconds: raise it with --limit max_read_seconds=N (Python: Limits(max_read_seconds=N))"
            ) from None
        except (OSError, EOFError):  # a broken pipe, or the child stopped from another thread (exit)
            code = self.close()
            raise ExtractionError(self._death(code, kind, limits)) from None

    @staticmethod
    def _read_reply(proc: subprocess.Popen, deadline: float) -> bytes:
        fd = proc.stdout.fileno()
        buffer = bytearray()
        need = FRAME.size
        while len(buffer) < need:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, need - len(buffer))  # no further: the next frame stays in the pipe
            if not chunk:
                raise EOFError
            buffer += chunk
            if need == FRAME.size and len(buffer) >= FRAME.size:
                need += FRAME.unpack_from(buffer)[0]
        return bytes(buffer[FRAME.size : need])

    @staticmethod
    def _death(code: int | None, kind: str, limits: Limits) -> str:
        what = "PDF" if kind == "pdf" else "DOCX"
        how = f"signal {-code} ({signal.Signals(-code).name})" if code and code < 0 else f"exit code {code}"
        return (
            f"the {what} reader died reading it ({how}): PDFium and lxml abort when memory runs out, so the"
            f" file may need more than max_read_memory={limits.max_read_memory:,} bytes (raise it with"
            " --limit max_read_memory=N), or it is damaged"
        )

    def close(self) -> int | None:
        """Stop the child (a new one starts with the next file); returns its exit code."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        if hasattr(os, "killpg"):
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # Tesseracts it left running
            except (ProcessLookupError, PermissionError):
                pass
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        return proc.wait()


_shared: ReaderProcess | None = None


def shared_reader() -> ReaderProcess:
    """This process's reader, started with the first PDF or DOCX and stopped at exit."""
    global _shared
    if _shared is None:
        _shared = ReaderProcess()
        atexit.register(_shared.close)
    return _shared


def serve() -> None:
    """The child's loop: one request at a time until stdin closes."""
    try:
        import resource
    except ImportError:  # not POSIX: the reader is still apart, not capped
        resource = None

    from pt_legal_ner.io.extract import ExtractionError, extract_docx, extract_pdf, looks_like_docx
    from pt_legal_ner.io.limits import LimitExceeded

    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what a library prints goes to stderr, never into the replies
    hard = resource.getrlimit(resource.RLIMIT_DATA)[1] if resource else None
    while True:
        header = _read_exactly(requests, FRAME.size)
        if header is None:
            return
        kind, limits, ocr = pickle.loads(requests.read(FRAME.unpack(header)[0]))
        data = _read_exactly(requests, FRAME.unpack(_read_exactly(requests, FRAME.size))[0])
        if resource is not None:
            cap = limits.max_read_memory if hard == resource.RLIM_INFINITY else min(limits.max_read_memory, hard)
            try:
                resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
            except (ValueError, OSError):  # a system that will not cap: still apart, still timed
                pass
        try:
            if kind == "pdf":
                reply = ("ok", extract_pdf(data, limits, ocr, alive=lambda: _reply(replies, (ALIVE, None))))
            else:
                docx = kind == "docx" or looks_like_docx(data)  # "docx": so named, read even if damaged
                reply = ("ok", extract_docx(data, limits) if docx else None)
        except MemoryError:
            reply = (
                "error",
                f"needs more than max_read_memory={limits.max_read_memory:,} bytes to read"
                " (raise it with --limit max_read_memory=N)",
            )
        except (ExtractionError, LimitExceeded) as err:  # their messages are the reasons
            reply = ("error", str(err))
        except Exception as err:
            reply = ("error", f"unreadable ({type(err).__name__}: {err})")
        del data
        _reply(replies, reply)


def _reply(replies, reply: tuple[str, object]) -> None:
    _write_frame(replies, pickle.dumps(reply))
    replies.flush()
