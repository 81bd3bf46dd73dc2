"""irax.frontend.dtypes against JAX as the oracle, in x32 and x64 mode."""
import itertools
import re
import types

import numpy as np
import pytest

import irax.numpy as jnp
from irax.config import config
from irax.frontend import dtypes


def irax_mode(x64):
    old = config.irax_enable_x64
    config.update("irax_enable_x64", x64)
    yield x64
    config.update("irax_enable_x64", old)


@pytest.fixture(params=[False, True], ids=["x32", "x64"])
def x64(request):
    yield from irax_mode(request.param)


@pytest.fixture
def x32_only():
    yield from irax_mode(False)


@pytest.fixture
def x64_only():
    yield from irax_mode(True)


@pytest.fixture
def jax(x64):
    """JAX in the same 64-bit mode as irax."""
    jax = pytest.importorskip("jax")
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", x64)
    yield jax
    jax.config.update("jax_enable_x64", old)


def weak_array(dtype):
    """What promotion sees of a weakly typed irax Array or Tracer."""
    return types.SimpleNamespace(dtype=dtype, weak_type=True)


@pytest.fixture
def operands(jax):
    """(label, irax operand, JAX operand): every dtype as a strong NumPy array,
    Python int/float/bool, and every dtype of the mode as a weak array."""
    convert = pytest.importorskip("jax._src.lax.lax")._convert_element_type
    jnp = jax.numpy
    ops = [(f"{dt.name}[]", np.zeros((), dt), np.zeros((), dt)) for dt in dtypes.SUPPORTED]
    ops += [(repr(v), v, v) for v in (1, 1.0, True)]
    for dt in dict.fromkeys(map(dtypes.canonicalize_dtype, dtypes.SUPPORTED)):
        ops.append((f"weak {dt.name}", weak_array(dt), convert(jnp.zeros((), dt), dt, weak_type=True)))
    return ops


def _or_error(fn, *args):
    """fn(*args), or the name of the error it raises (8-bit floats meet no other float)."""
    try:
        return fn(*args)
    except ValueError as e:
        return type(e).__name__


def mismatches(ours, theirs, operand_tuples):
    out = []
    for combo in operand_tuples:
        labels, mine, jaxs = zip(*combo)
        got, want = _or_error(ours, *mine), _or_error(theirs, *jaxs)
        if got != want:
            out.append(f"{labels}: irax {got}, jax {want}")
    return out


def test_result_type_matches_jax(jax, operands):
    ours = lambda *a: dtypes.result_type(*a, return_weak_type_flag=True)
    theirs = lambda *a: jax.dtypes.result_type(*a, return_weak_type_flag=True)
    combos = [*itertools.product(operands, repeat=1), *itertools.product(operands, repeat=2)]
    assert mismatches(ours, theirs, combos) == []


def test_result_type_of_three_matches_jax(jax, operands):
    ours = lambda *a: dtypes.result_type(*a, return_weak_type_flag=True)
    theirs = lambda *a: jax.dtypes.result_type(*a, return_weak_type_flag=True)
    assert mismatches(ours, theirs, itertools.combinations(operands, 3)) == []


def test_lattice_result_type_matches_jax(jax, operands):
    from jax._src.dtypes import lattice_result_type

    combos = itertools.product(operands, repeat=2)
    assert mismatches(dtypes.lattice_result_type, lattice_result_type, combos) == []


@pytest.mark.parametrize("pair", [
    (np.int32, 1.0), (np.uint8, 1), (np.float16, 1.0), (np.int8, np.uint8), (np.int64, np.uint64),
    (np.uint32, np.int32), (True, 1), (1, 1.0), ("weak uint8", "weak uint8"), ("weak bfloat16", 1),
])
def test_jnp_add_agrees_with_lattice_result_type(jax, pair):
    """What a real jax.numpy op does, on a sample (each one compiles)."""
    convert = pytest.importorskip("jax._src.lax.lax")._convert_element_type

    def make(p):  # -> (irax operand, JAX operand)
        if isinstance(p, str):
            dt = np.dtype(p.split()[1])
            return weak_array(dt), convert(jax.numpy.zeros((), dt), dt, weak_type=True)
        v = np.ones((), p) if isinstance(p, type) else p
        return v, v

    (a, ja), (b, jb) = make(pair[0]), make(pair[1])
    out = jax.numpy.add(ja, jb)
    assert dtypes.lattice_result_type(a, b) == (out.dtype, out.weak_type)



