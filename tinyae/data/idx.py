"""Read and write IDX files, the simple binary format MNIST and Fashion-MNIST ship in.

An IDX file is a 4-byte magic number, then one big-endian 32-bit size per dimension, then the
array itself, row-major, one byte per element for the files we care about::

    byte 0-1   0x00 0x00      always zero
    byte 2     0x08           element type: 0x08 = unsigned byte (the only one we accept)
    byte 3     ndim           3 for images (N, rows, cols), 1 for labels (N,)
    then       ndim x uint32  the dimensions, big-endian
    then       prod(dims)     bytes of data

So images start with 0x00000803 and labels with 0x00000801. The files are usually gzipped
(``.gz``); we detect gzip from its own magic bytes, so a file works whatever its name says.

Every check below turns a confusing crash later (a reshape error, a silent garbage image) into
a message that names the file, says what was wrong and what to do about it.
"""
import gzip
import os
import struct
import zlib

import numpy

UBYTE = 0x08                      # the IDX type code for unsigned bytes
_GZIP_MAGIC = b"\x1f\x8b"         # every gzip stream starts with these two bytes
_WHAT = {1: "labels", 3: "pixels"}
_KIND = {1: "labels (1-D)", 3: "images (3-D)"}


def _read_bytes(path):
    """The file's contents, un-gzipped when it is a gzip file."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        # A half-finished download is the usual cause: gzip then says "ended before the
        # end-of-stream marker", which means nothing to a student.
        raise ValueError(
            f"{path}: the gzip data is corrupt or truncated ({err}); "
            "delete the file and download it again") from err


def read_idx(path, ndim=None):
    """Read one IDX file of unsigned bytes (``.gz`` or raw) into a uint8 NumPy array.

    ``ndim`` (optional) is the number of dimensions you expect: 3 for an images file, 1 for a
    labels file; a file of the other kind is then refused. The returned array is read-only
    (it shares memory with the file's bytes); call ``.copy()`` to get one you can modify.

    Raises ``ValueError`` naming the file and the problem: wrong magic number, wrong element
    type, wrong kind, or a payload that is shorter or longer than the header promises.
    """
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: only {len(data)} bytes long, too short to be an IDX file "
                         "(an IDX file starts with a 4-byte magic number); delete it and "
                         "download it again")
    zero, dtype, nd = struct.unpack(">HBB", data[:4])
    magic = int.from_bytes(data[:4], "big")
    if zero != 0 or nd == 0:
        raise ValueError(f"{path}: magic number 0x{magic:08X} is not an IDX header "
                         "(expected 0x00000803 for images or 0x00000801 for labels); "
                         "this is not an MNIST-style IDX file")
    if dtype != UBYTE:
        raise ValueError(f"{path}: element type 0x{dtype:02X} in the magic number 0x{magic:08X}; "
                         "tinyae reads only unsigned-byte IDX files (type 0x08)")
    if ndim is not None and nd != ndim:
        want, got = _KIND.get(ndim, f"{ndim}-D"), _KIND.get(nd, f"{nd}-D")
        raise ValueError(f"{path}: magic number 0x{magic:08X} says this file holds {got}, "
                         f"but {want} were expected (0x{0x800 + ndim:08X}); "
                         "are the images and labels files swapped?")
    header = 4 + 4 * nd
    if len(data) < header:
        raise ValueError(f"{path}: the header promises {nd} dimensions but the file ends after "
                         f"{len(data)} bytes; the file is truncated, delete it and download again")
    shape = struct.unpack(f">{nd}I", data[4:header])
    expected = 1
    for d in shape:
        expected *= d
    found = len(data) - header
    what = _WHAT.get(nd, "data")
    if found < expected:
        raise ValueError(f"{path}: the header says shape {shape}, so expected {expected} bytes "
                         f"of {what}, found {found} — the file is truncated; "
                         "delete it and download again")
    if found > expected:
        raise ValueError(f"{path}: the header says shape {shape}, so expected {expected} bytes "
                         f"of {what}, found {found} — the file has {found - expected} extra bytes "
                         "and is corrupt; delete it and download again")
    # frombuffer shares memory with the immutable bytes object, so no copy and read-only.
    return numpy.frombuffer(data, dtype=numpy.uint8, offset=header).reshape(shape)


def write_idx(path, array):
    """Write a uint8 array as an IDX file; gzip it when ``path`` ends with ``.gz``.

    Integer arrays with values in 0..255 are accepted and stored as unsigned bytes; anything
    else raises ``ValueError`` (IDX of bytes cannot hold it without losing information).
    """
    path = os.fspath(path)
    a = numpy.asarray(array)
    if a.ndim == 0 or a.ndim > 255:
        raise ValueError(f"write_idx needs an array with 1 to 255 dimensions, got shape {a.shape}")
    if a.dtype != numpy.uint8:
        if a.dtype.kind not in "iu" or (a.size and (a.min() < 0 or a.max() > 255)):
            raise ValueError(f"write_idx stores unsigned bytes: got dtype {a.dtype}; convert to "
                             "uint8 first (e.g. (x * 255).round().astype('uint8'))")
        a = a.astype(numpy.uint8)
    if any(d >= 2**32 for d in a.shape):
        raise ValueError(f"IDX dimensions are 32-bit; shape {a.shape} is too large")
    header = struct.pack(f">HBB{a.ndim}I", 0, UBYTE, a.ndim, *a.shape)
    payload = header + numpy.ascontiguousarray(a).tobytes()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)
