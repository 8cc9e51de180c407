"""Hostile and damaged input files, made from scratch with a seed: decompression bombs (DOCX and
PDF), an XML billion-laughs DOCX, and seeded mutations (truncated, flipped, inserted, zeroed
bytes) of valid PDF, DOCX, JSONL and text files. Used by tests/test_hostile_inputs.py and
scripts/benchmarks/benchmark_hostile.py; nothing here is committed as data."""

from __future__ import annotations

import io
import json
import os
import random
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

GIB = 1024**3
GOOD_TEXT = (
    "O réu Pedro Cabral, residente em Brasília, invocou a Lei 8.666/93 perante o Supremo Tribunal Federal.\n"
    "A decisão de 12 de março de 2015 foi mantida pelo Tribunal de Justiça de São Paulo.\n"
)
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
MUTATIONS = ("truncate", "flip", "insert", "zero")


SECOND_PAGE = ["Em Brasília, 12 de março de 2015.", "Ministro Pedro Cabral, relator."]
FIXED_TIME = (2026, 1, 1, 0, 0, 0)


def docx_template() -> bytes:
    """A valid DOCX from python-docx's default template, with the good text as paragraphs; the
    same bytes every time (the members' times are fixed), so mutations repeat with their seed."""
    import docx

    document = docx.Document()
    for line in GOOD_TEXT.splitlines():
        document.add_paragraph(line)
    saved = io.BytesIO()
    document.save(saved)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(saved.getvalue())) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            member = zipfile.ZipInfo(item.filename, FIXED_TIME)
            target.writestr(member, source.read(item), zipfile.ZIP_DEFLATED)
    return out.getvalue()


