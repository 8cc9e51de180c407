"""Reading documents and writing outputs: text, PDF and DOCX (extracted in a capped reader
process), JSONL and Parquet inputs, their limits, output parts and atomic writes.

Kept free of imports: the reader process imports ``io.reader_process`` alone, without spaCy.
"""
