"""Parquet inputs: a "text" column, one document per row, read a row group at a time (pyarrow)."""

import json
from collections.abc import Callable, Iterator
from typing import IO

from pt_legal_ner.io.documents import Document
from pt_legal_ner.io.limits import LimitExceeded, Limits
from pt_legal_ner.io.listing import PYARROW_HINT, readable

TEXT_COLUMN = "text"


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
    """Rows ``start .. start+count-1`` as documents ``<name>:<row>``, reading only their row groups.

    Memory is bounded by what the rows decode to, not by the file's encoded size: a row group over
    ``limits.max_bytes`` is not read, string columns stay dictionary-encoded as read (a value
    repeated in every row is held once), and a row whose values decode to more than
    ``limits.max_bytes`` is an error record before any Python object is made of it. Any failure
    of one row is that row's error record."""
    parquet = _parquet_module(location)
    shown = readable(location)
    numbers = range(start + 1, start + count + 1)
    with open_binary(location) as f:
        parquet_file = parquet.ParquetFile(f)
        groups, first_row = _row_groups(parquet_file.metadata, start, count)
        size = max(parquet_file.metadata.row_group(g).total_byte_size for g in groups)
        if size > limits.max_bytes:
            error = LimitExceeded("bytes in its row group", size, "max_bytes", limits)
            for number in numbers:
                yield Document(f"{name}:{number}", error=f"{shown} row {number}: {error}")
            return
        strings = [field.name for field in parquet_file.schema_arrow if _is_string(field.type)]
        table = parquet.ParquetFile(f, read_dictionary=strings).read_row_groups(groups)
        table = table.slice(start - first_row, count)
    sizes = row_sizes(table)
    for index, number in enumerate(numbers):
        doc_id = f"{name}:{number}"
        if sizes[index] > limits.max_bytes:
            error = LimitExceeded("bytes in the row once decoded", sizes[index], "max_bytes", limits)
            yield Document(doc_id, error=f"{shown} row {number}: {error}")
            continue
        try:
            (row,) = table.slice(index, 1).to_pylist()
            text = row.pop(TEXT_COLUMN)
            fields = json.loads(json.dumps(row, default=str))  # dates, decimals: as JSON writes them
        except Exception as err:
            yield Document(doc_id, error=f"{shown} row {number}: cannot be read ({type(err).__name__}: {err})")
            continue
        if not isinstance(text, str):
            problem = f"no {TEXT_COLUMN!r}" if text is None else f"{TEXT_COLUMN!r} is {type(text).__name__}"
        elif len(text) > limits.max_chars:
            problem = str(LimitExceeded("characters", len(text), "max_chars", limits))
        else:
            yield Document(doc_id, text=text, fields=fields)
            continue
        yield Document(doc_id, fields=fields, error=f"{shown} row {number}: {problem}")


def _is_string(arrow_type) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_binary(arrow_type)


def row_sizes(table) -> list[int]:
    """Bytes each row of ``table`` decodes to: strings by their lengths (a dictionary-encoded
    value counted in every row that holds it), other columns their share of the column's size."""
    import pyarrow as pa
    import pyarrow.compute as pc

    sizes = [0] * table.num_rows
    for column in table.columns:
        for chunk_start, chunk in _chunks(column):
            values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
            if _is_string(values.type) and len(values) == 0:
                per_row = [0] * len(chunk)  # no value at all (every row null)
            elif _is_string(values.type):
                lengths = pc.fill_null(pc.binary_length(values), 0)
                if values is not chunk:
                    lengths = lengths.take(pc.fill_null(chunk.indices, 0))
                per_row = lengths.to_pylist()
            else:
                per_row = [chunk.nbytes // max(len(chunk), 1)] * len(chunk)
            for offset, size in enumerate(per_row):
                sizes[chunk_start + offset] += size
    return sizes


def _chunks(column):
    start = 0
    for chunk in column.chunks:
        yield start, chunk
        start += len(chunk)


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
