"""The hashes of files and models recomputed here, not checked for their length (issue 14)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

from audit.models.importing import file_sha256
from audit.models.skops_io import skops_content_sha256

# FIPS 180-2, appendix B.1: SHA-256("abc").
ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_file_hash_is_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    small = tmp_path / "abc"
    small.write_bytes(b"abc")
    assert file_sha256(small) == ABC
    # Larger than the 1 MiB block the file is read in: blocks must join, none be lost.
    big = tmp_path / "big"
    content = bytes(range(256)) * 9000 + b"tail"
    big.write_bytes(content)
    assert file_sha256(big) == hashlib.sha256(content).hexdigest()
    assert file_sha256(tmp_path / "abc") != file_sha256(big)


def _archive(schema: dict, members: dict[str, bytes], stamp: tuple[int, ...]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in {"schema.json": json.dumps(schema).encode(), **members}.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), data)
    return buffer.getvalue()


def test_skops_content_hash_by_hand() -> None:
    # A skops-shaped archive: one array member named after a memory address, two objects with
    # `__id__`s, and a member the schema does not name.
    schema = {
        "__id__": 1403,
        "content": {"file": "1403.npy", "__id__": 1403},
        "x": [{"__id__": 77}],
    }
    members = {"1403.npy": b"abc", "extra.bin": b"zz"}
    # The documented canonical form, written out: ids ranked by first appearance (1403 -> 0,
    # 77 -> 1), the member name replaced by the SHA-256 of its bytes, keys sorted, no spaces;
    # then the digests of unnamed members, one a line.
    text = '{"__id__":0,"content":{"__id__":0,"file":"' + ABC + '"},"x":[{"__id__":1}]}'
    expected = hashlib.sha256((text + "\n" + hashlib.sha256(b"zz").hexdigest()).encode())
    first = _archive(schema, members, (2020, 1, 1, 0, 0, 0))
    assert skops_content_sha256(first) == expected.hexdigest()

    # Another save of the same model: other addresses, other times; the same hash.
    moved = json.loads(json.dumps(schema).replace("1403", "5550").replace("77", "91"))
    again = _archive(moved, {"5550.npy": b"abc", "extra.bin": b"zz"}, (2024, 5, 6, 7, 8, 10))
    assert again != first and skops_content_sha256(again) == expected.hexdigest()
    # A changed array, or a changed structure, changes it.
    changed = _archive(schema, {"1403.npy": b"abd", "extra.bin": b"zz"}, (2020, 1, 1, 0, 0, 0))
    assert skops_content_sha256(changed) != expected.hexdigest()
    shared = {**schema, "x": [{"__id__": 1403}]}  # x is now the same object as content
    assert skops_content_sha256(_archive(shared, members, (2020, 1, 1, 0, 0, 0))) != (
        expected.hexdigest()
    )