@pytest.mark.parametrize("dtype", ["float16", "float32", "complex64", "int8", "bfloat16"])
def test_an_array_and_a_python_number_promote_as_jax(jax, dtype):
    """A strongly typed float or complex array with a Python float or int
    (promote_args' short way: the number takes the array's dtype) and the
    other pairs: the dtype, weak type and value of JAX's result, either
    operand first."""
    for number in (2.0, 2, -0.0, 70000.0, 2**31 - 1, float("nan")):
        for ours, theirs in ((jnp.ones(3, dtype), jax.numpy.ones(3, dtype)),
                             (jnp.asarray(1.5, dtype), jax.numpy.asarray(1.5, dtype))):
            for got, want in ((ours * number, theirs * number), (number - ours, number - theirs)):
                assert (got.dtype, got.weak_type) == (want.dtype, want.weak_type)
                np.testing.assert_array_equal(np.asarray(got, np.complex128), np.asarray(want, np.complex128))

SPECIFIERS = [*dtypes.SUPPORTED, bool, int, float, np.float64, np.int8, "float32", "bfloat16", "uint16"]


def test_promote_types_matches_jax(jax):
    """Not canonicalized, in either mode: float32 and float64 give float64 in
    x32 mode too (JAX narrows only where it makes arrays)."""
    jnp = jax.numpy
    for a, b in itertools.product(SPECIFIERS, repeat=2):
        want = _or_error(jnp.promote_types, a, b)
        assert _or_error(dtypes.promote_types, a, b) == want, (a, b)


# (a, b) -> promote_types in x32 mode, in x64 mode (JAX's, as the test above checks)
PROMOTE_TABLE = {
    ("float32", "float64"): ("float64", "float64"),
    ("int32", "int64"): ("int64", "int64"),
    ("uint32", "int32"): ("int32", "int64"),  # x32's lattice forms no 64-bit dtype from narrower ones
    ("uint64", "int64"): ("float64", "float64"),
    ("complex64", "float64"): ("complex128", "complex128"),
    (int, float): ("float64", "float64"),
    (bool, int): ("int64", "int64"),
    ("uint8", int): ("uint8", "uint8"),
    ("bfloat16", "float16"): ("float32", "float32"),
}


@pytest.mark.parametrize("pair", list(PROMOTE_TABLE), ids=str)
def test_promote_types_table(jax, x64, pair):
    want = PROMOTE_TABLE[pair][x64]
    assert dtypes.promote_types(*pair) == jax.numpy.promote_types(*pair) == want
    # result_type stays JAX's: canonical inputs and result, the dtype arrays of these get
    assert dtypes.result_type(*pair) == jax.numpy.result_type(*pair)
    assert dtypes.result_type(*pair) == dtypes.canonicalize_dtype(dtypes.result_type(*pair))


def test_canonicalize_dtype_matches_jax(jax):
    for spec in SPECIFIERS:
        assert dtypes.canonicalize_dtype(spec) == jax.dtypes.canonicalize_dtype(spec), spec


def test_defaults_follow_the_mode_at_call_time(x64):
    assert dtypes.default_int_dtype() == (dtypes.int64 if x64 else dtypes.int32)
    assert dtypes.default_uint_dtype() == (dtypes.uint64 if x64 else dtypes.uint32)
    assert dtypes.default_float_dtype() == (dtypes.float64 if x64 else dtypes.float32)
    assert dtypes.canonicalize_dtype(int) == dtypes.default_int_dtype()
    assert dtypes.canonicalize_dtype(float) == dtypes.default_float_dtype()
    assert dtypes.canonicalize_dtype(bool) == dtypes.bool_


def test_examples(x32_only):
    """The cases a reader checks first."""
    rt = lambda *a: dtypes.result_type(*a, return_weak_type_flag=True)
    assert rt(np.zeros(3, np.int32), 1.0) == (dtypes.float32, True)  # the join is f*: weak
    assert rt(np.zeros(3, np.uint8), 1) == (dtypes.uint8, False)
    assert rt(dtypes.bfloat16, 1.0) == (dtypes.bfloat16, False)
    assert rt(dtypes.bfloat16, dtypes.float16) == (dtypes.float32, False)
    assert rt(dtypes.int8, dtypes.uint8) == (dtypes.int16, False)
    assert rt(1.0, 1) == (dtypes.float32, True)
    assert rt(1) == (dtypes.int32, True)
    assert rt(True, 1) == (dtypes.int32, True)
    assert rt(True) == (dtypes.bool_, False)
    assert rt(None) == (dtypes.float32, False)
    assert rt(np.float64(1.0)) == (dtypes.float32, False)  # a NumPy scalar is strong
    assert rt(weak_array(dtypes.uint8), weak_array(dtypes.uint8)) == (dtypes.uint32, True)
    assert dtypes.lattice_result_type(weak_array(dtypes.uint8), 1) == (dtypes.int32, True)


