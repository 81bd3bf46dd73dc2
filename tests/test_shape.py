"""Shape functions: values against NumPy, dtypes, weak types and errors against JAX.

Shape ops are exact, so values must match bit for bit. Each distinct shape,
dtype and parameter set is an IREE compile (~0.3 s), so the cases share a few
small shapes.
"""
import ml_dtypes
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.frontend import eager

jax = pytest.importorskip("jax")
jjnp = jax.numpy

bf16 = ml_dtypes.bfloat16


def data(shape, dtype=np.float32):
    """Distinct-ish values (bools alternate) so misplaced elements show."""
    values = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    return np.asarray((values % 2 == 1) if np.dtype(dtype) == np.bool_ else (values % 97).astype(dtype))


def _map(fn, args):
    """Apply `fn` to every NumPy array inside (lists and tuples of) arguments."""
    if isinstance(args, (list, tuple)) and any(isinstance(a, (np.ndarray, list, tuple)) for a in args):
        return type(args)(_map(fn, a) for a in args)
    return fn(args) if isinstance(args, (np.ndarray, np.generic)) else args


def _outputs(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def check(name, *args, np_fn=None, **kwargs):
    """irax.numpy.<name> against NumPy (values) and jax.numpy (shape, dtype, weak type)."""
    got = getattr(jnp, name)(*_map(jnp.asarray, args), **kwargs)
    want = (np_fn or getattr(np, name))(*args, **kwargs)
    oracle = getattr(jjnp, name)(*_map(jjnp.asarray, args), **kwargs)
    got, want, oracle = _outputs(got), _outputs(want), _outputs(oracle)
    assert len(got) == len(want) == len(oracle)
    for g, w, o in zip(got, want, oracle):
        assert (g.shape, g.dtype, g.weak_type) == (o.shape, o.dtype, o.weak_type)
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w).astype(g.dtype))
    return got


# ---------------------------------------------------------------------------
# reshape and its relatives

@pytest.mark.parametrize("shape, new_shape, dtype", [
    ((2, 3), (3, 2), np.float32),        # neither a merge nor a split of dims
    ((2, 3), (-1,), np.float32),         # collapse
    ((6,), (2, -1), np.int32),           # expand
    ((2, 3, 4), (4, 6), np.float32),     # general
    ((2, 3, 4), (2, 1, 12, 1), bf16),    # collapse with unit dims
    ((), (1, 1), np.int32),              # 0-d to 2-d
    ((1, 1), (), np.bool_),
    ((0, 3), (3, 0), np.float32),        # empty
    ((0, 3), (-1,), np.float32),
    ((4,), (2, 2), np.bool_),
    ((4,), (2, 2), np.uint8),
])
def test_reshape(shape, new_shape, dtype):
    check("reshape", data(shape, dtype), new_shape)


def test_a_split_that_leaves_a_unit_dim_nothing_to_merge_with():
    """(64, 4, 1) -> (4, 4, 4, 4): every target dim is used before the
    trailing unit dim, which no single expand_shape can split. The reshape
    emitted one with an empty group, which MLIR refused ('reassociation
    indices must not be empty': MLIRError at the call). Now it flattens first."""
    x = data((64, 4, 1))
    f = irax.jit(lambda z: (z * 2).reshape(4, 4, 4, 4))
    np.testing.assert_array_equal(np.asarray(f(x)), (x * 2).reshape(4, 4, 4, 4))


def test_reshape_method_forms_and_identity():
    a = data((2, 3))
    x = jnp.asarray(a)
    for out in (x.reshape(3, 2), x.reshape((3, 2)), x.reshape([3, -1]), jnp.reshape(x, (-1, 2))):
        np.testing.assert_array_equal(np.asarray(out), a.reshape(3, 2))
    assert jnp.reshape(x, (2, 3)) is x and x.reshape(2, -1) is x  # no kernel for a no-op
    out = jnp.reshape(3, (1,))
    assert out.shape == (1,) and out.weak_type and out.dtype == np.int32


