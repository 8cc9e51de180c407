"""Set-up of a process that annotates: the command line's and each Ray actor's.

Below both (the command line imports pt_legal_ner/annotation/on_ray.py, whose actors need these),
so that neither imports the other.
"""

import ctypes
import logging
import os


def quiet_tokenizer_length_warning() -> None:
    """The tokenizer warns that a document is longer than 512 pieces; the transformer reads it
    in windows, so nothing is lost, and the warning would only alarm."""
    logging.getLogger("transformers.tokenization_utils_base").addFilter(
        lambda record: not record.getMessage().startswith("Token indices sequence length")
    )


def return_freed_memory_to_the_os() -> None:
    """Serve blocks of 1 MiB and more from mmap, so that freeing them gives them back.

    glibc otherwise keeps them in its heap, which the transformer's tensors of varying sizes
    fragment, so the peak grows with the document: 300 pages peaked at 1,641 MiB against
    1,227 MiB with this, which cost 1.31 times the time (metrics/benchmark_annotate.txt).
    A MALLOC_MMAP_THRESHOLD_ set by the user wins, PT_LEGAL_NER_MALLOC=default keeps glibc's
    behaviour (the benchmark's baseline); a no-op off glibc.
    """
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or os.environ.get("PT_LEGAL_NER_MALLOC") == "default":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_mmap_threshold = -3  # glibc's malloc.h
    libc.mallopt(m_mmap_threshold, 1024 * 1024)