def pdf_good() -> bytes:
    """A valid 2-page PDF with a text layer (reportlab, invariant: the same bytes every time)."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, invariant=1)
    for lines in (GOOD_TEXT.splitlines(), SECOND_PAGE):
        pdf.setFont("Helvetica", 10)
        for i, line in enumerate(lines):
            pdf.drawString(40, 780 - 14 * i, line)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def docx_with_body(path: Path, chunks: Iterator[bytes], prolog: bytes = b"") -> None:
    """A DOCX whose word/document.xml is ``prolog`` + the body streamed from ``chunks`` (never
    held whole: a 1 GiB body costs a few MB of memory and ~3 s to deflate)."""
    template = zipfile.ZipFile(io.BytesIO(docx_template()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for item in template.infolist():
            if item.filename != "word/document.xml":
                out.writestr(item, template.read(item))
        with out.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(prolog + f'<?xml version="1.0"?><w:document {W}><w:body>'.encode())
            for chunk in chunks:
                member.write(chunk)
            member.write(b"</w:body></w:document>")


def _repeat(piece: bytes, total: int) -> Iterator[bytes]:
    block = piece * max(1, (1024 * 1024) // len(piece))
    written = 0
    while written < total:
        yield block
        written += len(block)


def docx_bomb_one_run(path: Path, size: int = GIB) -> None:
    """``size`` bytes of text in one run of one paragraph (lxml: "Text node too long")."""
    docx_with_body(path, iter([b"<w:p><w:r><w:t>", *_repeat(b"a", size), b"</w:t></w:r></w:p>"]))


def docx_bomb_paragraphs(path: Path, size: int = GIB) -> None:
    """``size`` bytes of short paragraphs: parses, and would be ~500 million words for the NER."""
    docx_with_body(path, _repeat(b"<w:p><w:r><w:t>" + b"palavra " * 12 + b"</w:t></w:r></w:p>", size))


def docx_billion_laughs(path: Path) -> None:
    """Nested XML entities that would expand to 10^9 "lol"s where a parser expands them."""
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    ]
    prolog = ("<!DOCTYPE w:document [" + "".join(entities) + "]>").encode()
    body = b"<w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>"
    # the DOCTYPE must follow the XML declaration, so the prolog goes in the body's place
    template = zipfile.ZipFile(io.BytesIO(docx_template()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in template.infolist():
            if item.filename != "word/document.xml":
                out.writestr(item, template.read(item))
        xml = b'<?xml version="1.0"?>' + prolog + f"<w:document {W}><w:body>".encode() + body
        out.writestr("word/document.xml", xml + b"</w:body></w:document>")


def pdf_bomb(path: Path, size: int = GIB) -> None:
    """A one-page PDF whose content stream inflates to ``size`` bytes (PDFium: ~2x that in memory)."""
    deflate = zlib.compressobj(9)
    body = deflate.compress(b"BT /F1 12 Tf 72 720 Td (Ola) Tj ET\n")
    body += b"".join(deflate.compress(chunk) for chunk in _repeat(b" ", size)) + deflate.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One seeded damage: a truncation, flipped bits, inserted random bytes or a zeroed block."""
    how = rng.choice(MUTATIONS)
    out = bytearray(data)
    if how == "truncate":
        return bytes(out[: rng.randrange(1, len(out))])
    if how == "flip":
        for _ in range(rng.randint(1, 16)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    elif how == "insert":
        at = rng.randrange(len(out))
        out[at:at] = rng.randbytes(rng.randint(1, 512))
    else:
        at = rng.randrange(len(out))
        out[at : at + rng.randint(1, 4096)] = bytes(min(len(out) - at, 4096))
    return bytes(out)


def good_jsonl() -> bytes:
    lines = [json.dumps({"text": line, "n": i}, ensure_ascii=False) for i, line in enumerate(GOOD_TEXT.splitlines())]
    return ("\n".join(lines * 3) + "\n").encode("utf-8")


def write_mutations(folder: Path, seed: int, per_kind: dict[str, int]) -> list[Path]:
    """``per_kind[kind]`` seeded mutations of a valid file of each kind (pdf, docx, jsonl, txt)."""
    valid = {
        "pdf": pdf_good,
        "docx": docx_template,
        "jsonl": good_jsonl,
        "txt": lambda: GOOD_TEXT.encode("utf-8"),
    }
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, count in per_kind.items():
        data = valid[kind]()
        for number in range(count):
            path = folder / f"{kind}-{number:02d}.{kind}"
            path.write_bytes(mutate(data, rng))
            written.append(path)
    return written


def hostile_folder(folder: Path, seed: int = 0, mutations: dict[str, int] | None = None, bomb: int = GIB) -> None:
    """The issue's folder: the two 1 GiB DOCX bombs, a billion-laughs DOCX, a PDF bomb, seeded
    mutations (default 30 PDF + 30 DOCX) and one good text file, good.txt."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    docx_bomb_one_run(folder / "bomb-one-run.docx", bomb)
    docx_bomb_paragraphs(folder / "bomb-paragraphs.docx", bomb)
    docx_billion_laughs(folder / "billion-laughs.docx")
    pdf_bomb(folder / "bomb.pdf", bomb)
    write_mutations(folder / "mutations", seed, mutations or {"pdf": 30, "docx": 30})


# one JSONL line of empty objects: ~24 times its bytes once parsed (the limit max_parsed)
NESTED_LINE_BYTES = 64 * 1024**2
# a value over max_chars, dictionary-encoded once in the file and repeated in every row
PARQUET_VALUE = "Pedro Cabral " * 850_000
PARQUET_ROWS = 100


def careless_files(folder: Path, outside: Path) -> None:
    """What users' archives hold besides bombs: JSONL lines Python cannot parse or would grow
    past memory, a Parquet value repeated in every row, a name that is not UTF-8, and a link
    leading out of the folder (to ``outside``, which must not be read)."""
    lines = [
        b'{"text": "Pedro Cabral um."}',
        b'{"text": "dois", "n": ' + b"9" * 4400 + b"}",
        b'{"text": "Pedro Cabral \\ud800 tr\\u00eas.", "campo": "\\udcff"}',
        b"[" + b"{}," * (NESTED_LINE_BYTES // 3) + b"{}]",
        b'{"text": "Pedro Cabral quatro."}',
    ]
    (folder / "careless.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        pass
    else:
        table = pa.table({"text": [PARQUET_VALUE] * PARQUET_ROWS + ["Pedro Cabral em Brasília."]})
        pq.write_table(table, folder / "repeated.parquet", use_dictionary=True)
    with open(os.fsencode(folder) + b"/decis\xe3o.txt", "wb") as f:
        f.write(GOOD_TEXT.encode("utf-8"))
    outside.write_text("Pedro Cabral: what lies outside the folder\n", encoding="utf-8")
    (folder / "outside.txt").symlink_to(outside)