@pytest.mark.parametrize("new_shape", [(4, 2), (-1, -1), (-1, 4), (-2, 3), (-2, -3), (7,), ()])
def test_reshape_errors_are_type_errors_as_in_jax(new_shape):
    with pytest.raises(TypeError):
        jjnp.reshape(jjnp.zeros((2, 3)), new_shape)
    with pytest.raises(TypeError, match="reshape|unknown axis"):
        jnp.reshape(jnp.asarray(np.zeros((2, 3), np.float32)), new_shape)


def test_reshape_bad_arguments():
    x = jnp.asarray(data((2, 3)))
    with pytest.raises(TypeError):
        jnp.reshape([1, 2], (2,))  # lists are not arrays, as in JAX
    with pytest.raises(TypeError, match="integer"):
        jnp.reshape(x, (2.0, 3))


def test_ravel_and_flatten():
    a = data((2, 3))
    check("ravel", a)
    check("ravel", data((), np.int32))
    np.testing.assert_array_equal(np.asarray(jnp.asarray(a).flatten()), a.flatten())
    np.testing.assert_array_equal(np.asarray(jnp.flatten(jnp.asarray(a))), a.flatten())
    out = jnp.ravel(3)
    assert out.shape == (1,) and out.weak_type


@pytest.mark.parametrize("shape, axis", [((1, 2, 1), None), ((1, 2, 1), 0), ((1, 2, 1), (-1, 0)), ((1, 1), None), ((2, 3), ())])
def test_squeeze(shape, axis):
    check("squeeze", data(shape), axis)


def test_squeeze_method_and_errors():
    a = data((1, 3))
    np.testing.assert_array_equal(np.asarray(jnp.asarray(a).squeeze()), a.squeeze())
    x = jnp.asarray(data((2, 3)))
    assert x.squeeze() is x
    with pytest.raises(ValueError, match="size not equal to one"):
        jnp.squeeze(x, 1)
    with pytest.raises(ValueError, match="out of bounds"):
        jnp.squeeze(x, 5)
    with pytest.raises(ValueError):
        jnp.squeeze(jnp.asarray(data((1, 2, 1))), (0, 0))


@pytest.mark.parametrize("shape, axis", [((2, 3), 0), ((2, 3), -1), ((2, 3), (0, -1)), ((), 0), ((0,), (0, 2))])
def test_expand_dims(shape, axis):
    check("expand_dims", data(shape), axis)


def test_expand_dims_errors():
    x = jnp.asarray(data((2, 3)))
    for axis in (3, -4, (0, 4)):
        with pytest.raises(ValueError, match="out of bounds"):
            jnp.expand_dims(x, axis)
    with pytest.raises(ValueError, match="duplicate"):
        jnp.expand_dims(x, (0, 0))


@pytest.mark.parametrize("name, ndim", [("atleast_1d", 1), ("atleast_2d", 2), ("atleast_3d", 3)])
def test_atleast(name, ndim):
    for shape in [(), (3,), (2, 3), (2, 3, 1, 1)]:
        check(name, data(shape))
    out = getattr(jnp, name)(1.0)
    assert out.shape == (1,) * ndim and out.weak_type
    many = check(name, data((2,)), data(()))
    assert len(many) == 2


# ---------------------------------------------------------------------------
# transposes

@pytest.mark.parametrize("shape, axes, dtype", [
    ((2, 3, 4), (2, 0, 1), np.float32),
    ((2, 3, 4), (-1, 0, 1), np.float32),
    ((2, 3, 4), None, np.float32),
    ((2, 3), None, np.bool_),
    ((2, 3), (1, 0), bf16),
    ((0, 3), None, np.int32),
])
def test_transpose(shape, axes, dtype):
    check("transpose", data(shape, dtype), axes)


def test_transpose_methods():
    a = data((2, 3, 4))
    x = jnp.asarray(a)
    for out, want in [(x.T, a.T), (x.transpose(), a.transpose()), (x.transpose(2, 0, 1), a.transpose(2, 0, 1)),
                      (x.transpose((2, 0, 1)), a.transpose(2, 0, 1)), (x.transpose(None), a.T), (x.mT, np.swapaxes(a, -1, -2))]:
        np.testing.assert_array_equal(np.asarray(out), want)
    v = jnp.asarray(data((3,)))
    assert v.T is v and jnp.transpose(v) is v and x.transpose(0, 1, 2) is x


