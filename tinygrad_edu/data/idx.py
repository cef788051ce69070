"""The IDX format MNIST is published in: a tiny header, then the raw numbers, often gzip-compressed.

Header: two zero bytes, a byte naming the element type, a byte giving the number of dimensions d,
then d big-endian 32-bit sizes. The payload holds exactly prod(sizes) elements, big-endian.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from ..files import SpecialFileError, open_regular


class DataError(ValueError):
    """A data file is missing, corrupt, or not the one expected. The message names the file."""


ELEMENT_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into an array of the shape and dtype its header declares."""
    path = Path(path)
    raw = _read_maybe_gzip(path)
    if len(raw) < 4:
        raise DataError(f"{path}: truncated: {len(raw)} bytes, too short for an IDX header")
    if raw[:2] != b"\x00\x00":
        raise DataError(f"{path}: wrong magic number 0x{raw[:4].hex()}: an IDX file starts with two zero bytes")
    type_code, ndim = raw[2], raw[3]
    if type_code not in ELEMENT_TYPES:
        raise DataError(f"{path}: unknown element type code 0x{type_code:02x} in the IDX header")
    if ndim == 0:
        raise DataError(f"{path}: the IDX header declares 0 dimensions")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{path}: truncated: the header declares {ndim} dimensions but the file ends first")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = np.dtype(ELEMENT_TYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    found = len(raw) - header_size
    if found != expected:
        problem = "truncated" if found < expected else "too long"
        raise DataError(f"{path}: {problem}: the header declares shape {shape} of {dtype.name} "
                        f"({expected} bytes of data), but the file holds {found}")
    array = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def _read_maybe_gzip(path: Path) -> bytes:
    try:
        with open_regular(path) as file:  # a FIFO would block, /dev/zero never end
            raw = file.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except SpecialFileError as err:
        raise DataError(str(err)) from None
    if raw[:2] != b"\x1f\x8b":  # not gzip's magic number: a raw IDX file
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: bad gzip stream ({err})") from None
