"""The run manifest: what someone needs to reproduce an audit and know it is the same one.

The spec, a fingerprint of the data (hash of the file, or of the generated table), the model's
identity (URI, registry version, content hash), the seed, and the versions of the packages that
compute the figures.
"""

from __future__ import annotations

import hashlib
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from audit.models.importing import ModelIdentity

PACKAGES = (
    "employment-fairness-audit",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "mlflow",
    "skops",
    "onnxruntime",
    "pydantic",
)


def file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """Hash of a table's contents and column names, independent of how it was stored."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def build_manifest(
    *,
    spec: dict[str, Any],
    spec_sha256: str,
    data: dict[str, Any],
    model: dict[str, Any],
    seed: int,
    tracking: dict[str, Any],
    aliases: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "manifest_version": "1",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "spec_sha256": spec_sha256,
        "spec": spec,
        "data": data,
        "model": model,
        "seed": seed,
        "tracking": tracking,
        # Each registry alias the audit read (candidate, baseline) and the version it pointed
        # at then: an alias moves, and the audit must say which version it judged.
        "aliases": aliases or {},
        "packages": package_versions(),
    }


def resolved_aliases(*identities: ModelIdentity | None) -> dict[str, str]:
    """`models:/NAME@ALIAS` -> the version it resolved to, for each model opened by an alias."""
    return {
        i.uri: i.version
        for i in identities
        if i is not None and i.version and i.uri.startswith("models:/") and "@" in i.uri
    }