def test_transpose_kernel_serves_every_size():
    """Transposes are compiled with dynamic dims: a new size compiles nothing."""
    jnp.transpose(jnp.asarray(data((2, 3, 5))), (1, 2, 0))
    before = len(eager._kernels)
    out = jnp.transpose(jnp.asarray(data((4, 7, 6))), (1, 2, 0))
    np.testing.assert_array_equal(np.asarray(out), data((4, 7, 6)).transpose(1, 2, 0))
    assert len(eager._kernels) == before


def test_transpose_errors():
    x = jnp.asarray(data((2, 3)))
    for axes in [(0, 0), (0,), (1,)]:
        with pytest.raises(TypeError, match="permutation"):
            jnp.transpose(x, axes)
    with pytest.raises(ValueError, match="out of bounds"):
        jnp.transpose(x, (0, 2))


def test_swapaxes_moveaxis_matrix_transpose():
    a = data((2, 3, 4))
    check("swapaxes", a, 0, 2)
    check("swapaxes", a, -1, 1)
    check("moveaxis", a, 0, -1)
    check("moveaxis", a, (0, 1), (1, 0))
    check("moveaxis", a, (0, 2), (2, 0))
    check("matrix_transpose", a)
    x = jnp.asarray(a)
    assert jnp.swapaxes(x, 1, 1) is x and jnp.moveaxis(x, 0, 0) is x
    with pytest.raises(ValueError, match="Inconsistent"):
        jnp.moveaxis(x, (0, 1), (1,))
    with pytest.raises(ValueError, match="repeated"):
        jnp.moveaxis(x, (0, 1), (0, 0))
    with pytest.raises(ValueError, match="out of bounds"):
        jnp.moveaxis(x, 0, 3)
    with pytest.raises(ValueError, match="two-dimensional"):
        jnp.matrix_transpose(jnp.asarray(data((3,))))
    with pytest.raises(ValueError):  # JAX: IndexError; NumPy's AxisError is a ValueError
        jnp.swapaxes(x, 0, 3)


# ---------------------------------------------------------------------------
# broadcasting, tile, repeat

@pytest.mark.parametrize("shape, target, dtype", [
    ((3,), (2, 3), np.float32),
    ((2, 1), (2, 3), np.float32),
    ((2, 1, 1), (4, 2, 1, 3), np.int32),
    ((), (2,), np.bool_),
    ((3,), (0, 3), bf16),
])
def test_broadcast_to(shape, target, dtype):
    check("broadcast_to", data(shape, dtype), target)


def test_broadcast_to_weak_identity_and_errors():
    out = jnp.broadcast_to(1.0, (2,))
    assert out.shape == (2,) and out.weak_type == jjnp.broadcast_to(1.0, (2,)).weak_type
    x = jnp.asarray(data((2, 3)))
    assert jnp.broadcast_to(x, (2, 3)) is x
    with pytest.raises(ValueError, match="Incompatible types for broadcasting"):
        jnp.broadcast_to(x, (3, 3))
    with pytest.raises(ValueError, match="Incompatible types for broadcasting"):
        jnp.broadcast_to(x, (-1, 3))
    with pytest.raises(ValueError, match="fewer dimensions"):
        jnp.broadcast_to(x, (3,))


def test_broadcast_arrays():
    check("broadcast_arrays", data((2, 1)), data((3,), np.int32))
    check("broadcast_arrays", data((2, 3)), 1)
    assert jnp.broadcast_arrays() == []
    with pytest.raises(ValueError, match="broadcast"):
        jnp.broadcast_arrays(jnp.asarray(data((2, 3))), jnp.asarray(data((4,))))


@pytest.mark.parametrize("shape, reps, dtype", [
    ((2, 3), 2, np.float32),
    ((2, 3), (2, 1, 1), np.float32),
    ((3,), (2, 2), np.bool_),
    ((), 3, np.int32),
    ((2, 3), (1, 1), np.float32),
    ((2, 3), (0, 2), bf16),
])
def test_tile(shape, reps, dtype):
    check("tile", data(shape, dtype), reps)


