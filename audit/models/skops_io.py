"""Saving and loading scikit-learn pipelines as skops files, never as plain pickle.

A pickle runs whatever code its author put in it when it is loaded. skops stores the object tree as
JSON plus arrays and refuses to build types it has not been told to trust. We trust exactly the
types our reference pipelines need (:data:`TRUSTED_TYPES` on top of skops' own list of scikit-learn
and NumPy types); a file from elsewhere that needs anything more is refused with the list of the
types it asked for, so a reviewer can decide instead of the loader.
"""

from __future__ import annotations

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
