"""Gradients of every differentiable irax.numpy op: against central finite
differences (float32 tolerances) and against jax.grad; then the API
(argnums, has_aux, pytrees, higher order, jvp/vjp) and errors; custom rules
are tests/test_custom_derivatives.py's."""
import re

import numpy as np
import pytest

import irax
import irax.nn
import irax.numpy as jnp
import irax.scipy.special

jax = pytest.importorskip("jax")
jjnp = jax.numpy

rng = np.random.default_rng(0)
X = rng.uniform(0.2, 0.9, (3, 4)).astype(np.float32)  # inside every domain below
W = rng.normal(size=(3, 4)).astype(np.float32)  # weights, so no symmetry hides an error


def numerical_grad(f, x, eps=1e-3):
    """Central differences of scalar f at x, one coordinate at a time."""
    g = np.zeros(x.shape, np.float64)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        g[i] = (float(f(jnp.asarray(x + step))) - float(f(jnp.asarray(x - step)))) / (2 * eps)
    return g


def check_grad(f, fj, x=X):
    """irax.grad(f) against finite differences and against jax.grad(fj)."""
    ours = np.asarray(irax.grad(f)(jnp.asarray(x)))
    np.testing.assert_allclose(ours, numerical_grad(f, x), rtol=3e-2, atol=3e-3)
    np.testing.assert_allclose(ours, jax.grad(fj)(x), rtol=2e-5, atol=2e-6)


UNARY = [
    "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sqrt", "cbrt", "sin", "cos", "tan", "arcsin",
    "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arctanh", "abs", "negative", "square",
    "reciprocal", "sign", "floor", "ceil", "round",
]


@pytest.mark.parametrize("name", UNARY)
def test_unary(name):
    check_grad(lambda x: jnp.sum(getattr(jnp, name)(x) * W), lambda x: jjnp.sum(getattr(jjnp, name)(x) * W))


def test_arccosh():
    check_grad(lambda x: jnp.sum(jnp.arccosh(x + 1.5) * W), lambda x: jjnp.sum(jjnp.arccosh(x + 1.5) * W))


@pytest.mark.parametrize("name", ["exp", "log", "sin", "cos", "tanh", "sqrt", "arctan", "sinh", "log1p"])
def test_second_derivatives_of_elementwise_math(name):
    ours = irax.grad(irax.grad(getattr(jnp, name)))(0.7)
    theirs = jax.grad(jax.grad(getattr(jjnp, name)))(0.7)
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-4)


