"""irax.nn and irax.scipy.special: values against NumPy formulas, dtypes and
errors against jax.nn."""
import ml_dtypes
import numpy as np
import pytest

import irax.nn as nn
import irax.numpy as jnp
import irax.scipy.special as special
from irax.frontend.array import Array
from irax.frontend.core import ShapedArray, Trace
from irax.frontend.numpy.util import asarray

jax = pytest.importorskip("jax")
jnn = jax.nn

rng = np.random.default_rng(0)
X = (rng.normal(size=(3, 4)) * 4).astype(np.float32)
X[0, 0], X[1, 1] = 30.0, -30.0  # far tails: overflow would show here


def check(actual, expected, tol=2e-6):
    expected = np.asarray(expected)
    assert isinstance(actual, Array)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(np.asarray(actual).astype(np.float64), expected.astype(np.float64), rtol=tol, atol=tol)


def _logsumexp(x, axis=None, keepdims=False):
    x = x.astype(np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax(x, axis=-1):
    e = np.exp(x.astype(np.float64) - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _erf(x):
    return np.vectorize(__import__("math").erf)(x)


NUMPY = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x.astype(np.float64))),
    "softplus": lambda x: np.logaddexp(x.astype(np.float64), 0),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x.astype(np.float64) ** 3))),
    "softmax": _softmax,
    "log_softmax": lambda x: np.log(_softmax(x)),
    "logsumexp": _logsumexp,
}


@pytest.mark.parametrize("name", sorted(NUMPY))
def test_values(name):
    check(getattr(nn, name)(asarray(X)), NUMPY[name](X))


@pytest.mark.parametrize("name, dtype", [
    ("softmax", np.float16), ("logsumexp", np.float16), ("gelu", np.float16), ("sigmoid", np.float16),
    ("log_softmax", ml_dtypes.bfloat16), ("softplus", ml_dtypes.bfloat16), ("relu", ml_dtypes.bfloat16),
])
def test_half_precision(name, dtype):
    x = X.astype(dtype)
    out = getattr(nn, name)(asarray(x))
    assert out.dtype == np.dtype(dtype)
    check(out, NUMPY[name](x.astype(np.float32)), 1e-2 if dtype == np.float16 else 6e-2)


def test_gelu_exact():
    check(nn.gelu(asarray(X), approximate=False), 0.5 * X * (1 + _erf(X / np.sqrt(2))), 1e-5)


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, True), ((-1, 0), False)])
def test_logsumexp_axes(axis, keepdims):
    out = special.logsumexp(asarray(X), axis=axis, keepdims=keepdims)
    check(out, _logsumexp(X, axis=axis, keepdims=keepdims))
    assert nn.logsumexp is special.logsumexp


def test_logsumexp_special_values():
    x = np.array([[-np.inf, -np.inf], [1.0, 2.0], [np.inf, 1.0], [np.nan, 2.0], [1e30, 1e30]], np.float32)
    ours = special.logsumexp(asarray(x), axis=-1)
    check(ours, np.asarray(jax.scipy.special.logsumexp(x, axis=-1)))
    assert np.isneginf(np.asarray(ours)[0])
    empty = special.logsumexp(asarray(np.zeros((0, 3), np.float32)), axis=0)
    check(empty, np.full(3, -np.inf, np.float32))
    check(special.logsumexp(asarray(np.float32(2.0))), 2.0)


@pytest.mark.parametrize("axis", [0, -1, (0, 1), None])
def test_softmax_axes(axis):
    out = nn.softmax(asarray(X), axis=axis)
    check(out, _softmax(X, axis=axis))
    check(nn.log_softmax(asarray(X), axis=axis), np.log(_softmax(X, axis=axis)), 1e-5)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # JAX casts -inf to int inside softmax
@pytest.mark.parametrize("name", sorted(NUMPY))
def test_dtypes_and_weak_types_match_jax(name):
    """Traced only (nothing compiled): output avals against jax.eval_shape."""
    for dtype, weak in [(np.float32, False), (np.float32, True), (np.float16, False), (np.int32, False),
                        (np.int32, True), (np.uint8, False)]:
        try:
            theirs = jax.eval_shape(getattr(jnn, name), jax.ShapeDtypeStruct((3, 4), dtype, weak_type=weak))
        except TypeError:
            with pytest.raises(TypeError):
                _traced(getattr(nn, name), ShapedArray((3, 4), dtype, weak))
            continue
        ours = _traced(getattr(nn, name), ShapedArray((3, 4), dtype, weak))
        assert (ours.shape, ours.dtype, ours.weak_type) == (theirs.shape, theirs.dtype, theirs.weak_type), (dtype, weak)


def _traced(fn, aval):
    trace = Trace()
    with trace.active():
        return fn(trace.new_argument(aval)).aval


def test_sigmoid_of_integers_is_a_type_error_as_in_jax():
    with pytest.raises(TypeError):
        jnn.sigmoid(np.arange(3, dtype=np.int32))
    with pytest.raises(TypeError, match="sigmoid"):
        nn.sigmoid(asarray(np.arange(3, dtype=np.int32)))


@pytest.mark.parametrize("dtype", [np.int32, np.uint8])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot(dtype, axis):
    x = np.array([[0, 2, 1], [3, 1, 0]], dtype)  # 3 is out of range: all zeros
    ours = nn.one_hot(asarray(x), 3, axis=axis)
    theirs = jnn.one_hot(x, 3, axis=axis)
    assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)
    check(ours, np.asarray(theirs), 0)


def test_one_hot_dtype_negative_and_bad_axis():
    x = np.array([-1, 0, 2, 255], np.int32)
    ours = nn.one_hot(asarray(x), 3, dtype=np.int8)
    assert ours.dtype == np.int8
    check(ours, np.asarray(jnn.one_hot(x, 3, dtype=np.int8)), 0)
    floats = nn.one_hot(asarray(np.array([0.0, 2.0, 1.5], np.float32)), 3)  # 1.5 is no class
    check(floats, np.asarray(jnn.one_hot(np.array([0, 2, -1]), 3)), 0)
    with pytest.raises(ValueError):
        jnn.one_hot(x, 3, axis=2)
    with pytest.raises(ValueError):
        nn.one_hot(asarray(x), 3, axis=2)


def test_relu_keeps_integers_and_weak_scalars():
    x = np.array([-2, 0, 3], np.int32)
    check(nn.relu(asarray(x)), np.maximum(x, 0), 0)
    ours, theirs = nn.relu(1.5), jnn.relu(1.5)
    assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)
    assert float(jnp.add(ours, 0)) == 1.5
