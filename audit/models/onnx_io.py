"""Converting pipelines to ONNX and running ONNX models with onnxruntime.

ONNX is how many services hand over a model without its training code. Our pipelines are
converted with one named input per column (numbers as float32, categories as strings), so the
graph itself records what it reads; that record is checked against the data before every run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.errors import AuditInputError
from audit.files import write_atomically
from audit.models.inputs import InputColumn, prepare_arrays, require_input_columns

#: ONNX opset used for conversion; onnxruntime >= 1.18 runs it.
TARGET_OPSET = 17
_NUMERIC_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
}


def convert_pipeline(
    pipeline: Any,
    inputs: Sequence[InputColumn],
    *,
    classes: Sequence[str],
    metadata: dict[str, str] | None = None,
) -> Any:
    """An ``onnx.ModelProto`` of a fitted pipeline, with classes and provenance in its metadata."""
    import onnx
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    initial_types = [
        (c.name, FloatTensorType([None, 1]) if c.kind == "numeric" else StringTensorType([None, 1]))
        for c in inputs
    ]
    classifier = pipeline.steps[-1][1]
    proto = to_onnx(
        pipeline,
        initial_types=initial_types,
        options={id(classifier): {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    props = {"audit.classes": json.dumps(list(classes)), **(metadata or {})}
    onnx.helper.set_model_props(proto, props)
    return proto


def save_onnx(proto: Any, path: str | Path) -> Path:
    """Write an ONNX model atomically (no partial file if the write fails)."""
    return write_atomically(path, proto.SerializeToString())


class OnnxClassifier:
    """An ONNX classifier run with onnxruntime, reading one named input per column."""

    def __init__(self, path: str | Path) -> None:
        import onnx
        import onnxruntime as ort

        self.path = Path(path)
        data = self.path.read_bytes()
        try:
            proto = onnx.load_model_from_string(data)
            onnx.checker.check_model(proto)
            if not proto.graph.input or not proto.graph.output:
                raise ValueError("the graph has no inputs or no outputs")
            self._session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
            self._bytes = data
        except Exception as err:  # protobuf, checker and runtime each raise their own types
            raise AuditInputError(
                f"model file '{self.path}'",
                expected="an ONNX model (a protobuf graph with inputs and outputs)",
                found=f"a file ONNX cannot read ({type(err).__name__}: {_first_line(err)})",
                fix="check that the file is an ONNX export and not another format renamed .onnx",
            ) from err
        self.metadata = {p.key: p.value for p in proto.metadata_props}
        self.inputs = self._read_inputs()
        self._label_name, self._proba_name = self._read_outputs()
        classes = self.metadata.get("audit.classes")
        self.classes: tuple[str, ...] | None = (
            tuple(str(c) for c in json.loads(classes)) if classes else None
        )

    def __getstate__(self) -> dict[str, Any]:
        """Pickled with the graph's bytes, not its session (which cannot be), so that Spark
        can send the model to its executors (`audit.spark.steps`)."""
        return {k: v for k, v in self.__dict__.items() if k != "_session"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        import onnxruntime as ort

        self.__dict__.update(state)
        self._session = ort.InferenceSession(self._bytes, providers=["CPUExecutionProvider"])

    def _read_inputs(self) -> tuple[InputColumn, ...]:
        columns = []
        for arg in self._session.get_inputs():
            shape = arg.shape
            if len(shape) != 2 or shape[1] not in (1, "1"):
                raise AuditInputError(
                    f"ONNX model '{self.path}'",
                    expected="one named input of shape [N, 1] per column",
                    found=f"input '{arg.name}' of shape {shape}",
                    fix="convert the pipeline with one initial type per data-frame column "
                    "(audit.models.onnx_io.convert_pipeline does this)",
                )
            if arg.type == "tensor(string)":
                columns.append(InputColumn(arg.name, "string"))
            elif arg.type in _NUMERIC_TYPES:
                columns.append(InputColumn(arg.name, "numeric"))
            else:
                raise AuditInputError(
                    f"ONNX model '{self.path}'",
                    expected="inputs of type float, double, int or string",
                    found=f"input '{arg.name}' of type {arg.type}",
                    fix="convert the model with numeric or string inputs",
                )
        return tuple(columns)

    def _read_outputs(self) -> tuple[str, str | None]:
        outputs = self._session.get_outputs()
        proba = next(
            (o.name for o in outputs[1:] if o.type.startswith(("tensor(float", "seq(map"))), None
        )
        return outputs[0].name, proba

    @property
    def output_names(self) -> tuple[str, ...]:
        """The graph's label output, then its probability output if it has one."""
        return (self._label_name,) + ((self._proba_name,) if self._proba_name else ())

    def run(
        self, df: pd.DataFrame, *, labels: bool = True
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Labels and class probabilities (``None`` if the graph has no probability output).

        ``labels=False`` asks the graph for its probabilities only (the labels come back None):
        ONNX Runtime then skips the label output, which costs as much again at 10^6 rows.
        """
        require_input_columns(self.inputs, df, model=f"ONNX model '{self.path.name}'")
        feed = self.feed(df)
        names = ([self._label_name] if labels or self._proba_name is None else []) + (
            [self._proba_name] if self._proba_name else []
        )
        result = dict(zip(names, self._session.run(names, feed), strict=True))
        label_values = (
            np.asarray(result[self._label_name]).reshape(-1) if self._label_name in result else None
        )
        if self._proba_name is None:
            return label_values, None
        raw = result[self._proba_name]
        if isinstance(raw, list):  # ZipMap output: one {class: probability} dict per row
            keys = list(raw[0].keys()) if raw else []
            if self.classes is None:
                self.classes = tuple(str(k) for k in keys)
            proba = np.array([[row[k] for k in keys] for row in raw], dtype=np.float64)
        else:
            proba = np.asarray(raw, dtype=np.float64)
        return label_values, proba

    def feed(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """The graph's inputs from the rows: one [N, 1] array per column, in the input's type."""
        x = prepare_arrays(self.inputs, df)
        types = {a.name: a.type for a in self._session.get_inputs()}
        feed: dict[str, np.ndarray] = {}
        for col in self.inputs:
            values = x[col.name]
            if col.kind == "string":
                feed[col.name] = values.reshape(-1, 1)
            else:
                feed[col.name] = values.astype(_NUMERIC_TYPES[types[col.name]]).reshape(-1, 1)
        return feed


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else "no message"