def test_tile_errors():
    with pytest.raises(ValueError, match="nonnegative"):
        jnp.tile(jnp.asarray(data((2,))), -1)
    with pytest.raises(TypeError, match="integer"):
        jnp.tile(jnp.asarray(data((2,))), 2.0)


@pytest.mark.parametrize("shape, repeats, axis, dtype", [
    ((2, 3), 2, None, np.float32),
    ((2, 3), 3, 1, np.float32),
    ((2, 3), 2, -2, bf16),
    ((2, 3), 0, 0, np.float32),
    ((2, 3), 1, 0, np.float32),
    ((), 2, None, np.bool_),
    ((2, 3), np.array([2]), 0, np.int32),
    ((2, 3), np.array([1, 0, 2]), 1, np.float32),
    ((2, 3), np.array([2, 2]), 0, np.float32),
])
def test_repeat(shape, repeats, axis, dtype):
    check("repeat", data(shape, dtype), repeats, axis=axis)


def test_repeat_from_lists_and_arrays():
    a = data((2, 3))
    x = jnp.asarray(a)
    for repeats in ([1, 0, 2], jnp.asarray(np.array([1, 0, 2], np.int32))):
        np.testing.assert_array_equal(np.asarray(jnp.repeat(x, repeats, axis=1)), np.repeat(a, [1, 0, 2], axis=1))
    np.testing.assert_array_equal(np.asarray(x.repeat(2)), a.repeat(2))


@pytest.mark.parametrize("shape, repeats, axis, total", [
    ((3,), [2, 0, 1], None, 4),     # longer than the sum: the last element taken again
    ((3,), [2, 2, 2], None, 4),     # shorter: cut
    ((3,), 2, None, 5),
    ((2, 3), [1, 2], 0, 3),
    ((2, 3), [3, 0, 1], 1, 2),
    ((2, 3), [1, 1], 0, 0),
    ((), 3, None, 3),
])
def test_repeat_to_a_total_length_like_jax(shape, repeats, axis, total):
    """total_repeat_length fixes the result's length, so repeats may be traced (jit)."""
    a = data(shape, np.int32)
    want = jjnp.repeat(a, np.asarray(repeats), axis=axis, total_repeat_length=total)
    for got in (jnp.repeat(jnp.asarray(a), jnp.asarray(repeats), axis=axis, total_repeat_length=total),
                irax.jit(lambda r: jnp.repeat(jnp.asarray(a), r, axis=axis, total_repeat_length=total))(
                    jnp.asarray(repeats))):
        assert (got.shape, got.dtype) == (want.shape, want.dtype)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_repeat_errors():
    x = jnp.asarray(data((2, 3)))
    with pytest.raises(ValueError, match="negative"):
        jnp.repeat(x, -1)
    with pytest.raises(ValueError, match="negative"):
        jnp.repeat(x, [1, -1], axis=0)
    with pytest.raises(ValueError, match="size 2"):
        jnp.repeat(x, [1, 2, 3], axis=0)
    with pytest.raises(TypeError, match="integer"):
        jnp.repeat(x, 2.0)
    with pytest.raises(ValueError, match="out of bounds"):
        jnp.repeat(x, 2, axis=2)
    # traced repeats under jit: JAX's ConcretizationTypeError, in its words (not NumPy's conversion error)
    with pytest.raises(irax.errors.ConcretizationTypeError, match="When jit-compiling jnp.repeat, the total "
                       "number of repeats must be static") as error:
        irax.jit(lambda r: jnp.repeat(x, r, axis=0))(jnp.array([1, 2]))
    assert not isinstance(error.value, irax.errors.TracerArrayConversionError)


# ---------------------------------------------------------------------------
# joining and splitting