Y = rng.uniform(0.3, 1.1, (3, 4)).astype(np.float32)
BINARY = ["add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "arctan2"]


@pytest.mark.parametrize("name", BINARY)
def test_binary_both_arguments(name):
    f = lambda x: jnp.sum(getattr(jnp, name)(x, Y) * W + getattr(jnp, name)(Y[0], x) * W)  # noqa: E731
    fj = lambda x: jjnp.sum(getattr(jjnp, name)(x, Y) * W + getattr(jjnp, name)(Y[0], x) * W)  # noqa: E731
    check_grad(f, fj)


def test_where_clip_and_ties():
    check_grad(lambda x: jnp.sum(jnp.where(x > 0.5, x * x, -x) * W), lambda x: jjnp.sum(jjnp.where(x > 0.5, x * x, -x) * W))
    check_grad(lambda x: jnp.sum(jnp.clip(x, 0.3, 0.7) * W), lambda x: jjnp.sum(jjnp.clip(x, 0.3, 0.7) * W))
    tie = np.full((3, 4), 0.5, np.float32)
    ours = irax.grad(lambda x: jnp.sum(jnp.maximum(x, 0.5)))(jnp.asarray(tie))
    np.testing.assert_allclose(ours, jax.grad(lambda x: jjnp.sum(jjnp.maximum(x, 0.5)))(tie))


REDUCTIONS = {
    "sum": lambda m, x: m.sum(x * W, axis=0),
    "mean": lambda m, x: m.mean(x * W, axis=1),
    "max": lambda m, x: m.max(x * W, axis=1),
    "min": lambda m, x: m.min(x * W),
    "var": lambda m, x: m.var(x, axis=0),
    "std": lambda m, x: m.std(x),
    "cumsum": lambda m, x: m.cumsum(x, axis=1) * W,
    "keepdims": lambda m, x: m.sum(x, axis=1, keepdims=True) * W,
    "prod": lambda m, x: m.prod(x + 0.5, axis=1),
    "cumprod": lambda m, x: m.cumprod(x, axis=1) * W,
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(name):
    fn = REDUCTIONS[name]
    check_grad(lambda x: jnp.sum(fn(jnp, x)), lambda x: jjnp.sum(fn(jjnp, x)))


def test_long_sums_and_dots_take_the_blocked_path():
    v = rng.uniform(-0.1, 0.1, 600).astype(np.float32)  # small values: float32 differences stay meaningful
    check_grad(lambda x: jnp.sum(jnp.sin(x)) + jnp.dot(x, x), lambda x: jjnp.sum(jjnp.sin(x)) + jjnp.dot(x, x), v)


def test_prod_gradient_with_zeros_like_jax():
    x = np.array([[1.5, 2.0, 0.5], [3.0, 0.0, 2.0], [0.0, 0.0, 1.0]], np.float32)
    for axis in (None, 0, 1):
        ours = irax.grad(lambda x: jnp.sum(jnp.prod(x, axis=axis) * 1.5))(jnp.asarray(x))
        np.testing.assert_allclose(ours, jax.grad(lambda x: jjnp.sum(jjnp.prod(x, axis=axis) * 1.5))(x))
        tangent = irax.jvp(lambda x: jnp.prod(x, axis=axis), (x,), (W[:, :3],))[1]
        np.testing.assert_allclose(tangent, jax.jvp(lambda x: jjnp.prod(x, axis=axis), (x,), (W[:, :3],))[1], rtol=1e-6)


def test_max_shares_the_gradient_between_ties_like_jax():
    x = np.array([1.0, 3.0, 3.0, 2.0], np.float32)
    np.testing.assert_allclose(irax.grad(jnp.max)(jnp.asarray(x)), jax.grad(jjnp.max)(x))


NN = {
    "logsumexp": (lambda x: irax.scipy.special.logsumexp(x * 3, axis=1), lambda x: jax.scipy.special.logsumexp(x * 3, axis=1)),
    "relu": (lambda x: irax.nn.relu(x - 0.5) * W, lambda x: jax.nn.relu(x - 0.5) * W),
    "sigmoid": (lambda x: irax.nn.sigmoid(x) * W, lambda x: jax.nn.sigmoid(x) * W),
    "softplus": (lambda x: irax.nn.softplus(x) * W, lambda x: jax.nn.softplus(x) * W),
    "gelu": (lambda x: irax.nn.gelu(x) * W, lambda x: jax.nn.gelu(x) * W),
    "softmax": (lambda x: irax.nn.softmax(x, axis=-1) * W, lambda x: jax.nn.softmax(x, axis=-1) * W),
    "log_softmax": (lambda x: irax.nn.log_softmax(x) * W, lambda x: jax.nn.log_softmax(x) * W),
}


@pytest.mark.parametrize("name", sorted(NN))
def test_nn(name):
    f, fj = NN[name]
    check_grad(lambda x: jnp.sum(f(x)), lambda x: jjnp.sum(fj(x)))


A = rng.normal(size=(4, 2)).astype(np.float32)
LINALG = {
    "matmul": lambda m, x: x @ A,
    "dot": lambda m, x: m.dot(x, A),
    "einsum": lambda m, x: m.einsum("ij,jk->ik", x, A),
    "batch_einsum": lambda m, x: m.einsum("bi,bj->bij", x, x),
    "tensordot": lambda m, x: m.tensordot(x, A, axes=1),
    "inner": lambda m, x: m.inner(x, x),
    "outer": lambda m, x: m.outer(x[0], x[1]),
    "vdot": lambda m, x: m.vdot(x, W),
    "transposed_matmul": lambda m, x: x.T @ x,
}


@pytest.mark.parametrize("name", sorted(LINALG))
def test_linear_algebra(name):
    fn = LINALG[name]
    check_grad(lambda x: jnp.sum(jnp.sin(fn(jnp, x))), lambda x: jjnp.sum(jjnp.sin(fn(jjnp, x))))


SHAPES = {
    "reshape": lambda m, x: m.reshape(x, (2, 6)),
    "ravel": lambda m, x: m.ravel(x),
    "transpose": lambda m, x: m.transpose(x),
    "swapaxes": lambda m, x: m.swapaxes(x[None], 0, 2),
    "moveaxis": lambda m, x: m.moveaxis(x[None], 0, -1),
    "squeeze": lambda m, x: m.squeeze(x[:, None]),
    "expand_dims": lambda m, x: m.expand_dims(x, 1),
    "broadcast_to": lambda m, x: m.broadcast_to(x[0], (5, 4)),
    "concatenate": lambda m, x: m.concatenate([x, x * x], axis=1),
    "stack": lambda m, x: m.stack([x, x[::-1]], axis=1),
    "split": lambda m, x: m.split(x, 2, axis=1)[1],
    "tile": lambda m, x: m.tile(x, (2, 1)),
    "repeat": lambda m, x: m.repeat(x, 2, axis=0),
    "flip": lambda m, x: m.flip(x, 1),
    "pad_constant": lambda m, x: m.pad(x, ((1, 0), (0, 2))),
    "pad_edge": lambda m, x: m.pad(x, 1, mode="edge"),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_ops(name):
    fn = SHAPES[name]
    weights = rng.normal(size=fn(np, X).shape).astype(np.float32)
    check_grad(lambda x: jnp.sum(fn(jnp, x) ** 2 * weights), lambda x: jjnp.sum(fn(jjnp, x) ** 2 * weights))


INDEXING = {
    "int": lambda m, x: x[1],
    "slices": lambda m, x: x[1:, ::2],
    "negative_step": lambda m, x: x[::-1, 1],
    "none_ellipsis": lambda m, x: x[None, ..., 2],
    "gather": lambda m, x: x[m.array([2, 0, 2])],
    "gather_2d": lambda m, x: x[m.array([0, 2]), m.array([1, 3])],
    "take": lambda m, x: m.take(x, m.array([3, 3, 0]), axis=1),
    "set_static": lambda m, x: x.at[1, 2].set(5.0),
    "add_static": lambda m, x: x.at[:, 1].add(x[:, 0]),
    "scatter_add": lambda m, x: x.at[m.array([0, 2, 0])].add(x[1] * x[1]),
    "scatter_set": lambda m, x: x.at[m.array([0, 2])].set(x[1] * 3),
    # 0-d index arrays: slices at run-time offsets (update_slice)
    "set_at_scalar_array": lambda m, x: x.at[m.array(1)].set(x[2] * 3),
    "add_at_scalar_array": lambda m, x: x.at[m.array(-1), 1:3].add(x[0, :2] * x[0, :2]),
    "max_at_scalar_array_dropped": lambda m, x: x.at[m.array(5), 0].max(x[0, 0]),
}


@pytest.mark.parametrize("name", sorted(INDEXING))
def test_indexing(name):
    fn = INDEXING[name]
    weights = rng.normal(size=np.shape(fn(jjnp, jjnp.asarray(X)))).astype(np.float32)
    check_grad(lambda x: jnp.sum(fn(jnp, x) ** 2 * weights), lambda x: jjnp.sum(fn(jjnp, x) ** 2 * weights))


# ---------------------------------------------------------------------------
# The API.

def sse(x, y):
    return jnp.sum((x - y) ** 2)


def test_argnums_value_and_has_aux():
    x, y = jnp.asarray(X), jnp.asarray(Y)
    gx, gy = irax.grad(sse, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, 2 * (X - Y), rtol=1e-6)
    np.testing.assert_allclose(gy, -2 * (X - Y), rtol=1e-6)
    value, g = irax.value_and_grad(sse)(x, y)
    np.testing.assert_allclose(float(value), np.sum((X - Y) ** 2), rtol=1e-5)
    g, aux = irax.grad(lambda x, y: (sse(x, y), x - y), has_aux=True)(x, y)
    np.testing.assert_allclose(aux, X - Y, rtol=1e-6)


def test_pytrees_of_parameters():
    params = {"layers": [{"w": jnp.asarray(A), "b": jnp.zeros(2)}], "scale": 2.0}

    def loss(p, x):
        layer = p["layers"][0]
        return jnp.sum(jnp.tanh(x @ layer["w"] + layer["b"]) * p["scale"])

    grads = irax.grad(loss)(params, X)
    assert irax.tree_util.tree_structure(grads) == irax.tree_util.tree_structure(params)
    jparams = {"layers": [{"w": A, "b": np.zeros(2, np.float32)}], "scale": 2.0}
    expected = jax.grad(lambda p, x: jjnp.sum(jjnp.tanh(x @ p["layers"][0]["w"] + p["layers"][0]["b"]) * p["scale"]))(jparams, X)
    for ours, theirs in zip(irax.tree_util.tree_leaves(grads), jax.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_higher_order_and_composition():
    assert abs(float(irax.grad(irax.grad(irax.grad(jnp.sin)))(0.3)) + np.cos(0.3)) < 1e-5
    h = irax.hessian(lambda v: jnp.sum(jnp.sin(v) * v))(jnp.asarray(Y[0]))
    np.testing.assert_allclose(h, jax.hessian(lambda v: jjnp.sum(jjnp.sin(v) * v))(Y[0]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(irax.jacrev(jnp.tanh)(jnp.asarray(Y[0])), jax.jacrev(jjnp.tanh)(Y[0]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(irax.jacfwd(jnp.tanh)(jnp.asarray(Y[0])), jax.jacfwd(jjnp.tanh)(Y[0]), rtol=1e-5, atol=1e-6)


def test_jvp_and_vjp():
    f = lambda x, y: jnp.tanh(x) * y + jnp.max(x * x, axis=0)  # noqa: E731
    fj = lambda x, y: jjnp.tanh(x) * y + jjnp.max(x * x, axis=0)  # noqa: E731
    out, tangent = irax.jvp(f, (X, Y), (W, W))
    out_j, tangent_j = jax.jvp(fj, (X, Y), (W, W))
    np.testing.assert_allclose(out, out_j, rtol=1e-6)
    np.testing.assert_allclose(tangent, tangent_j, rtol=1e-5, atol=1e-6)
    out, pullback = irax.vjp(f, X, Y)
    for ours, theirs in zip(pullback(jnp.asarray(W)), jax.vjp(fj, X, Y)[1](W)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_jvp_through_argmax_and_of_integer_outputs_like_jax():
    """argmax's generic also carries the running max, a float result nothing
    reads: forward mode took it for one to differentiate and raised
    NotDifferentiable. Integer outputs' tangents are float0 zeros, as JAX's."""
    def f(lib):
        return lambda x: (x[0, lib.argmax(x[1])] * x, lib.argmin(x, axis=1), (x > 0.5).sum())

    (ours, theirs) = (irax.jvp(f(jnp), (X,), (W,)), jax.jvp(f(jjnp), (X,), (W,)))
    for a, b in zip(ours[1], theirs[1]):
        assert np.asarray(a).dtype == np.asarray(b).dtype and np.shape(a) == np.shape(b)
    np.testing.assert_allclose(ours[1][0], theirs[1][0], rtol=1e-6)
    np.testing.assert_allclose(irax.hessian(lambda x: x[jnp.argmax(x[0])].sum() ** 3)(X),
                               jax.hessian(lambda x: x[jjnp.argmax(x[0])].sum() ** 3)(X), rtol=1e-5)


def test_sign_taking_math_at_negative_inputs_like_jax():
    """arcsinh and arctan2 take their sign with copysign, whose derivative flips with the signs."""
    x, y = W[0], W[1][::-1].copy()  # both signs in each
    f = lambda m, a, b: m.sum(m.arcsinh(a) * b + m.arctan2(a, b))  # noqa: E731
    ours = irax.grad(lambda a, b: f(jnp, a, b), argnums=(0, 1))(x, y)
    for g, gj in zip(ours, jax.grad(lambda a, b: f(jjnp, a, b), argnums=(0, 1))(x, y)):
        np.testing.assert_allclose(g, gj, rtol=1e-5, atol=1e-6)


def test_arctan2_gradient_on_the_axes_and_at_the_origin_like_jax():
    """At (±0, ±0) atan2 is a constant by the signs, but its gradient is
    JAX's NaN (0/0), not that constant's 0; on the axes it is finite."""
    y = np.array([0.0, -0.0, 0.0, -0.0, 0.0, 1.0, -0.0], np.float32)
    x = np.array([0.0, 0.0, -0.0, -0.0, 1.0, 0.0, -1.0], np.float32)
    f = lambda m: lambda a, b: m.sum(m.arctan2(a, b))  # noqa: E731
    for g, gj in zip(irax.grad(f(jnp), (0, 1))(y, x), jax.grad(f(jjnp), (0, 1))(y, x)):
        np.testing.assert_array_equal(g, gj)
    np.testing.assert_array_equal(irax.vmap(irax.grad(jnp.arctan2, (0, 1)))(y, x), jax.vmap(jax.grad(jjnp.arctan2, (0, 1)))(y, x))
    np.testing.assert_array_equal(jnp.arctan2(y, x), np.arctan2(y, x))


HALF = {"float16": 1e-2, "bfloat16": 3e-2}  # dtype -> tolerance, relative to the largest gradient


def mlp_loss(np_, params, x):
    """A small MLP's loss: matmuls, a broadcast bias, tanh, exp, a square and a mean."""
    w1, b1, w2 = params
    h = np_.tanh(x @ w1 + b1)
    return np_.mean((h @ w2 - 0.5) ** 2) + np_.sum(np_.exp(b1) * 0.1)


def assert_close_to_scale(ours, expected, tol):
    expected = np.asarray(expected, np.float32)
    np.testing.assert_allclose(np.asarray(ours, np.float32), expected, rtol=tol, atol=tol * np.abs(expected).max())


@pytest.mark.parametrize("dtype", sorted(HALF))
def test_half_precision_gradients_like_jax(dtype):
    """Mixed precision training: parameters in float16/bfloat16 get gradients
    of their own dtype, whose values match JAX's and float32 finite differences
    of the same function (sums and transcendental math compute in float32)."""
    params32 = [rng.uniform(-1, 1, s).astype(np.float32) for s in [(4, 5), (5,), (5, 2)]]
    params = [p.astype(dtype) for p in params32]
    x = X.astype(dtype)
    value, grads = irax.value_and_grad(lambda p: mlp_loss(jnp, p, x))([jnp.asarray(p) for p in params])
    value_j, grads_j = jax.value_and_grad(lambda p: mlp_loss(jjnp, p, x))(params)
    assert value.dtype == value_j.dtype == np.dtype(dtype)
    jitted = irax.jit(irax.grad(lambda p: mlp_loss(jnp, p, x)))([jnp.asarray(p) for p in params])
    loss32 = irax.jit(lambda p: mlp_loss(jnp, p, x.astype(np.float32)))
    for i, (ours, again, theirs) in enumerate(zip(grads, jitted, grads_j)):
        assert ours.dtype == again.dtype == theirs.dtype == np.dtype(dtype)
        assert_close_to_scale(ours, theirs, HALF[dtype])
        assert_close_to_scale(again, theirs, HALF[dtype])
        p32 = [p.astype(np.float32) for p in params]
        numerical = numerical_grad(lambda v: loss32(p32[:i] + [v] + p32[i + 1:]), p32[i])
        assert_close_to_scale(ours, numerical, HALF[dtype])


@pytest.mark.parametrize("dtype", sorted(HALF))
def test_half_precision_jvp_and_vjp_like_jax(dtype):
    f = lambda x: jnp.sin(x) * jnp.exp(x) + jnp.log1p(x) / x + jnp.sum(x * x, axis=0)  # noqa: E731
    fj = lambda x: jjnp.sin(x) * jjnp.exp(x) + jjnp.log1p(x) / x + jjnp.sum(x * x, axis=0)  # noqa: E731
    x, w = X.astype(dtype), W.astype(dtype)
    (out, tangent), (out_j, tangent_j) = irax.jvp(f, (x,), (w,)), jax.jvp(fj, (x,), (w,))
    assert out.dtype == out_j.dtype == tangent.dtype == tangent_j.dtype == np.dtype(dtype)
    assert_close_to_scale(out, out_j, HALF[dtype])
    assert_close_to_scale(tangent, tangent_j, HALF[dtype])
    (ct,), (ct_j,) = irax.vjp(f, x)[1](jnp.asarray(w)), jax.vjp(fj, x)[1](w)
    assert ct.dtype == ct_j.dtype == np.dtype(dtype)
    assert_close_to_scale(ct, ct_j, HALF[dtype])
    other = ({"float16", "bfloat16"} - {dtype}).pop()  # a cast between the two half types
    g = lambda m, x: m.sum(m.sin(x.astype(other)))  # noqa: E731
    ours, theirs = irax.grad(lambda x: g(jnp, x))(x), jax.grad(lambda x: g(jjnp, x))(x)
    assert ours.dtype == theirs.dtype == np.dtype(dtype)
    assert_close_to_scale(ours, theirs, HALF["bfloat16"])


def test_scatter_multiply_differentiates_with_respect_to_x():
    idx = np.array([0, 2, 0])
    v = jnp.asarray(np.array([1.5, -2.0, 3.0], np.float32))
    ours = irax.grad(lambda x: jnp.sum(jnp.sin(x.at[jnp.asarray(idx)].multiply(v))))(jnp.asarray(Y[0]))
    theirs = jax.grad(lambda x: jjnp.sum(jjnp.sin(x.at[idx].multiply(np.asarray(v)))))(Y[0])
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    with pytest.raises(NotImplementedError, match="multiply"):
        irax.grad(lambda v: jnp.sum(jnp.asarray(Y[0]).at[jnp.asarray(idx)].multiply(v)))(v)


def test_stop_gradient():
    g = irax.grad(lambda x: jnp.sum(x * irax.lax.stop_gradient(x)))(jnp.asarray(Y))
    np.testing.assert_allclose(g, Y, rtol=1e-6)


def test_repeated_calls_do_not_retrace():
    traces = []

    def loss(w):
        traces.append(1)
        return jnp.sum(w * w)

    df = irax.grad(loss)
    for _ in range(5):
        df(jnp.asarray(Y))
    assert len(traces) == 1
    for _ in range(3):
        irax.grad(loss)(jnp.asarray(Y))  # a new grad of the same function: still cached
    assert len(traces) == 1


# ---------------------------------------------------------------------------
# Errors, worded as JAX words them.

def same_error(ours, theirs):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(expected.type) as got:
        ours()
    return str(got.value), str(expected.value)


def test_non_scalar_output_is_a_type_error():
    ours, theirs = same_error(lambda: irax.grad(lambda x: x * 2)(jnp.ones(3)), lambda: jax.grad(lambda x: x * 2)(jjnp.ones(3)))
    assert ours == theirs


def test_integer_input_is_a_type_error():
    ours, theirs = same_error(lambda: irax.grad(lambda x: x * 2)(1), lambda: jax.grad(lambda x: x * 2)(1))
    assert ours == theirs


def test_has_aux_needs_a_pair():
    ours, theirs = same_error(lambda: irax.grad(lambda x: x * 2, has_aux=True)(1.0),
                              lambda: jax.grad(lambda x: x * 2, has_aux=True)(1.0))
    assert ours.startswith("expected function with aux output to return a two-element tuple")


def test_bad_argnums():
    ours, theirs = same_error(lambda: irax.grad(lambda x: x, argnums=3)(1.0), lambda: jax.grad(lambda x: x, argnums=3)(1.0))
    assert ours == theirs


def test_python_control_flow_names_the_line_and_the_next_call_works():
    def f(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(irax.errors.ConcretizationTypeError, match="test_autodiff.py.*if x > 0"):
        irax.jit(irax.grad(f))(1.0)  # eagerly it runs on a tape (test_grad_python_control_flow.py)
    assert float(irax.grad(jnp.sin)(0.0)) == 1.0


def test_lower_shows_the_ir_before_and_after_the_ad_pass():
    lowered = irax.grad(lambda x: jnp.sum(jnp.tanh(x))).lower(jnp.ones(3))
    before, after = lowered.as_text("traced"), lowered.as_text("after_ad")
    assert "math.tanh" in before and "func.func private @irax_ad_0_vjp(" in before  # declared, no body
    assert "irax.vjp_of = @irax_ad_0" in before and "irax.vjp_of" not in after
    assert after == dict(lowered.passes)["differentiate"]
    assert "func.func private @irax_ad_0_vjp(" in after and "math.tanh" in after
    assert "nothing was differentiated" in irax.jit(jnp.tanh).lower(jnp.ones(3)).as_text("after_ad")
    optimized = lowered.as_text("optimized")
    assert "func.func @main" in optimized and "linalg.generic" in optimized
    with pytest.raises(ValueError, match="stages are"):
        lowered.as_text("nonsense")


def test_float0_zeros_are_host_arrays_that_jvp_takes_like_jax():
    """jnp.zeros(shape, float0) is the tangent JAX's jvp wants for an integer primal."""
    for make in (lambda lib: lib.numpy.zeros(2, lib.dtypes.float0),
                 lambda lib: lib.numpy.zeros_like(lib.numpy.arange(2), dtype=lib.dtypes.float0)):
        ours, theirs = make(irax), make(jax)
        assert (ours.dtype, ours.shape) == (theirs.dtype, theirs.shape) == (irax.dtypes.float0, (2,))
    out = irax.jvp(lambda a, x: a * x, (jnp.arange(2), jnp.ones(2)), (jnp.zeros(2, irax.dtypes.float0), jnp.ones(2)))
    want = jax.jvp(lambda a, x: a * x, (jjnp.arange(2), jjnp.ones(2)), (jjnp.zeros(2, jax.dtypes.float0), jjnp.ones(2)))
    np.testing.assert_array_equal(out[1], want[1])


FLOAT0_UNDER_TRANSFORMS = {
    # integer outputs' tangents came back from jit as int32 zeros (a program cannot hold float0)
    "jit of jvp": lambda lib, x, n: lib.jit(lambda x, n: lib.jvp(lambda x, n: (x * n, n + 1), (x, n),
                                                                   (x, lib.numpy.zeros(2, lib.dtypes.float0))))(x, n),
    "jit of grad": lambda lib, x, n: lib.jit(lib.grad(lambda x, n: (x * n).sum(), (0, 1), allow_int=True))(x, n),
    # vmap gives a float0 output its batch axis
    "vmap of jvp": lambda lib, x, n: lib.vmap(lambda x, n: lib.jvp(lambda x, n: (x * n, n), (x, n), (
        x, lib.numpy.zeros((), lib.dtypes.float0))), out_axes=((0, 0), (0, -1)))(x, n),
}


@pytest.mark.parametrize("name", FLOAT0_UNDER_TRANSFORMS)
def test_float0_outputs_under_jit_and_vmap_like_jax(name):
    f = FLOAT0_UNDER_TRANSFORMS[name]
    x, n = np.ones(2, np.float32), np.arange(2, dtype=np.int32)
    ours, theirs = f(irax, jnp.asarray(x), jnp.asarray(n)), f(jax, x, n)
    assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(theirs)
    for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
        assert (np.dtype(a.dtype), a.shape) == (np.dtype(b.dtype), b.shape)
        if b.dtype != jax.dtypes.float0:
            np.testing.assert_array_equal(a, b)


def test_grad_of_integer_inputs_and_holomorphic_like_jax():
    """allow_int gives integer inputs float0 gradients (grad and vjp), as
    JAX does; without it, and with holomorphic on real inputs, JAX's errors."""
    f = lambda x, n: (x * n).sum()  # noqa: E731
    x, n = np.ones(2, np.float32), np.arange(2, dtype=np.int32)
    ours = irax.grad(f, argnums=(0, 1), allow_int=True)(jnp.asarray(x), jnp.asarray(n))
    theirs = jax.grad(f, argnums=(0, 1), allow_int=True)(x, n)
    np.testing.assert_array_equal(ours[0], theirs[0])
    assert (ours[1].dtype, ours[1].shape) == (theirs[1].dtype, theirs[1].shape) == (irax.dtypes.float0, (2,))
    _, pullback = irax.vjp(lambda x, n: x * n, jnp.asarray(x), jnp.asarray(n))
    assert pullback(jnp.ones(2))[1].dtype == jax.vjp(lambda x, n: x * n, x, n)[1](np.ones(2, np.float32))[1].dtype
    for kwargs, args in [({}, (n, n)), ({"holomorphic": True}, (x, n))]:
        with pytest.raises(TypeError) as theirs_error:
            jax.grad(f, **kwargs)(*args)
        with pytest.raises(TypeError, match=re.escape(str(theirs_error.value))):
            irax.grad(f, **kwargs)(*args)
    assert irax.jacobian is irax.jacrev


def test_gradient_flows_through_full_and_dtype_conversions():
    """jnp.full of a traced scalar broadcasts it (its gradient was lost: a
    fill of an extracted scalar has no derivative), and jnp.asarray(x, dtype)
    of an array converts on the device; both staged and op by op (a Python
    branch on the value sends grad down the tape)."""
    def f(np_, x):
        y = np_.asarray(x, np_.float32) * np_.full((2, 3), x)
        return y.sum() if x > 0 else -y.sum()

    for x in (2.0, -1.5):
        assert float(irax.grad(lambda x: f(jnp, x))(x)) == pytest.approx(float(jax.grad(lambda x: f(jax.numpy, x))(x)))
    staged = irax.grad(lambda x: (jnp.full((2, 3), x) * x).sum())(2.0)
    assert float(staged) == pytest.approx(24.0)


def test_vjp_of_a_value_returned_twice_adds_both_cotangents():
    """(The second cotangent's add was made outside the function: a segfault.)"""
    jax = pytest.importorskip("jax")
    x, ct = np.ones(2, np.float32), np.arange(2.0, dtype=np.float32)
    for f in (lambda m, v: (v, v), lambda m, v: (v, m.sin(v), v)):
        n = len(f(np, x))
        ours = irax.vjp(lambda v: f(jnp, v), x)[1]((ct,) * n)
        theirs = jax.vjp(lambda v: f(jax.numpy, v), x)[1]((ct,) * n)
        np.testing.assert_allclose(np.asarray(ours[0]), np.asarray(theirs[0]), rtol=1e-6)
    np.testing.assert_allclose(irax.jacrev(lambda v: (v, v))(x)[1], np.eye(2))


def test_check_grads_as_in_jax():
    """docs/automatic-differentiation.md's `check_grads(loss, (W, b), order=2)`
    (irax.test_util, as jax.test_util): passes on right derivatives of any
    order and mode, and raises AssertionError on a wrong custom JVP, as JAX's."""
    from jax import test_util as jax_test_util
    from irax import test_util

    def loss(np_, W, b):
        inputs = np_.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30]])
        preds = 0.5 * (np_.tanh((np_.dot(inputs, W) + b) / 2) + 1)
        return -np_.sum(np_.log(preds * np_.array([1., 0., 1.]) + (1 - preds) * np_.array([0., 1., 0.])))

    W = np.array([0.1, -0.2, 0.3], np.float32)
    test_util.check_grads(lambda W, b: loss(jnp, W, b), (W, 0.5), order=2)
    test_util.check_grads(jnp.sin, (1.0,), order=3, modes=["fwd", "rev", "lin"])
    test_util.check_grads(lambda d: d["a"] * jnp.exp(d["b"]), ({"a": np.ones(2, np.float32), "b": W[:2]},), order=1)

    def wrong(lib):
        f = lib.custom_jvp(lib.numpy.sin)
        f.defjvp(lambda p, t: (lib.numpy.sin(p[0]), 2 * lib.numpy.cos(p[0]) * t[0]))
        return f

    for mode in ("fwd", "rev"):
        for lib, util in ((jax, jax_test_util), (irax, test_util)):
            with pytest.raises(AssertionError, match="rtol=0.002, atol=0.002"):
                util.check_grads(wrong(lib), (1.0,), order=1, modes=[mode])
