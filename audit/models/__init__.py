"""Reference models and model import.

Train the models an employment service would run (:mod:`audit.models.training`), save them as
skops or ONNX, log them to MLflow, and open any model for audit through one interface:

>>> from audit.models import load_model
>>> model = load_model("models/profiling_reference.onnx")
>>> model.kind, model.task, model.classes
('onnx', 'profiling', ('0', '1'))

MLflow is imported only by the functions that need it (:mod:`audit.models.mlflow_io`).
"""

from audit.models.importing import AuditableModel, ModelIdentity, load_model
from audit.models.inputs import InputCheck, InputColumn
from audit.models.training import (
    BandAllocation,
    BandPolicy,
    FeatureCatalogue,
    FeatureSet,
    TrainedModel,
    allocate_support,
    train_profiling_model,
    train_track_model,
)

__all__ = [
    "AuditableModel",
    "BandAllocation",
    "BandPolicy",
    "FeatureCatalogue",
    "FeatureSet",
    "InputCheck",
    "InputColumn",
    "ModelIdentity",
    "TrainedModel",
    "allocate_support",
    "load_model",
    "train_profiling_model",
    "train_track_model",
]