@pytest.mark.parametrize("shapes, dtypes, axis", [
    ([(2, 3), (2, 4)], [np.float32, np.float32], 1),
    ([(1, 3), (2, 3), (0, 3)], [np.float32] * 3, 0),
    ([(2, 3), (2, 3)], [np.float32, np.float32], -2),
    ([(2,), (3,)], [np.int32, np.uint8], 0),          # promotes to int32
    ([(2,), (3,)], [bf16, np.float32], 0),            # promotes to float32
    ([(2,), (3,)], [np.bool_, np.bool_], 0),
    ([(2, 3), (4,)], [np.float32, np.float32], None),  # flattened
    ([(), ()], [np.int32, np.int32], None),
])
def test_concatenate(shapes, dtypes, axis):
    check("concatenate", [data(s, d) for s, d in zip(shapes, dtypes)], axis=axis)


def test_concatenate_weak_types_dtype_and_array_input():
    out = jnp.concatenate([jnp.asarray(data((2,), np.uint8)), jnp.asarray(np.array([3], np.int32))])
    assert out.dtype == jjnp.concatenate([data((2,), np.uint8), np.array([3], np.int32)]).dtype
    check("concatenate", [data((2,), np.float32), data((1,), np.int32)], dtype=np.int32,
          np_fn=lambda arrays, dtype: np.concatenate(arrays, dtype=dtype, casting="unsafe"))
    a = data((2, 3))
    check("concatenate", a)  # the rows of an array
    np.testing.assert_array_equal(np.asarray(jnp.concatenate(jnp.asarray(a), axis=0)), np.concatenate(a))


def test_concatenate_errors():
    x = jnp.asarray(data((2, 3)))
    with pytest.raises(ValueError, match="at least one"):
        jnp.concatenate([])
    with pytest.raises(TypeError, match="differ in dimensions other"):
        jnp.concatenate([x, jnp.asarray(data((3, 3)))], axis=1)
    with pytest.raises(TypeError, match="different numbers of dimensions"):
        jnp.concatenate([x, jnp.asarray(data((2,)))])
    with pytest.raises(ValueError, match="Zero-dimensional"):
        jnp.concatenate([1, 2])
    with pytest.raises(ValueError, match="out of bounds"):
        jnp.concatenate([x, x], axis=2)
    with pytest.raises(TypeError):
        jnp.concatenate([[1, 2], [3]])  # lists are not arrays, as in JAX


def test_stack():
    a, b = data((2, 3)), data((2, 3)) + 1
    check("stack", [a, b])
    check("stack", [a, b], axis=-1)
    check("stack", [1, 2.0])  # weak scalars stay weak
    check("stack", [data((), bf16), data((), np.float32)])
    check("stack", data((2, 3)), axis=1)  # the rows of an array
    with pytest.raises(ValueError, match="same shape"):
        jnp.stack([jnp.asarray(a), jnp.asarray(data((3, 2)))])
    with pytest.raises(ValueError, match="at least one"):
        jnp.stack([])
    with pytest.raises(ValueError, match="out of bounds"):
        jnp.stack([jnp.asarray(a)], axis=3)


def test_hstack_vstack():
    for args in ([data((2,)), data((3,))], [data((2, 1)), data((2, 3))], [1, 2], [data(()), data(())]):
        check("hstack", args)
    for args in ([data((3,)), data((3,))], [data((1, 3)), data((2, 3))], [1, 2]):
        check("vstack", args)
    check("hstack", data((2, 3)))


@pytest.mark.parametrize("shape, split, axis", [
    ((6,), 3, 0),
    ((6,), [1, 4], 0),
    ((6,), [2, 2], 0),   # an empty piece
    ((2, 6), [4], 1),
    ((2, 6), 1, -1),
    ((0, 2), 2, 1),
    ((2, 3), [3], 1),    # an empty piece at the end
])
def test_split(shape, split, axis):
    check("split", data(shape), split, axis=axis)


def test_split_errors():
    x = jnp.asarray(data((6,)))
    with pytest.raises(ValueError, match="equal division"):
        jnp.split(x, 4)
    for indices in ([4, 1], [-2], [10]):
        with pytest.raises(ValueError, match="nonnegative"):
            jnp.split(x, indices)
    with pytest.raises(ValueError, match="out of bounds"):
        jnp.split(x, 2, axis=1)
    with pytest.raises(ValueError, match="larger than 0"):
        jnp.split(x, 0)


# ---------------------------------------------------------------------------
# flip and pad

