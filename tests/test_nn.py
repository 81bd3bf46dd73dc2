"""irax.nn and irax.scipy.special: values against NumPy formulas, dtypes and
errors against jax.nn."""
import ml_dtypes
import numpy as np
import pytest

import irax
import irax.nn as nn
import irax.numpy as jnp
import irax.scipy.special as special
from irax.frontend.array import Array
from irax.frontend.core import ShapedArray, Trace
from irax.frontend.numpy.util import asarray

from helpers import check_central_differences

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
    _avals_match_jax(name, [(np.float32, False), (np.float32, True), (np.float16, False), (np.int32, False),
                            (np.int32, True), (np.uint8, False)])


def _avals_match_jax(name, dtypes_and_weak_types):
    """Traced only (nothing compiled): output avals against jax.eval_shape."""
    for dtype, weak in dtypes_and_weak_types:
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
    with pytest.raises(TypeError) as expected:
        jnn.sigmoid(np.arange(3, dtype=np.int32))
    with pytest.raises(TypeError) as actual:
        nn.sigmoid(asarray(np.arange(3, dtype=np.int32)))
    assert str(actual.value) == str(expected.value)  # (lax.logistic's words: floating or complex)


def test_sigmoid_and_silu_of_complex_as_jax():
    """JAX's logistic takes complex x (1 / (1 + exp(-x))); irax raised a TypeError."""
    z = np.complex64([1 + 1j, -2 + 0.5j, 30, -30 + 3j])
    got = [nn.sigmoid(z), nn.silu(z), irax.grad(nn.sigmoid, holomorphic=True)(z[0])]
    want = [jnn.sigmoid(z), jnn.silu(z), jax.grad(jnn.sigmoid, holomorphic=True)(z[0])]
    for g, w in zip(got, want):
        assert g.dtype == w.dtype == np.complex64
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-6, atol=1e-12)


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
    with pytest.raises(TypeError) as theirs:
        jnn.one_hot(x, 3.0)
    with pytest.raises(TypeError) as ours:
        nn.one_hot(asarray(x), 3.0)
    assert str(ours.value) == str(theirs.value)


def test_relu_keeps_integers_and_weak_scalars():
    x = np.array([-2, 0, 3], np.int32)
    check(nn.relu(asarray(x)), np.maximum(x, 0), 0)
    ours, theirs = nn.relu(1.5), jnn.relu(1.5)
    assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)
    assert float(jnp.add(ours, 0)) == 1.5


# Every other jax.nn activation: values against jax.nn on one shared input.
ACTIVATIONS = ["celu", "elu", "glu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "identity", "leaky_relu",
               "log1mexp", "log_sigmoid", "mish", "relu6", "selu", "silu", "soft_sign", "sparse_plus",
               "sparse_sigmoid", "squareplus", "standardize", "swish", "tanh"]


def _input(name):
    return np.abs(X) + 0.1 if name == "log1mexp" else X  # log1mexp: log(1 - exp(-x)) for x > 0


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_match_jax(name):
    ours, theirs = getattr(nn, name)(asarray(_input(name))), getattr(jnn, name)(_input(name))
    assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)
    check(ours, np.asarray(theirs), 1e-6)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_dtypes_match_jax(name):
    _avals_match_jax(name, [(np.float32, True), (np.float16, False), (np.int32, False)])


def test_activation_gradients_match_jax_and_finite_differences():
    """All activations' gradients in one program (a dict of inputs), against
    jax.grad and central differences of one program of their values."""
    import irax
    weights = rng.normal(size=X.shape).astype(np.float32)
    names = ACTIVATIONS + ["relu", "gelu", "sigmoid", "softplus", "softmax", "log_softmax"]
    # off the kinks, and short of the tails, where GPU tanh is 1e-7 from ±1 (see conftest.DIFFERENCES);
    # GPU tanh saturates later: gelu'(-5.06) is -5e-6 on Vulkan, 0 in JAX
    points = {name: np.clip(np.where(np.abs(X) < 0.2, 0.5, _input(name)), -5.5, 5.5).astype(np.float32)
              for name in names}

    def weighted_sum(module, name, x):
        out = getattr(module, name)(x)
        return (out * weights[:, :out.shape[1]]).sum()  # glu halves the last axis

    def values(xs):
        return {name: weighted_sum(nn, name, x) for name, x in xs.items()}

    ours = irax.grad(lambda xs: sum(values(xs).values()))(points)
    for name in names:
        theirs = jax.grad(lambda v: weighted_sum(jnn, name, v))(points[name])
        np.testing.assert_allclose(np.asarray(ours[name]), np.asarray(theirs), rtol=2e-5, atol=1e-5, err_msg=name)
    check_central_differences(ours, irax.jit(values), points, X.shape)


