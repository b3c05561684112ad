"""Minimal reader for the parts of a TFLite flatbuffer we need: tensors, their quantisation and data.

The `tflite` / `flatbuffers` Python packages are not available here, so this walks the flatbuffer
tables by hand (field numbers from tensorflow/lite/schema/schema.fbs).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# schema.fbs TensorType enum values we can meet in MobileNetV2 files.
_DTYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}


class _Table:
    """A flatbuffer table: a position in the buffer plus its vtable."""

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf = buf
        self.pos = pos
        vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vtable = vtable
        self.vtable_len = struct.unpack_from("<H", buf, vtable)[0]

    def _field_pos(self, field: int) -> int | None:
        entry = 4 + 2 * field
        if entry >= self.vtable_len:
            return None
        off = struct.unpack_from("<H", self.buf, self.vtable + entry)[0]
        return self.pos + off if off else None

    def scalar(self, field: int, fmt: str, default: int | float = 0) -> int | float:
        p = self._field_pos(field)
        return struct.unpack_from("<" + fmt, self.buf, p)[0] if p is not None else default

    def _indirect(self, p: int) -> int:
        return p + struct.unpack_from("<I", self.buf, p)[0]

    def table(self, field: int) -> "_Table | None":
        p = self._field_pos(field)
        return _Table(self.buf, self._indirect(p)) if p is not None else None

    def string(self, field: int) -> str:
        p = self._field_pos(field)
        if p is None:
            return ""
        s = self._indirect(p)
        n = struct.unpack_from("<I", self.buf, s)[0]
        return self.buf[s + 4 : s + 4 + n].decode("utf-8")

    def _vector(self, field: int) -> tuple[int, int] | None:
        p = self._field_pos(field)
        if p is None:
            return None
        v = self._indirect(p)
        return v + 4, struct.unpack_from("<I", self.buf, v)[0]

    def tables(self, field: int) -> list["_Table"]:
        vec = self._vector(field)
        if vec is None:
            return []
        start, n = vec
        return [_Table(self.buf, self._indirect(start + 4 * i)) for i in range(n)]

    def array(self, field: int, dtype: type) -> np.ndarray:
        vec = self._vector(field)
        if vec is None:
            return np.zeros(0, dtype=dtype)
        start, n = vec
        return np.frombuffer(self.buf, dtype=dtype, count=n, offset=start)


@dataclass(frozen=True)
class TfliteTensor:
    name: str
    shape: tuple[int, ...]
    data: np.ndarray | None  # raw stored values (quantised ints or floats); None for activations
    scale: np.ndarray  # per-tensor (1,) or per-channel quantisation scale; empty when not quantised
    zero_point: np.ndarray
    quantized_dimension: int

    def dequantized(self) -> np.ndarray:
        """The real-valued weights: scale * (q - zero_point), broadcast along the quantised axis."""
        if self.data is None:
            raise ValueError(f"tensor {self.name} holds no constant data")
        values = self.data.astype(np.float32)
        if self.scale.size == 0:
            return values.reshape(self.shape)
        values = values.reshape(self.shape)
        bshape = [1] * len(self.shape)
        if self.scale.size > 1:
            bshape[self.quantized_dimension] = self.scale.size
        scale = self.scale.astype(np.float32).reshape(bshape)
        zp = self.zero_point.astype(np.float32).reshape(bshape)
        return scale * (values - zp)


def read_tflite_tensors(path: str | Path) -> list[TfliteTensor]:
    """All tensors of the first subgraph, in file order."""
    buf = Path(path).read_bytes()
    model = _Table(buf, struct.unpack_from("<I", buf, 0)[0])
    buffers = model.tables(4)
    subgraph = model.tables(2)[0]
    out: list[TfliteTensor] = []
    for t in subgraph.tables(0):
        dtype = _DTYPES.get(int(t.scalar(1, "b")))
        buffer_index = int(t.scalar(2, "I"))
        data = None
        if dtype is not None and buffer_index < len(buffers):
            raw = buffers[buffer_index].array(0, np.uint8)
            if raw.size:
                data = np.frombuffer(raw.tobytes(), dtype=dtype)
        q = t.table(4)
        scale = q.array(2, np.float32) if q else np.zeros(0, np.float32)
        zp = q.array(3, np.int64) if q else np.zeros(0, np.int64)
        qdim = int(q.scalar(6, "i")) if q else 0
        out.append(
            TfliteTensor(
                name=t.string(3),
                shape=tuple(int(d) for d in t.array(0, np.int32)),
                data=data,
                scale=scale.copy(),
                zero_point=zp.copy(),
                quantized_dimension=qdim,
            )
        )
    return out