@pytest.mark.parametrize("shape, axis, dtype", [
    ((2, 3, 4), None, np.float32),
    ((2, 3, 4), 1, np.float32),
    ((2, 3, 4), (0, -1), np.int32),
    ((5,), None, np.bool_),
    ((5,), 0, bf16),
    ((0, 3), 1, np.float32),
    ((), None, np.float32),
])
def test_flip(shape, axis, dtype):
    check("flip", data(shape, dtype), axis)


def test_flip_of_a_strided_slice_under_jit():
    """The flip gathered from a strided view fused into its dispatch: IREE
    3.13 failed to translate it to LLVM (found by a fuzzer)."""
    k = np.arange(8, dtype=np.float32)
    np.testing.assert_array_equal(irax.jit(lambda k: jnp.flip(k[::2]))(k), np.flip(k[::2]))


def test_flip_errors():
    x = jnp.asarray(data((2, 3)))
    with pytest.raises(ValueError, match="out of bounds"):
        jnp.flip(x, 2)
    with pytest.raises(TypeError, match="unique"):
        jnp.flip(x, (0, 0))


@pytest.mark.parametrize("shape, pad_width, kwargs, dtype", [
    ((2, 3), 1, {}, np.float32),
    ((2, 3), ((1, 2), (0, 3)), {"constant_values": 7}, np.float32),
    ((2, 3), (1, 2), {"constant_values": ((1, 2), (3, 4))}, np.float32),  # one value per side
    ((2, 3), [[2, 0]], {"constant_values": (5,)}, np.int32),
    ((2, 3), 1, {"constant_values": 1.5}, np.int32),  # cast to the array's dtype
    ((4,), (1, 2), {"constant_values": True}, np.bool_),
    ((4,), 2, {"constant_values": 2.5}, bf16),
    ((0, 2), 1, {}, np.float32),
    ((0,), (1, 0), {"constant_values": 1}, np.int32),  # x empty, one border: just the border
    ((0, 2), ((0, 2), (1, 0)), {}, np.float32),
    ((), 3, {}, np.float32),
])
def test_pad_constant(shape, pad_width, kwargs, dtype):
    check("pad", data(shape, dtype), pad_width, **kwargs)


@pytest.mark.parametrize("mode", ["edge", "wrap", "reflect", "symmetric"])
def test_pad_modes(mode):
    check("pad", data((3, 4, 1)), ((2, 7), (0, 9), (1, 2)), mode=mode)  # pads wider than the array


@pytest.mark.parametrize("mode, kwargs", [
    ("maximum", {}), ("minimum", {}), ("mean", {}), ("median", {}),
    ("mean", {"stat_length": 2}), ("maximum", {"stat_length": ((1, 3),)}), ("median", {"stat_length": ((2, 1), (3, 2))}),
    ("linear_ramp", {}), ("linear_ramp", {"end_values": (10, -4)}), ("empty", {}),
    ("reflect", {"reflect_type": "odd"}), ("symmetric", {"reflect_type": "odd"}),
])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_pad_composed_modes_like_jax(mode, kwargs, dtype):
    """The modes composed of other ops (padding.py): values of NumPy and JAX,
    JAX's dtype and weak type; pads wider than the array chain reflections.
    float32 runs eagerly, int32 under jit: each eager op of a mode is an IREE
    compile per dtype (up to 20 for a mode), a jitted mode one."""
    a = (data((3, 4), dtype) * np.array([1, -3, 2, 5], dtype)) % 11
    widths = ((4, 2), (1, 6))
    pad = (lambda a: jnp.pad(a, widths, mode, **kwargs)) if dtype == np.float32 else \
        irax.jit(lambda a: jnp.pad(a, widths, mode, **kwargs))
    got, want = pad(jnp.asarray(a)), jjnp.pad(a, widths, mode, **kwargs)
    assert (got.shape, got.dtype, got.weak_type) == (want.shape, want.dtype, want.weak_type)
    # integer ramps are floors of float ramps, which JAX and NumPy round a little differently: 1 off at times
    atol = 1 if (mode == "linear_ramp" and dtype == np.int32) else 1e-6
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=atol)
    if mode != "empty":
        np.testing.assert_allclose(np.asarray(got), np.pad(a, widths, mode, **kwargs), rtol=1e-5, atol=atol)