@pytest.mark.parametrize("name", ["relu", "relu6"])
def test_relu_derivatives_at_the_kinks_are_jax_s(name):
    """0 at x = 0 (and 6), as jax.nn's custom rules say; a maximum's would be 1/2."""
    import irax
    x = np.array([[0.0, 6.0, -1.0, 3.0]], np.float32)
    ours = irax.grad(lambda v: jnp.sum(getattr(nn, name)(v)))(x)
    check(ours, np.asarray(jax.grad(lambda v: getattr(jnn, name)(v).sum())(x)), 0)


def test_where_and_axis_options_match_jax():
    where = X > -1
    for ours, theirs in [
        (nn.softmax(X, where=where), jnn.softmax(X, where=where)),
        (nn.log_softmax(X, axis=0, where=where), jnn.log_softmax(X, axis=0, where=where)),
        (nn.logmeanexp(X, axis=1), jnn.logmeanexp(X, axis=1)),
        (nn.logmeanexp(X, axis=0, where=where, keepdims=True), jnn.logmeanexp(X, axis=0, where=where, keepdims=True)),
        # (the "fast" variance cancels where one entry is 30: "stable" compares the masking)
        (nn.standardize(X, axis=0, where=where, algorithm="stable"),
         jnn.standardize(X, axis=0, where=where, algorithm="stable")),
        (nn.glu(X.T, axis=0), jnn.glu(X.T, axis=0)),
        (nn.gelu(X, approximate=False), jnn.gelu(X, approximate=False)),
        (nn.leaky_relu(X, 0.3), jnn.leaky_relu(X, 0.3)),
        (nn.celu(X, 2.0), jnn.celu(X, 2.0)),
        (nn.squareplus(X, 1.0), jnn.squareplus(X, 1.0)),
    ]:
        check(ours, np.asarray(theirs), 1e-5)
    with pytest.raises(ValueError, match="Unknown algorithm"):
        nn.standardize(X, algorithm="slow")
    with pytest.raises(ValueError, match="even"):
        nn.glu(X[:, :3])


# Attention: query (B, T, N, H) with N = 4 query heads over K = 2 key/value heads.
Q = rng.normal(size=(2, 5, 4, 8)).astype(np.float32)
KV = rng.normal(size=(2, 2, 6, 2, 8)).astype(np.float32)
BIAS = rng.normal(size=(2, 4, 5, 6)).astype(np.float32)
MASK = rng.uniform(size=(2, 1, 5, 6)) > 0.3
LENGTHS = dict(query_seq_lengths=np.array([3, 5], np.int32), key_value_seq_lengths=np.array([6, 4], np.int32))


@pytest.mark.parametrize("kwargs", [{}, dict(bias=BIAS, mask=MASK, is_causal=True),
                                    dict(scale=0.3, local_window_size=(1, 2), **LENGTHS)],
                         ids=["plain", "bias-mask-causal", "window-lengths"])
def test_dot_product_attention_matches_jax(kwargs):
    ours = nn.dot_product_attention(Q, KV[0], KV[1], **kwargs)
    check(ours, np.asarray(jnn.dot_product_attention(Q, KV[0], KV[1], **kwargs)), 1e-5)


def test_dot_product_attention_residual_gradients_and_errors():
    import irax
    out, residual = nn.dot_product_attention(Q, KV[0], KV[1], return_residual=True)
    theirs = jnn.dot_product_attention(Q, KV[0], KV[1], return_residual=True)
    check(out, np.asarray(theirs[0]), 1e-5)
    check(residual, np.asarray(theirs[1]), 1e-5)
    loss = lambda f, module: lambda q, k, v: (f(q, k, v, bias=BIAS, is_causal=True) * Q).sum()  # noqa: E731
    ours = irax.grad(loss(nn.dot_product_attention, jnp), argnums=(0, 1, 2))(Q, KV[0], KV[1])
    expected = jax.grad(loss(jnn.dot_product_attention, None), argnums=(0, 1, 2))(Q, KV[0], KV[1])
    for o, t in zip(ours, expected):
        check(o, np.asarray(t), 1e-5)
    with pytest.raises(ValueError, match="multiple of key/value heads"):
        nn.dot_product_attention(Q[:, :, :3], KV[0], KV[1])
    with pytest.raises(ValueError, match="mask dtype should be bool"):
        nn.dot_product_attention(Q, KV[0], KV[1], mask=MASK.astype(np.float32))


# ---------------------------------------------------------------------------
# irax.nn.initializers: JAX's weights for the same key

INITIALIZERS = {
    "glorot_uniform": lambda I: I.glorot_uniform(),
    "glorot_normal": lambda I: I.glorot_normal(),
    "lecun_uniform": lambda I: I.lecun_uniform(),
    "lecun_normal": lambda I: I.lecun_normal(),
    "he_uniform": lambda I: I.he_uniform(),
    "he_normal": lambda I: I.he_normal(),
    "variance_scaling(fan_geo_avg, normal, axes)": lambda I: I.variance_scaling(
        2.0, "fan_geo_avg", "normal", in_axis=(0, 1), out_axis=-1),
    "variance_scaling(fan_out, uniform, batch)": lambda I: I.variance_scaling(0.5, "fan_out", "uniform", batch_axis=0),
    "normal": lambda I: I.normal(0.5),
    "uniform": lambda I: I.uniform(3.0),
    "truncated_normal": lambda I: I.truncated_normal(0.3, lower=-1.0),
    "constant": lambda I: I.constant(-7),
}


