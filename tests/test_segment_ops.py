"""irax.ops (segment_sum/prod/max/min) against jax.ops: values, dtypes and
identity fills, out-of-range ids, modes and buckets, jit and vmap, JAX's
errors, and derivatives (reverse and forward) against JAX and central
differences. One data shape (5, 2) and one id shape (5,) throughout."""
import numpy as np
import pytest

import irax
from helpers import check_central_differences
from irax import ops

jax = pytest.importorskip("jax")
jops = jax.ops

rng = np.random.default_rng(0)
DATA = rng.uniform(0.5, 2, (5, 2)).astype(np.float32)  # distinct values: no ties, products stay near 1
IDS = np.array([0, 2, 0, -1, 7], np.int32)              # repeated, negative and too big (both dropped), 1 empty
GRAD_IDS = np.array([1, 2, 1, -1, 0], np.int32)         # every segment named (no infinite max/min)
UNIQUE_IDS = np.array([2, 0, -1, 1, 5], np.int32)
NAMES = ["segment_sum", "segment_prod", "segment_max", "segment_min"]


def same(ours, theirs):
    theirs = np.asarray(theirs)
    assert (ours.shape, ours.dtype) == (theirs.shape, theirs.dtype)
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-6)


def test_exported_as_jax_ops():
    assert "ops" in irax.__all__ and irax.ops is ops
    assert sorted(ops.__all__) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kwargs", [{}, {"num_segments": 3}, {"num_segments": 3, "mode": "clip"},
                                    {"num_segments": 3, "mode": irax.lax.GatherScatterMode.CLIP},
                                    {"num_segments": 3, "bucket_size": 2}, {"num_segments": np.int64(4)}])
def test_values_match_jax(name, kwargs):
    """Rows summed/multiplied/... per segment along axis 0, ids outside
    [0, n) dropped (clamped with mode "clip"), max(ids) + 1 segments by default."""
    jax_kwargs = {**kwargs, "mode": "clip"} if "mode" in kwargs else kwargs
    same(getattr(ops, name)(DATA, IDS, **kwargs), getattr(jops, name)(DATA, IDS, **jax_kwargs))


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.bool_])
@pytest.mark.parametrize("name", NAMES)
def test_identity_fills_per_dtype(name, dtype):
    """An empty segment holds the identity: 0, 1, the dtype's smallest/largest
    integer (False/True for bool); bool has no sum or product (JAX's TypeError)."""
    data = (DATA * 3).astype(dtype)
    if dtype == np.bool_ and name in ("segment_sum", "segment_prod"):
        for module in (ops, jops):
            with pytest.raises(TypeError):
                getattr(module, name)(data, IDS, 4)
        return
    same(getattr(ops, name)(data, IDS, 4), getattr(jops, name)(data, IDS, 4))


def test_jit_and_vmap_match_jax():
    for name in NAMES:
        ours, theirs = getattr(ops, name), getattr(jops, name)
        same(irax.jit(ours, static_argnums=2)(DATA, IDS, 3), theirs(DATA, IDS, 3))
        ids = np.stack([IDS, GRAD_IDS])
        same(irax.vmap(lambda i: ours(DATA, i, 3))(ids), jax.vmap(lambda i: theirs(DATA, i, 3))(ids))
        same(irax.vmap(lambda d: ours(d, IDS, 3), in_axes=1)(DATA),
             jax.vmap(lambda d: theirs(d, IDS, 3), in_axes=1)(DATA))


@pytest.mark.parametrize("call, error", [
    (lambda m, j: j(lambda d, i: m.segment_sum(d, i))(DATA, IDS), "ConcretizationTypeError"),
    (lambda m, j: j(lambda d, i, n: m.segment_max(d, i, n))(DATA, IDS, 3), "ConcretizationTypeError"),
    (lambda m, j: m.segment_sum(DATA, IDS, -1), ValueError),
    (lambda m, j: m.segment_sum(DATA, IDS, 3.0), TypeError),
    (lambda m, j: m.segment_sum(DATA, list(IDS), 3), TypeError),
    (lambda m, j: m.segment_sum(DATA, IDS.astype(np.float32), 3), TypeError),
    (lambda m, j: m.segment_sum(DATA, IDS[:0]), ValueError),  # max of no ids
    (lambda m, j: m.segment_sum(DATA, IDS, 3, mode="wrap"), ValueError),
])
def test_errors_match_jax(call, error):
    """The number of segments sizes the result: under jit it must be static."""
    for module, errors, jit in ((ops, irax.errors, irax.jit), (jops, jax.errors, jax.jit)):
        expected = getattr(errors, error) if isinstance(error, str) else error
        with pytest.raises(expected) as info:
            call(module, jit)
        if expected is irax.errors.ConcretizationTypeError:
            assert "num_segments" in str(info.value)


def _weighted(module, name, ids, **kwargs):
    """Σ w * segment_op(data): a scalar whose gradient is every row's share."""
    weights = np.arange(1, 7, dtype=np.float32).reshape(3, 2)
    return lambda data: (getattr(module.ops, name)(data, ids, 3, **kwargs) * weights).sum()


@pytest.mark.parametrize("name, ids, kwargs", [
    ("segment_sum", GRAD_IDS, {}), ("segment_max", GRAD_IDS, {}), ("segment_min", GRAD_IDS, {}),
    ("segment_sum", GRAD_IDS, {"bucket_size": 2}),
    ("segment_prod", UNIQUE_IDS, {"unique_indices": True}),  # JAX's product scatter has a derivative only then
])
def test_gradients_match_jax_and_finite_differences(name, ids, kwargs):
    """Reverse mode eager, under jit and under vmap; forward mode (jvp) with a
    tangent of ones: the same as JAX's and as central differences."""
    ours, theirs = _weighted(irax, name, ids, **kwargs), _weighted(jax, name, ids, **kwargs)
    expected = np.asarray(jax.grad(theirs)(DATA))
    for grad in (irax.grad(ours), irax.jit(irax.grad(ours))):
        same(grad(DATA), expected)
    same(irax.vmap(irax.grad(ours))(np.stack([DATA, DATA])), np.stack([expected, expected]))
    ones = np.ones_like(DATA)
    value, tangent = irax.jvp(ours, (DATA,), (ones,))
    same(tangent, jax.jvp(theirs, (DATA,), (ones,))[1])
    np.testing.assert_allclose(float(tangent), expected.sum(), rtol=1e-5)
    check_central_differences({"x": irax.grad(ours)(DATA)}, irax.jit(lambda p: {"x": ours(p["x"])}),
                               {"x": DATA}, DATA.shape)


@pytest.mark.parametrize("name", ["segment_max", "segment_min"])
def test_tied_extremes_share_the_gradient(name):
    data = np.array([[1, 1], [2, 2], [1, 3], [-1, 2], [0, 0]], np.float32)
    ids = np.array([0, 1, 0, 1, 2], np.int32)
    same(irax.grad(_weighted(irax, name, ids))(data), jax.grad(_weighted(jax, name, ids))(data))


def test_product_of_repeated_ids_has_no_gradient_as_in_jax():
    for module in (irax, jax):
        with pytest.raises(NotImplementedError):
            module.grad(_weighted(module, "segment_prod", GRAD_IDS))(DATA)
