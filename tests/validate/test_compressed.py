"""CSV files stored compressed, read as pandas and pyarrow read them.

pandas reads ``data.csv.gz`` (and bzip2, xz, zstd, zip and tar) as the CSV inside,
and pyarrow's ``read_csv`` decompresses gzip, bzip2 and zstd. For each, the values
must equal pandas' values of the CSV inside, ``validate`` must find what plain
pandera finds, and each failure's line is the line of the CSV inside (what
``zcat data.csv.gz | sed -n LINEp`` shows). A file that does not decompress is
exit 2 naming it, and leaves nothing behind.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from mlgitops.data import Reader, open_data
from mlgitops.errors import DataError
from mlgitops.validation.engine import Limits, validate
from mlgitops.validation.schema import from_yaml_text
from tests.validate.test_odd_csv import (
    CHUNK_ROWS,
    HEAD,
    SCHEMA,
    TYPES,
    _many,
    _pandas,
    _plain,
    assert_pandera_s_verdict,
)


def _zstd(data: bytes) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as stream:
        stream.write(data)
    return bytes(sink.getvalue())


def _zip(data: bytes, name: str = "data.csv") -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return sink.getvalue()


def _tar(data: bytes, mode: str = "w") -> bytes:
    sink = io.BytesIO()
    with tarfile.open(fileobj=sink, mode=mode) as archive:  # type: ignore[call-overload]
        info = tarfile.TarInfo("data.csv")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return sink.getvalue()


#: name suffix -> how to compress; pandas infers each from the suffix.
FORMATS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": _zstd,
    ".zip": _zip,
    ".tar": _tar,
    ".tar.gz": lambda data: _tar(data, "w:gz"),
}
#: pandas needs the `zstandard` package for zstd, which is not installed here.
PANDAS_READS = {".gz", ".bz2", ".xz", ".zip", ".tar", ".tar.gz"}

CONTENTS = {
    "odd": b"\xef\xbb\xbf"
    + HEAD
    + b'\r\n1,34,"two\r\nlines",free\r\n\r\n2,130,"5"" tall",pro\r\n3,5,x,gold\r\n',
    "many_blocks": _many(120_000),
}


@pytest.fixture(params=[(s, c) for s in FORMATS for c in CONTENTS], ids=lambda p: p[1] + p[0])
def stored(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, bytes, Path]:
    suffix, content = request.param
    data = CONTENTS[content]
    path = tmp_path / "repo" / f"data.csv{suffix}"
    path.parent.mkdir()
    path.write_bytes(FORMATS[suffix](data))
    return suffix, data, path


def _open(path: Path, tmp_path: Path) -> Reader:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return open_data(path.parent, path.name, fmt=None, workdir=work)


def test_values_equal_pandas_of_the_csv_inside(
    stored: tuple[str, bytes, Path], tmp_path: Path
) -> None:
    import pandas as pd
    import pyarrow as pa

    suffix, data, path = stored
    expected = _pandas(data)
    if suffix in PANDAS_READS:  # pandas reads the compressed file itself the same
        direct = pd.read_csv(path, dtype={"note": object, "plan": object})
        pd.testing.assert_frame_equal(direct, expected)
    reader = _open(path, tmp_path)
    types = {name: getattr(pa, kind)() for name, kind in TYPES.items()}
    tables = list(reader.batches(types, list(TYPES), CHUNK_ROWS))
    ours = pa.concat_tables(tables).to_pydict()
    assert reader.columns() == list(expected.columns)
    for column in TYPES:
        assert [_plain(v) for v in ours[column]] == [_plain(v) for v in expected[column]], column


def test_validation_equals_plain_pandera_with_the_lines_of_the_csv_inside(
    stored: tuple[str, bytes, Path], tmp_path: Path
) -> None:
    _, data, path = stored
    reader = _open(path, tmp_path)
    outcome = validate(reader, from_yaml_text("schema.yaml", SCHEMA), Limits(CHUNK_ROWS))
    assert_pandera_s_verdict(outcome, data, quoted_ids=False)
    assert reader.display == path.name


GOOD = HEAD + b"\n1,34,a,free\n2,52,b,pro\n"


def _two_members() -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr("a.csv", GOOD)
        archive.writestr("b.csv", GOOD)
    return sink.getvalue()


def _zip_without_files() -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr("folder/", b"")
    return sink.getvalue()


def _zip_method(method: int) -> bytes:
    """A zip archive whose member says it is compressed with ``method`` (99: AES)."""
    data = bytearray(_zip(GOOD))
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    data[local + 8 : local + 10] = method.to_bytes(2, "little")
    data[central + 10 : central + 12] = method.to_bytes(2, "little")
    return bytes(data)


def _zip_encrypted() -> bytes:
    """A zip archive whose member says it is encrypted (general purpose flag bit 0)."""
    data = bytearray(_zip(GOOD))
    for magic, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.index(magic)
        data[start + at] |= 1
    return bytes(data)


def _tar_two() -> bytes:
    sink = io.BytesIO()
    with tarfile.open(fileobj=sink, mode="w") as archive:
        for name in ("a.csv", "b.csv"):
            info = tarfile.TarInfo(name)
            info.size = len(GOOD)
            archive.addfile(info, io.BytesIO(GOOD))
    return sink.getvalue()


@pytest.mark.parametrize(
    ("name", "stored", "message"),
    [
        ("cut.csv.gz", gzip.compress(GOOD)[:-12], "cut.csv.gz: gzip data that does not decompress"),
        (
            "bad.csv.gz",
            b"\x1f\x8b" + b"\x00" * 40,
            "bad.csv.gz: gzip data that does not decompress",
        ),
        ("cut.csv.xz", lzma.compress(GOOD)[:-20], "cut.csv.xz: xz data that does not decompress"),
        (
            "cut.csv.bz2",
            bz2.compress(GOOD)[:-10],
            "cut.csv.bz2: bzip2 data that does not decompress",
        ),
        ("cut.csv.zst", _zstd(GOOD)[:-6], "cut.csv.zst: zstd data that does not decompress"),
        ("cut.csv.zip", _zip(GOOD)[:-30], "cut.csv.zip: zip data that does not decompress"),
        ("two.csv.zip", _two_members(), "two.csv.zip: a zip archive holds 2 files"),
        ("aes.csv.zip", _zip_method(99), "aes.csv.zip: zip data that does not decompress"),
        ("locked.csv.zip", _zip_encrypted(), "locked.csv.zip: zip data that does not decompress"),
        ("none.csv.zip", _zip_without_files(), "none.csv.zip: a zip archive holds no file"),
        ("two.csv.tar", _tar_two(), "two.csv.tar: a tar archive holds 2 files"),
    ],
    ids=lambda value: value if isinstance(value, str) and value.count(".") == 2 else "",
)
def test_a_file_that_does_not_decompress_is_refused_naming_it(
    name: str, stored: bytes, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "repo" / name
    path.parent.mkdir()
    path.write_bytes(stored)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(DataError) as caught:
        reader = open_data(path.parent, name, fmt=None, workdir=work)
        validate(reader, from_yaml_text("schema.yaml", SCHEMA), Limits(CHUNK_ROWS))
    assert message in str(caught.value)
    assert list(work.iterdir()) == []  # nothing half-written left behind


def test_an_empty_compressed_file_is_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(DataError, match=r"empty\.csv\.gz: the file is empty"):
        open_data(tmp_path, path.name, fmt=None, workdir=tmp_path).columns()


def test_a_compressed_file_is_recognised_by_its_content_whatever_its_name(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"  # gzip data under a plain name, as `git show` may write it
    path.write_bytes(gzip.compress(GOOD))
    reader = open_data(tmp_path, path.name, fmt=None, workdir=tmp_path)
    outcome = validate(reader, from_yaml_text("schema.yaml", SCHEMA), Limits(CHUNK_ROWS))
    assert outcome.rows == 2 and outcome.passed


@pytest.mark.parametrize(
    ("name", "kind"),
    [("bad.csv.gz", "gzip"), ("bad.csv.bz2", "bzip2"), ("bad.csv.zip", "zip")],
)
@pytest.mark.parametrize("stored", [b"not gzip at all", GOOD], ids=["words", "csv"])
def test_a_file_named_compressed_that_is_not_is_refused_as_pandas_refuses_it(
    name: str, kind: str, stored: bytes, tmp_path: Path
) -> None:
    """pandas decompresses by the name and refuses such a file; it was read as CSV (words
    alone: "the file has a header but no data rows")."""
    import pandas as pd

    path = tmp_path / name
    path.write_bytes(stored)
    with pytest.raises(Exception):  # noqa: B017 - what pandas says is not ours to match
        pd.read_csv(path)
    with pytest.raises(DataError) as caught:
        open_data(tmp_path, name, fmt=None, workdir=tmp_path).columns()
    assert str(caught.value) == (
        f"{name}: its name says {kind} ({path.suffix}), but the file holds no {kind} data"
    )