@pytest.mark.parametrize("name", list(INITIALIZERS))
def test_initializers_draw_jaxs_weights(platform, name):
    """Bit for bit where the sampler is (uniform, normal); truncated normal
    within a few ulps, as irax.random's (test_random.py)."""
    ours = INITIALIZERS[name](irax.nn.initializers)(irax.random.key(3), (3, 4, 5))
    theirs = INITIALIZERS[name](jax.nn.initializers)(jax.random.key(3), (3, 4, 5))
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=0, atol=4e-7)


def test_complex_variance_scaling_draws_jaxs_weights():
    """Complex dtypes (ValueError before): uniform in a disk and a normal whose
    modulus is truncated, drawn in polar form as JAX's, key for key."""
    draw = lambda I, key: [make(I)(key, (3, 4), np.complex64) for make in
                           (lambda I: I.glorot_uniform(), lambda I: I.he_normal(),
                            lambda I: I.variance_scaling(1.0, "fan_in", "normal"))]
    ours = irax.jit(lambda key: draw(irax.nn.initializers, key))(irax.random.key(3))
    for o, t in zip(ours, draw(jax.nn.initializers, jax.random.key(3))):
        assert o.dtype == t.dtype == np.complex64
        np.testing.assert_allclose(np.asarray(o), t, rtol=0, atol=2e-6)


def test_initializer_errors_match_jax(platform):
    key = irax.random.key(0)
    with pytest.raises(ValueError, match="Can't compute input and output sizes of a 1-dimensional weights tensor"):
        irax.nn.initializers.glorot_uniform()(key, (3,))
    with pytest.raises(ValueError, match="invalid mode for variance scaling initializer: fan"):
        irax.nn.initializers.variance_scaling(1.0, "fan", "normal")(key, (2, 2))
    assert irax.nn.initializers.zeros(key, (2,), np.float16).dtype == np.float16
    assert irax.nn.initializers.xavier_normal is irax.nn.initializers.glorot_normal


JAX_JITTED = ["identity", "squareplus", "softplus", "sparse_plus", "soft_sign", "sigmoid", "sparse_sigmoid", "silu",
              "mish", "log_sigmoid", "elu", "leaky_relu", "hard_tanh", "celu", "selu", "glu", "logmeanexp",
              "log_softmax", "standardize", "hard_sigmoid", "hard_silu"]


def test_the_functions_jax_jits_are_jitted(monkeypatch):
    """JAX's nn functions are jitted functions (jax.nn.softplus.lower
    exists), so an eager call is one program: irax ran them op by op, a
    kernel each (softplus, ten ops on 64 x 64 floats: 107 us a call against
    JAX's 27-46; jitted, 11)."""
    from irax.frontend import eager

    assert all(hasattr(getattr(jax.nn, name), "lower") for name in JAX_JITTED)  # (JAX's list, as it stands)
    assert all(hasattr(getattr(nn, name), "lower") for name in JAX_JITTED)
    x = jnp.asarray(X)
    warm = [nn.softplus(x), nn.log_softmax(x, axis=0), nn.glu(x)]
    ran = []
    real = eager.run
    monkeypatch.setattr(eager, "run", lambda *args: ran.append(args[0]) or real(*args))
    again = [nn.softplus(x), nn.log_softmax(x, axis=0), nn.glu(x)]
    assert ran == []  # no eager op: one staged program each
    for a, b, want in zip(warm, again, [jax.nn.softplus(X), jax.nn.log_softmax(X, axis=0), jax.nn.glu(X)]):
        np.testing.assert_allclose(a, want, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(a, b)


def test_softmax_and_gelu_run_eagerly_as_one_program(monkeypatch):
    """As JAX's (jitted functions): a warm eager call of softmax or gelu runs
    one program, not an eager kernel per op (softmax was six: ~68 us of a
    float32[4, 4]'s call, now ~9)."""
    from irax.frontend import eager

    x = asarray(np.arange(16.0, dtype=np.float32).reshape(4, 4))
    for f in (nn.softmax, nn.gelu):
        f(x)
    kernels = []
    real_run = eager.run
    monkeypatch.setattr(eager, "run", lambda prim, *rest: kernels.append(prim) or real_run(prim, *rest))
    out = nn.softmax(x)
    nn.gelu(x, approximate=False)
    assert kernels == []
    np.testing.assert_allclose(out, jax.nn.softmax(np.arange(16.0, dtype=np.float32).reshape(4, 4)), rtol=1e-6)