def test_pad_with_a_function_like_jax():
    def border(row, width, axis, kwargs):
        row = row.at[:width[0]].set(kwargs.get("before", 0))
        return row.at[row.shape[0] - width[1]:].set(axis * 10 + 1)

    a = data((2, 3))
    got, want = jnp.pad(jnp.asarray(a), ((1, 2), (2, 1)), border, before=-1), jjnp.pad(a, ((1, 2), (2, 1)), border,
                                                                                       before=-1)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize("mode, kwargs", [("mean", {}), ("maximum", {"stat_length": 2}), ("linear_ramp", {}),
                                          ("reflect", {"reflect_type": "odd"})])
def test_pad_composed_modes_gradients(mode, kwargs):
    from tests.test_autodiff import numerical_grad
    weights = np.linspace(-1, 2, 9).astype(np.float32)
    f = lambda x: jnp.sum(jnp.pad(x, (2, 3), mode, **kwargs) * weights)
    x = np.array([0.3, 1.7, -0.4, 0.9], np.float32)
    got = np.asarray(irax.grad(f)(jnp.asarray(x)))
    np.testing.assert_allclose(got, numerical_grad(f, x), rtol=1e-2, atol=1e-3)
    np.testing.assert_allclose(got, jax.grad(lambda x: jjnp.sum(jjnp.pad(x, (2, 3), mode, **kwargs) * weights))(x),
                               rtol=1e-6)


@pytest.mark.parametrize("name", ["pad of a reshaped pad", "a value per side", "pads of other values"])
def test_padded_computed_values_under_jit_match_jax(name):
    """The first two failed IREE's compile when pad was an insert into a
    fill of an extracted scalar (the form that commit 657cc41 briefly gave
    it; a fuzzer found them); the third is pads of pads of other values of
    a computed array."""
    fn = {"pad of a reshaped pad": lambda np_: lambda m: np_.pad(np_.pad(m, [(0, 0), (0, 1)])[None],
                                                                   [(0, 0), (1, 0), (0, 0)]),
          "a value per side": lambda np_: lambda m: np_.pad(m * 2, [(0, 2), (1, 0)], constant_values=(1.0, 2.0)),
          "pads of other values": lambda np_: lambda m: np_.pad(np_.pad(np_.sin(m), 1, constant_values=2.0), 2,
                                                                constant_values=3.0)}[name]
    m = data((3, 4))
    np.testing.assert_allclose(irax.jit(fn(jnp))(m), jax.jit(fn(jjnp))(m), rtol=1e-6)  # (sin: an ulp)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_pad_differentiates_in_its_value(jit):
    """The borders were fills of a scalar read from the value, a constant to
    autodiff: the tangent in the value was 0 (JAX: the value's tangent in
    every padded element; each side's own with a value per side)."""
    x, values = data((2, 2)), np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    def f(np_, autodiff):
        return lambda v: autodiff.jvp(lambda v: np_.pad(x, 1, constant_values=v), (v,), (v * 2,))
    for v in (np.float32(-5.0), values):
        got, want = (irax.jit if jit else lambda g: g)(f(jnp, irax))(v), jax.jit(f(jjnp, jax))(v)
        np.testing.assert_array_equal(got[1], want[1])
    # reverse mode: d/dv sum(pad(x, v)) counts the padded elements (JAX's grad fails there)
    assert irax.grad(lambda v: jnp.sum(jnp.pad(x, [(1, 0), (0, 2)], constant_values=v)))(np.float32(0.5)) == 8.0


def test_pad_edge_of_empty_array_along_its_nonempty_axis():
    check("pad", data((0, 2)), ((0, 0), (1, 1)), mode="edge")


def test_pad_value_from_device_and_identity():
    x = jnp.asarray(data((2, 3)))
    values = jnp.asarray(np.array([[1, 2], [3, 4]], np.float32))
    want = np.pad(data((2, 3)), 1, constant_values=[[1, 2], [3, 4]])
    np.testing.assert_array_equal(np.asarray(jnp.pad(x, 1, constant_values=values)), want)
    assert jnp.pad(x, 0) is x