def test_x64_examples(x64_only):
    rt = lambda *a: dtypes.result_type(*a, return_weak_type_flag=True)
    assert rt(dtypes.int64, dtypes.uint64) == (dtypes.float64, True)  # weak!
    assert rt(dtypes.uint32, dtypes.int32) == (dtypes.int64, False)
    assert rt(1) == (dtypes.int64, True)


def test_x64_arrays_keep_their_dtype_until_promoted(x32_only):
    assert dtypes.dtype_and_weak(weak_array(dtypes.int64)) == (dtypes.int64, True)
    assert dtypes.dtype_and_weak(np.zeros(2, np.int64)) == (dtypes.int32, False)
    assert dtypes.result_type(types.SimpleNamespace(dtype=dtypes.int64)) == dtypes.int32


def test_weak_flags(x32_only):
    assert dtypes.is_weakly_typed(1) and dtypes.is_weakly_typed(1.0) and dtypes.is_weakly_typed(1j)
    assert not dtypes.is_weakly_typed(True)
    assert not dtypes.is_weakly_typed(np.float32(1)) and not dtypes.is_weakly_typed(np.zeros(2))
    assert dtypes.is_weakly_typed(weak_array(dtypes.float16))
    assert dtypes.dtype_and_weak(True) == (dtypes.bool_, False)
    assert dtypes.dtype_and_weak(int) == (dtypes.int32, True)
    assert dtypes.dtype_and_weak(types.SimpleNamespace(dtype=dtypes.uint16)) == (dtypes.uint16, False)
    assert dtypes.dtype_and_weak([1, 2]) == (dtypes.int32, False)


@pytest.mark.parametrize("dtype", ["U5", object, "datetime64[s]"])
def test_other_unsupported_dtypes_name_themselves_and_the_supported_ones(dtype):
    with pytest.raises(TypeError, match=re.escape(f"Dtype {np.dtype(dtype)}") + r" is not a valid irax array type.*bfloat16"):
        dtypes.canonicalize_dtype(dtype)


def test_no_arguments():
    with pytest.raises(ValueError, match="at least one array or dtype is required"):
        dtypes.result_type()


def test_names_and_kinds():
    assert dtypes.SUPPORTED == tuple(dtypes.SHORT_NAMES.values())
    assert all(isinstance(dt, np.dtype) for dt in dtypes.SUPPORTED)
    mlir = {"bool": "i1", "i8": "i8", "i16": "i16", "i32": "i32", "i64": "i64", "u8": "i8", "u16": "i16",
            "u32": "i32", "u64": "i64", "f16": "f16", "bf16": "bf16", "f32": "f32", "f64": "f64",
            "c64": "complex<f32>", "c128": "complex<f64>",
            **{dt.name: "i8" for dt in dtypes.BIT_FLOATS}}  # their bit patterns (ir/float8.py)
    assert {short: dtypes.to_mlir_name(dt) for short, dt in dtypes.SHORT_NAMES.items()} == mlir
    assert [n for n, dt in dtypes.SHORT_NAMES.items() if dtypes.is_float(dt)] == [
        "f16", "bf16", "f32", "f64", *(dt.name for dt in dtypes.BIT_FLOATS)]
    assert [n for n, dt in dtypes.SHORT_NAMES.items() if dtypes.is_unsigned(dt)] == ["u8", "u16", "u32", "u64"]
    assert [n for n, dt in dtypes.SHORT_NAMES.items() if dtypes.is_int(dt)] == [
        "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"]
    assert [n for n, dt in dtypes.SHORT_NAMES.items() if dtypes.is_bool(dt)] == ["bool"]
    assert not dtypes.is_float(np.complex64)


SCALAR_TYPES = [dt.name for dt in dtypes.SUPPORTED]
ABSTRACT_TYPES = ["generic", "number", "integer", "signedinteger", "unsignedinteger", "inexact", "floating",
                  "complexfloating"]


