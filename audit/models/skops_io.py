"""Saving and loading scikit-learn pipelines as skops files, never as plain pickle.

A pickle runs whatever code its author put in it when it is loaded. skops stores the object tree as
JSON plus arrays and refuses to build types it has not been told to trust. We trust exactly the
types our reference pipelines need (:data:`TRUSTED_TYPES` on top of skops' own list of scikit-learn
and NumPy types); a file from elsewhere that needs anything more is refused with the list of the
types it asked for, so a reviewer can decide instead of the loader.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from audit.errors import AuditInputError
from audit.files import write_atomically

#: Types beyond skops' defaults that our pipelines contain. Extend only after reviewing the type.
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
)


def save_skops(model: Any, path: str | Path) -> Path:
    """Write ``model`` to ``path`` atomically: a failed write leaves no partial file behind."""
    import skops.io as sio

    data = sio.dumps(model, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    return write_atomically(path, data)


def untrusted_types(path: str | Path, trusted: tuple[str, ...] = TRUSTED_TYPES) -> list[str]:
    """Types in the file that neither skops nor our allow-list trust (empty when safe to load)."""
    import skops.io as sio

    source = Path(path)
    try:
        found = sio.get_untrusted_types(file=source)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        raise AuditInputError(
            f"model file '{source}'",
            expected="a skops file (a zip archive with schema.json)",
            found=f"a file skops cannot read ({type(err).__name__}: {err})",
            fix="save the model with skops.io.dump, or check that the file is not truncated",
        ) from err
    return sorted(t for t in found if t not in trusted)


def load_skops(path: str | Path, trusted: tuple[str, ...] = TRUSTED_TYPES) -> Any:
    """Load a skops file after checking every type it contains against the allow-list."""
    import skops.io as sio

    source = Path(path)
    refused = untrusted_types(source, trusted)
    if refused:
        raise AuditInputError(
            f"model file '{source}'",
            expected="only types on the allow-list (" + ", ".join(trusted) + ") and skops defaults",
            found="untrusted types " + ", ".join(refused),
            fix="review these types; if the file comes from a source you trust, add them to "
            "audit.models.skops_io.TRUSTED_TYPES. Never load it with pickle",
        )
    try:
        return sio.load(source, trusted=list(sio.get_untrusted_types(file=source)))
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError) as err:
        raise AuditInputError(
            f"model file '{source}'",
            expected="a skops file that skops can rebuild",
            found=f"a damaged or tampered file ({type(err).__name__}: {err})",
            fix="export the model again with skops.io.dump",
        ) from err


def skops_content_sha256(source: str | Path | bytes) -> str:
    """SHA-256 of what a skops archive holds: the same model gives the same hash, always.

    The bytes of two saves of one fitted model differ: skops names every array member after the
    memory address of the array (`139666505501840.npy`), records those addresses as `__id__` in
    its schema, and zip entries carry the time of writing. Here the schema is read in its own
    order, each `__id__` is replaced by the rank of its first appearance and each member name by
    the SHA-256 of the member's bytes (NumPy's .npy format is deterministic), and the canonical
    JSON of the result is hashed. Any change to a parameter, a fitted array or a type changes it.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {
                name: hashlib.sha256(archive.read(name)).hexdigest()
                for name in archive.namelist()
                if name != "schema.json"
            }
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as err:
        raise AuditInputError(
            "skops model",
            expected="a skops file (a zip archive with schema.json)",
            found=f"a file skops cannot read ({type(err).__name__}: {err})",
            fix="save the model with skops.io.dump, or check that the file is not truncated",
        ) from err
    ranks: dict[object, int] = {}
    used: set[str] = set()

    def canonical(node: object) -> object:
        if isinstance(node, dict):
            out: dict[str, object] = {}
            for key, value in node.items():
                if key == "__id__":
                    out[key] = ranks.setdefault(value, len(ranks))
                elif key == "file" and isinstance(value, str) and value in members:
                    used.add(value)
                    out[key] = members[value]
                else:
                    out[key] = canonical(value)
            return out
        if isinstance(node, list):
            return [canonical(v) for v in node]
        return node

    text = json.dumps(canonical(schema), sort_keys=True, separators=(",", ":"))
    # Members the schema does not name (none in skops today) still count, by their content.
    extra = sorted(digest for name, digest in members.items() if name not in used)
    return hashlib.sha256("\n".join([text, *extra]).encode()).hexdigest()