def test_pad_errors():
    x = jnp.asarray(data((2, 3)))
    with pytest.raises(ValueError, match="negative"):
        jnp.pad(x, -1)
    with pytest.raises(ValueError, match="unsupported shape"):
        jnp.pad(x, ((1, 2), (3, 4), (5, 6)))
    with pytest.raises(TypeError, match="integral"):
        jnp.pad(x, 1.5)
    with pytest.raises(NotImplementedError, match="foo"):
        jnp.pad(x, 1, mode="foo")
    with pytest.raises(ValueError, match="unsupported keyword"):
        jnp.pad(x, 1, mode="edge", constant_values=1)
    with pytest.raises(ValueError, match="constant_values has unsupported shape"):
        jnp.pad(x, 1, constant_values=(1, 2, 3))
    with pytest.raises(ValueError, match="empty axis"):
        jnp.pad(jnp.asarray(data((0, 2))), 1, mode="edge")


# ---------------------------------------------------------------------------
# Composition: a whole function traced into one module, and differentiated

def _chain(lib, x):
    """Shape ops that the autodiff pass differentiates, written once for NumPy and irax."""
    y = lib.transpose(lib.reshape(x, (3, 2)))                                   # (2, 3)
    y = lib.pad(y, ((1, 0), (2, 1)), constant_values=((1.0, 2.0), (3.0, 4.0)))  # (3, 6)
    y = lib.pad(y, 1)                                                           # (5, 8), a pad of a pad
    y = lib.concatenate([y, lib.broadcast_to(lib.split(y, [1])[0], (2, 8))], 0)  # (7, 8)
    left, right, _ = lib.split(y, [3, 6], axis=1)
    y = lib.stack([lib.tile(left, (1, 2)), lib.repeat(right, 2, axis=1)], axis=-1)  # (7, 6, 2)
    return lib.squeeze(lib.moveaxis(lib.expand_dims(y, 0), -1, 1), 0)          # (2, 7, 6)


def test_composed_shape_ops_value_and_grad():
    import irax

    a = data((2, 3))
    w = (np.arange(84, dtype=np.float64).reshape(2, 7, 6) % 11) / 4

    def f(x):
        return jnp.sum(_chain(jnp, x) * jnp.asarray(w.astype(np.float32)))

    def f_np(x):
        return (_chain(np, x) * w).sum()

    value, grad = irax.value_and_grad(f)(jnp.asarray(a))
    np.testing.assert_allclose(float(value), f_np(a.astype(np.float64)), rtol=1e-6)
    # f is affine in x, so its gradient is exact as f(e_i) - f(0)
    zero = np.zeros(a.shape)
    want = np.array([f_np(np.eye(a.size)[i].reshape(a.shape)) - f_np(zero) for i in range(a.size)]).reshape(a.shape)
    np.testing.assert_allclose(np.asarray(grad), want, rtol=1e-6)


@pytest.mark.parametrize("op", [lambda m, x: m.reshape(x, (3, 2), order="F"), lambda m, x: m.ravel(x, order="F"),
                                lambda m, x: x.reshape(3, -1, order="F"), lambda m, x: x.flatten(order="F"),
                                lambda m, x: m.reshape(x, (2, 1, 3), order="F")])
def test_column_major_order_as_jax(op):
    """(order='F' was a NotImplementedError.)"""
    jax = pytest.importorskip("jax")
    x = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(op(jnp, jnp.asarray(x)), op(jax.numpy, jax.numpy.asarray(x)))


@pytest.mark.parametrize("order", ["A", "K", "X"])
def test_other_orders_raise_as_jax(order):
    jax = pytest.importorskip("jax")
    for fn in ("reshape", "ravel"):
        errors = []
        for m in (jnp, jax.numpy):
            with pytest.raises((NotImplementedError, ValueError)) as raised:
                m.reshape(m.arange(6), (2, 3), order=order) if fn == "reshape" else m.ravel(m.arange(6), order=order)
            errors.append((type(raised.value), str(raised.value)))
        assert errors[0] == errors[1]