def test_scalar_types_stand_for_their_dtypes_as_in_jax(jax):
    """jnp.float32 and its siblings are classes, as JAX's are, that compare,
    hash, convert and subtype as their dtypes."""
    import irax.numpy as jnp

    for name in SCALAR_TYPES:
        ours, theirs = getattr(jnp, name), getattr(jax.numpy, name)
        assert repr(ours) == repr(theirs).replace("jax", "irax") == f"<class 'irax.numpy.{name}'>"
        assert isinstance(ours, type) and ours.dtype == theirs.dtype and isinstance(ours.dtype, np.dtype)
        assert np.dtype(ours) == jnp.dtype(ours) == np.dtype(name)
        assert ours == theirs.dtype and np.dtype(name) == ours and ours == theirs.dtype.type and ours != "float32"
        assert hash(ours) == hash(theirs)
        assert dtypes.canonicalize_dtype(ours) == jax.dtypes.canonicalize_dtype(theirs)
        assert dtypes.promote_types(ours, dtypes.int8) == jax.numpy.promote_types(theirs, jax.numpy.int8)
        scalar = np.zeros((), name)[()]
        assert isinstance(scalar, ours) == isinstance(scalar, theirs) == True  # noqa: E712
        for other in ABSTRACT_TYPES + SCALAR_TYPES:
            for a in (ours, ours.dtype):
                b = getattr(jnp, other)
                want = jax.numpy.issubdtype(theirs, getattr(jax.numpy, other))
                assert jnp.issubdtype(a, b) == want, (name, other)
    for alias in ("bool", "int_", "uint", "float_", "double", "single"):
        assert repr(getattr(jnp, alias)) == repr(getattr(jax.numpy, alias)).replace("jax", "irax")
    assert all(getattr(jnp, name) is getattr(np, name) for name in ABSTRACT_TYPES)
    assert jnp.issubdtype(jnp.bfloat16, jnp.floating)  # its NumPy scalar type is no np.floating


@pytest.mark.parametrize("name", SCALAR_TYPES)
def test_calling_a_scalar_type_converts_as_in_jax(jax, name):
    """Host values: no compile (irax makes arrays of them on the host)."""
    import irax.numpy as jnp

    for value in (3, 2.5, True, [0, 1], np.array([1.5, 0.25], np.float32)):
        ours, theirs = getattr(jnp, name)(value), getattr(jax.numpy, name)(value)
        assert (ours.shape, ours.dtype, ours.weak_type) == (theirs.shape, theirs.dtype, theirs.weak_type), value
        ours, theirs = np.asarray(ours), np.asarray(theirs)
        if dtypes.is_bit_float(ours.dtype):  # NumPy's comparison does not see ml_dtypes' NaNs as NaNs
            ours, theirs = ours.view(np.uint8), theirs.view(np.uint8)
        np.testing.assert_array_equal(ours, theirs)


def test_calling_a_scalar_type_converts_arrays_eagerly_and_under_jit(jax):
    import irax
    import irax.numpy as jnp

    x, jx = jnp.arange(3.0) - 1.5, jax.numpy.arange(3.0) - 1.5
    for ours, theirs in ((jnp.int32(x), jax.numpy.int32(jx)),
                         (irax.jit(jnp.int32)(x), jax.jit(jax.numpy.int32)(jx)),
                         (irax.jit(lambda x: jnp.float32(x > 0))(x), jax.jit(lambda x: jax.numpy.float32(x > 0))(jx))):
        assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_itemsize_bits_and_scalar_type_of_match_jax():
    """jax.dtypes' two queries, missing before: bits per element (4 for int4) and a value's Python scalar type."""
    import ml_dtypes

    import irax
    import irax.numpy as jnp

    jax = pytest.importorskip("jax")

    for dtype in (np.float32, np.int8, np.bool_, ml_dtypes.int4, ml_dtypes.bfloat16, np.complex64, "float16",
                  ml_dtypes.float8_e4m3fn, np.uint32):
        assert irax.dtypes.itemsize_bits(dtype) == jax.dtypes.itemsize_bits(dtype), dtype
    for value in (True, 3, 1.5, 2j, np.uint8(3), np.ones(2, ml_dtypes.bfloat16), np.ones(2, ml_dtypes.int4)):
        assert irax.dtypes.scalar_type_of(value) is jax.dtypes.scalar_type_of(value), value
    assert irax.dtypes.scalar_type_of(jnp.ones(2, np.int8)) is int
