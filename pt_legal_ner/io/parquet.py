"""Parquet inputs: a "text" column, one document per row, read a row group at a time (pyarrow)."""

import json
from collections.abc import Callable, Iterator
from typing import IO

from pt_legal_ner.io.documents import Document
from pt_legal_ner.io.limits import LimitExceeded, Limits

TEXT_COLUMN = "text"
PYARROW_HINT = "pip install pyarrow (Ray installs it: pip install 'ray[data]>=2.60')"


def parquet_rows(location: str, open_binary: Callable[[str], IO[bytes]]) -> int:
    """How many rows; raises ValueError for a file without a text column."""
    parquet = _parquet_module(location)
    with open_binary(location) as f:
        meta = parquet.ParquetFile(f).metadata
        names = meta.schema.names
        if TEXT_COLUMN not in names:
            raise ValueError(f"no {TEXT_COLUMN!r} column (columns: {', '.join(names)})")
        return meta.num_rows


def _parquet_module(location: str):
    try:
        import pyarrow.parquet
    except ImportError:
        raise ValueError(f"{location}: reading Parquet needs pyarrow; {PYARROW_HINT}") from None
    return pyarrow.parquet


def read_parquet_rows(
    location: str, name: str, start: int, count: int, open_binary: Callable[[str], IO[bytes]], limits: Limits
) -> Iterator[Document]:
    """Rows ``start .. start+count-1`` as documents ``<name>:<row>``, reading only their row groups;
    a row group over ``limits.max_bytes`` is not read (its rows say so)."""
    parquet = _parquet_module(location)
    numbers = range(start + 1, start + count + 1)
    with open_binary(location) as f:
        parquet_file = parquet.ParquetFile(f)
        groups, first_row = _row_groups(parquet_file.metadata, start, count)
        size = max(parquet_file.metadata.row_group(g).total_byte_size for g in groups)
        if size > limits.max_bytes:
            error = LimitExceeded("bytes in its row group", size, "max_bytes", limits)
            for number in numbers:
                yield Document(f"{name}:{number}", error=f"{location} row {number}: {error}")
            return
        table = parquet_file.read_row_groups(groups).slice(start - first_row, count)
    for number, row in zip(numbers, table.to_pylist(), strict=True):
        doc_id = f"{name}:{number}"
        text = row.pop(TEXT_COLUMN)
        fields = json.loads(json.dumps(row, default=str))  # dates, decimals: as JSON writes them
        if not isinstance(text, str):
            problem = f"no {TEXT_COLUMN!r}" if text is None else f"{TEXT_COLUMN!r} is {type(text).__name__}"
        elif len(text) > limits.max_chars:
            problem = str(LimitExceeded("characters", len(text), "max_chars", limits))
        else:
            yield Document(doc_id, text=text, fields=fields)
            continue
        yield Document(doc_id, fields=fields, error=f"{location} row {number}: {problem}")


def _row_groups(meta, start: int, count: int) -> tuple[list[int], int]:
    """The row groups that hold rows ``start .. start+count-1``, and the first row of the first."""
    groups, first_row, row = [], None, 0
    for group in range(meta.num_row_groups):
        n = meta.row_group(group).num_rows
        if row + n > start and row < start + count:
            groups.append(group)
            first_row = row if first_row is None else first_row
        row += n
    return groups, first_row or 0
