"""The dtypes irax has and how MLIR spells them: facts of NumPy and
ml_dtypes, with no 64-bit mode and no promotion (those are the frontend's,
in frontend/dtypes.py)."""
import ml_dtypes

import numpy as np

bool_ = np.dtype(np.bool_)
int8, int16, int32, int64 = map(np.dtype, (np.int8, np.int16, np.int32, np.int64))
uint8, uint16, uint32, uint64 = map(np.dtype, (np.uint8, np.uint16, np.uint32, np.uint64))
float16, bfloat16, float32, float64 = map(np.dtype, (np.float16, ml_dtypes.bfloat16, np.float32, np.float64))
complex64, complex128 = map(np.dtype, (np.complex64, np.complex128))
(float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, float8_e4m3b11fnuz, float8_e3m4, float8_e4m3,
 float8_e8m0fnu, float4_e2m1fn) = map(np.dtype, (
    ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2, ml_dtypes.float8_e4m3fnuz, ml_dtypes.float8_e5m2fnuz,
    ml_dtypes.float8_e4m3b11fnuz, ml_dtypes.float8_e3m4, ml_dtypes.float8_e4m3, ml_dtypes.float8_e8m0fnu,
    ml_dtypes.float4_e2m1fn))
# The 8- and 4-bit floats live in i8 as their bit patterns (ir/float8.py says
# why): moved as bytes, computed on in float32.
BIT_FLOATS = (float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, float8_e4m3b11fnuz, float8_e3m4,
              float8_e4m3, float8_e8m0fnu, float4_e2m1fn)

# One row per dtype: short spec name (also its node on the promotion
# lattice), MLIR element type (signless: signedness lives in the numpy
# dtype), and kind, spelled out because numpy gives bfloat16 kind 'V'.
_TABLE = (
    (bool_,    "bool", "i1",   "b"),
    (int8,     "i8",   "i8",   "i"),
    (int16,    "i16",  "i16",  "i"),
    (int32,    "i32",  "i32",  "i"),
    (int64,    "i64",  "i64",  "i"),
    (uint8,    "u8",   "i8",   "u"),
    (uint16,   "u16",  "i16",  "u"),
    (uint32,   "u32",  "i32",  "u"),
    (uint64,   "u64",  "i64",  "u"),
    (float16,  "f16",  "f16",  "f"),
    (bfloat16, "bf16", "bf16", "f"),
    (float32,  "f32",  "f32",  "f"),
    (float64,  "f64",  "f64",  "f"),
    (complex64,  "c64",  "complex<f32>", "c"),
    (complex128, "c128", "complex<f64>", "c"),
    *((small, small.name, "i8", "f") for small in BIT_FLOATS),  # short name as JAX's: float8_e4m3fn[2]
)
SUPPORTED = tuple(row[0] for row in _TABLE)
# Bit widths, as in `f32[2,3]`. Not numpy's spelling: np.dtype("i8") is int64.
SHORT_NAMES = {short: dtype for dtype, short, _, _ in _TABLE}
SHORT = {dtype: short for dtype, short, _, _ in _TABLE}
KIND = {dtype: kind for dtype, _, _, kind in _TABLE}
_MLIR = {dtype: mlir for dtype, _, mlir, _ in _TABLE}


def supported(dtype) -> np.dtype:
    """np.dtype(dtype), or a TypeError when irax has no such dtype."""
    dt = np.dtype(dtype)
    if dt not in KIND:
        names = ", ".join(d.name for d in SUPPORTED)
        raise TypeError(f"Dtype {dt} is not a valid irax array type. "
                        f"Only arrays of numeric types are supported by irax: {names}.")
    return dt


def is_bool(dtype) -> bool:
    return KIND.get(np.dtype(dtype)) == "b"


def is_int(dtype) -> bool:
    """Signed or unsigned integer; bool is not one."""
    return KIND.get(np.dtype(dtype)) in ("i", "u")


def is_unsigned(dtype) -> bool:
    return KIND.get(np.dtype(dtype)) == "u"


def is_float(dtype) -> bool:
    return KIND.get(np.dtype(dtype)) == "f"


def is_bit_float(dtype) -> bool:
    """An 8- or 4-bit float, held as its bit pattern in i8."""
    return np.dtype(dtype) in BIT_FLOATS


def is_complex(dtype) -> bool:
    return KIND.get(np.dtype(dtype)) == "c"


# The dtype of a complex dtype's real and imaginary parts.
_PARTS = {complex64: float32, complex128: float64}


def real_dtype(dtype) -> np.dtype:
    """float32 for complex64, float64 for complex128; any other dtype itself
    (the dtype of abs, real and imag)."""
    dtype = np.dtype(dtype)
    return _PARTS.get(dtype, dtype)


def complex_dtype(dtype) -> np.dtype:
    """The complex dtype whose parts are float32 or float64 `dtype`."""
    return {part: whole for whole, part in _PARTS.items()}[np.dtype(dtype)]


def to_mlir_name(dtype) -> str:
    """MLIR element type spelling: 'i1', 'i8' (int8 and uint8), ..., 'bf16', 'f32', 'complex<f32>'."""
    return _MLIR[supported(dtype)]
