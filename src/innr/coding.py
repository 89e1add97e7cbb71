"""What a method stores, written as one blob of bytes: its length is the method's coded size.

`pack(stored)` gives the bytes, `unpack(blob)` the tensors back (names, dtypes, shapes and
values exactly), `coded_bytes(stored) = len(pack(stored))`. The blob is a varint (the header's
length), the header deflated (zlib, raw: each tensor's name, dtype, shape, coding, smallest value
and value span), then each tensor's data in order:
- a floating tensor: its raw bytes in its own dtype (float32: 4 bytes a value);
- an integer or bool tensor: its values less their smallest, coded the smaller of two ways:
  packed at a fixed width (ceil(log2 span) bits a value; no bits where every value is the same),
  or entropy-coded by an ANS coder (constriction) under the tensor's own value counts, which the
  blob stores (varints) before the coder's 32-bit words, so the table is charged too.
Everything is little-endian; packing is deterministic.
"""

from __future__ import annotations

import zlib

import constriction
import numpy as np
import torch

Stored = dict[str, torch.Tensor]

DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.bool, torch.uint8,
          torch.int8, torch.int16, torch.int32, torch.int64)  # a dtype is stored as its index here
FIXED, ANS = 0, 1  # how an integer tensor's values are coded
MAX_TABLE = 1 << 12  # an ANS table of more symbols than this costs more than it saves: fixed


def _varint(x: int) -> bytes:
    """x >= 0 in 7-bit groups, low first, the high bit set on all but the last (LEB128)."""
    out = bytearray()
    while True:
        out.append((x & 0x7F) | (0x80 if x > 0x7F else 0))
        x >>= 7
        if not x:
            return bytes(out)


class _Reader:
    """Reads a blob front to back."""

    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise ValueError("the blob ends early: not one made by innr.coding.pack")
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    def varint(self) -> int:
        x, shift = 0, 0
        while True:
            byte = self.take(1)[0]
            x |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return x


def _zigzag(x: int) -> int:
    return 2 * x if x >= 0 else -2 * x - 1


def _unzigzag(z: int) -> int:
    return z // 2 if z % 2 == 0 else -(z + 1) // 2


def _width(span: int) -> int:
    """Bits a value of `span` possible ones takes at a fixed width."""
    return (span - 1).bit_length()


def _fixed(symbols: np.ndarray, width: int) -> bytes:
    bits = (symbols[:, None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1)
    return np.packbits(bits.astype(np.uint8).reshape(-1), bitorder="little").tobytes()


def _unfixed(r: _Reader, n: int, width: int) -> np.ndarray:
    raw = np.frombuffer(r.take((n * width + 7) // 8), dtype=np.uint8)
    bits = np.unpackbits(raw, count=n * width, bitorder="little").reshape(n, width)
    return (bits.astype(np.uint64) << np.arange(width, dtype=np.uint64)).sum(1, dtype=np.uint64)


def _model(counts: np.ndarray):
    return constriction.stream.model.Categorical(counts.astype(np.float64), perfect=False)


def _ans(symbols: np.ndarray, span: int) -> bytes:
    counts = np.bincount(symbols, minlength=span)
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(symbols.astype(np.int32), _model(counts))
    words = coder.get_compressed().astype("<u4")
    return (b"".join(_varint(int(c)) for c in counts) + _varint(len(words)) + words.tobytes())


def _unans(r: _Reader, n: int, span: int) -> np.ndarray:
    counts = np.array([r.varint() for _ in range(span)])
    words = np.frombuffer(r.take(4 * r.varint()), dtype="<u4").astype(np.uint32)
    return constriction.stream.stack.AnsCoder(words).decode(_model(counts), n).astype(np.uint64)


def _integers(t: torch.Tensor) -> tuple[int, int, int, bytes]:
    """(coding, smallest value, span, data) of an integer or bool tensor, the smaller coding."""
    values = t.reshape(-1).to(torch.int64).numpy()
    if not len(values):
        return FIXED, 0, 1, b""
    low, span = int(values.min()), int(values.max()) - int(values.min()) + 1
    symbols = (values - low).astype(np.uint64)
    fixed = _fixed(symbols, _width(span))
    if span == 1 or span > MAX_TABLE:
        return FIXED, low, span, fixed
    coded = _ans(symbols.astype(np.int64), span)
    return (ANS, low, span, coded) if len(coded) < len(fixed) else (FIXED, low, span, fixed)


def pack(stored: Stored) -> bytes:
    """The bytes a method would write for `stored` (see the module's docstring for the layout)."""
    header, data = bytearray(_varint(len(stored))), bytearray()
    for name, t in stored.items():
        if t.dtype not in DTYPES:
            raise TypeError(f"{name}: cannot store dtype {t.dtype}")
        t = t.detach().cpu().contiguous()
        key = name.encode()
        header += _varint(len(key)) + key + _varint(DTYPES.index(t.dtype)) + _varint(t.dim())
        header += b"".join(_varint(d) for d in t.shape)
        if t.dtype.is_floating_point:
            data += t.reshape(-1).view(torch.uint8).numpy().tobytes()
            continue
        coding, low, span, body = _integers(t)
        header += _varint(coding) + _varint(_zigzag(low)) + _varint(span)
        data += body
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: no zlib header
    head = deflate.compress(bytes(header)) + deflate.flush()
    return _varint(len(head)) + head + bytes(data)


def unpack(blob: bytes) -> Stored:
    """The tensors `pack` was given, exactly."""
    r = _Reader(blob)
    header = _Reader(zlib.decompress(r.take(r.varint()), -15))
    out = {}
    for _ in range(header.varint()):
        name = header.take(header.varint()).decode()
        dtype = DTYPES[header.varint()]
        shape = tuple(header.varint() for _ in range(header.varint()))
        n = int(np.prod(shape, dtype=np.int64))
        if dtype.is_floating_point:
            raw = bytearray(r.take(n * torch.empty((), dtype=dtype).element_size()))
            out[name] = torch.frombuffer(raw, dtype=torch.uint8).view(dtype).reshape(shape) \
                if raw else torch.empty(shape, dtype=dtype)
            continue
        coding, low, span = header.varint(), _unzigzag(header.varint()), header.varint()
        symbols = _unans(r, n, span) if coding == ANS else _unfixed(r, n, _width(span))
        values = torch.from_numpy(symbols.astype(np.int64) + low)
        out[name] = values.to(dtype).reshape(shape)
    if r.at != len(blob):
        raise ValueError("bytes left over after the last tensor: not one made by pack")
    return out


def coded_bytes(stored: Stored) -> int:
    """The length of `pack(stored)`: a method's coded size."""
    return len(pack(stored))


def prefixed(name: str, stored: Stored) -> Stored:
    """A tensor's stored parts under NAME/part."""
    return {f"{name}/{part}": t for part, t in stored.items()}


def parts(stored: Stored, name: str) -> Stored:
    """The parts stored under NAME/."""
    return {k[len(name) + 1:]: t for k, t in stored.items() if k.startswith(f"{name}/")}
