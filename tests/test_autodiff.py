"""Gradients of every differentiable irax.numpy op: against central finite
differences (float32 tolerances) and against jax.grad; then the API
(argnums, has_aux, pytrees, higher order, jvp/vjp, custom rules) and errors."""
import functools
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


def test_custom_jvp_gives_a_stable_log1pexp():
    @irax.custom_jvp
    def log1pexp(x):
        return jnp.log(1.0 + jnp.exp(x))

    @log1pexp.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return log1pexp(x), (1 - 1 / (1 + jnp.exp(x))) * t

    assert float(irax.grad(log1pexp)(100.0)) == 1.0  # the naive derivative is inf/inf = nan
    assert abs(float(irax.grad(irax.grad(log1pexp))(0.5)) - 0.2350037) < 1e-5


def test_custom_vjp_straight_through_and_clipping():
    @irax.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, ()), lambda res, g: (jnp.clip(g, -0.5, 0.5),))
    g = irax.grad(lambda x: jnp.sum(clip_gradient(x) * 3.0))(jnp.asarray(Y))
    np.testing.assert_allclose(g, np.full_like(Y, 0.5))


@irax.custom_vjp
def sin_clipped_grad(x):
    return jnp.sin(x)


sin_clipped_grad.defvjp(lambda x: (jnp.sin(x), (jnp.cos(x),)), lambda res, g: (res[0] * jnp.clip(g, -0.5, 0.5),))


@irax.custom_jvp
def sin_doubled_tangent(x):
    return jnp.sin(x)


@sin_doubled_tangent.defjvp
def _(primals, tangents):
    (x,), (t,) = primals, tangents
    return sin_doubled_tangent(x), 2.0 * jnp.cos(x) * t  # calls itself: its rule refers to its own function


@pytest.mark.parametrize("fwd, bwd, match", [
    (lambda x: x, lambda res, g: (g,), "fwd rule must produce a pair"),
    (lambda x: (x, ()), lambda res, g: g, "bwd rule must produce an output with the same container"),
    (lambda x: (x, ()), lambda res, g: (jnp.sum(g),), "produced float32\\[\\] for argument 0 of type float32\\[3\\]"),
])
def test_custom_vjp_rules_of_the_wrong_form_are_type_errors(fwd, bwd, match):
    @irax.custom_vjp
    def f(x):
        return x

    f.defvjp(fwd, bwd)
    with pytest.raises(TypeError, match=match):
        irax.grad(lambda x: jnp.sum(f(x)))(jnp.ones(3))


def nondiff_functions(lib):
    """JAX's nondiff_argnums examples: a function argument to custom_jvp, a
    (lo, hi) pair and an array to custom_vjp; the rules get them first."""
    jnp_ = lib.numpy

    @functools.partial(lib.custom_jvp, nondiff_argnums=(0,))
    def app(f, x):
        return f(x)

    app.defjvp(lambda f, primals, tangents: (app(f, primals[0]), 2.0 * tangents[0]))

    @functools.partial(lib.custom_vjp, nondiff_argnums=(0, 2))
    def clip_gradient(lohi, x, scale):
        return x * scale

    clip_gradient.defvjp(lambda lohi, x, scale: (x * scale, None),
                         lambda lohi, scale, res, g: (jnp_.clip(g, *lohi) * scale,))
    return app, clip_gradient


def test_custom_functions_with_nondiff_argnums_like_jax():
    x = np.array([0.1, 0.4, 0.9], np.float32)
    scale = np.array([1.0, 2.0, 3.0], np.float32)
    (app, clip), (app_j, clip_j) = nondiff_functions(irax), nondiff_functions(jax)
    cases = [
        (lambda x: jnp.sum(app(jnp.sin, x)), lambda x: jjnp.sum(app_j(jjnp.sin, x))),
        (lambda x: jnp.sum(clip((-0.75, 0.75), jnp.sin(x), jnp.asarray(scale)) * 3.0),
         lambda x: jjnp.sum(clip_j((-0.75, 0.75), jjnp.sin(x), scale) * 3.0)),
    ]
    for f, fj in cases:
        np.testing.assert_allclose(f(jnp.asarray(x)), fj(x), rtol=1e-6)
        np.testing.assert_allclose(irax.grad(f)(jnp.asarray(x)), jax.grad(fj)(x), rtol=1e-6)
        np.testing.assert_allclose(irax.jit(irax.grad(f))(x), jax.grad(fj)(x), rtol=1e-6)
        np.testing.assert_allclose(irax.vmap(irax.grad(f))(np.stack([x, 2 * x])),
                                   jax.vmap(jax.grad(fj))(np.stack([x, 2 * x])), rtol=1e-6)


def test_custom_jvp_defjvps_and_keyword_arguments_like_jax():
    def make(lib):
        f = lib.custom_jvp(lambda x, y: lib.numpy.sin(x) * y)
        f.defjvps(lambda x_dot, out, x, y: lib.numpy.cos(x) * x_dot * y,
                  lambda y_dot, out, x, y: lib.numpy.sin(x) * y_dot)
        g = lib.custom_jvp(lambda x, y: x * y)
        g.defjvps(None, lambda y_dot, out, x, y: 3.0 * y_dot)  # None: x has no effect on the tangent
        return f, g

    (f, g), (fj, gj) = make(irax), make(jax)
    for ours, theirs in [(f, fj), (g, gj)]:
        want = jax.grad(theirs, argnums=(0, 1))(2.0, 3.0)
        np.testing.assert_allclose(irax.grad(ours, argnums=(0, 1))(2.0, 3.0), want, rtol=1e-6)
        np.testing.assert_allclose(irax.jvp(ours, (2.0, 3.0), (1.0, 0.5))[1], jax.jvp(theirs, (2.0, 3.0), (1.0, 0.5))[1],
                                   rtol=1e-6)
        np.testing.assert_allclose(ours(2.0, y=3.0), theirs(2.0, y=3.0), rtol=1e-6)
        np.testing.assert_allclose(irax.grad(lambda x: ours(x, y=3.0))(2.0), jax.grad(lambda x: theirs(x, y=3.0))(2.0),
                                   rtol=1e-6)
    def with_default(lib):  # a default argument is passed to the rules, as JAX binds it
        f = lib.custom_vjp(lambda x, y=2.0: x * y)
        f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * res[1], g * res[0]))
        return f

    np.testing.assert_allclose(irax.grad(with_default(irax))(3.0), jax.grad(with_default(jax))(3.0))
    with pytest.raises(TypeError, match="defjvps.*nondiff_argnums"):
        irax.custom_jvp(lambda f, x: f(x), nondiff_argnums=(0,)).defjvps(None, None)


def test_custom_vjp_bwd_may_give_none_for_zero_cotangents_like_jax():
    """None for a whole argument (an integer one too) or for part of a pytree one."""
    def make(lib):
        f = lib.custom_vjp(lambda x, n, p: x * n + p["a"] * p["b"])
        f.defvjp(lambda x, n, p: (f(x, n, p), (n, p)), lambda res, g: (g * res[0], None, {"a": g * res[1]["b"], "b": None}))
        return f

    f, fj = make(irax), make(jax)
    p = {"a": np.float32(2.0), "b": np.float32(5.0)}
    want = jax.grad(fj, argnums=(0, 2))(1.5, 3, p)
    got = irax.grad(f, argnums=(0, 2))(1.5, 3, p)
    np.testing.assert_allclose(got[0], want[0])
    for k in p:
        np.testing.assert_allclose(got[1][k], want[1][k])
    bad = irax.custom_vjp(lambda x, y: x * y)
    bad.defvjp(lambda x, y: (x * y, None), lambda res, g: ({"no": g}, None))
    with pytest.raises(TypeError, match="bwd rule must produce an output with the same container"):
        irax.grad(bad)(1.0, 2.0)


def scaled_sin(lib, c, kind):
    """x -> sin(x) * c as a lib.custom_{kind} function of x (lib is irax or jax)
    that closes over the array c, with a rule that doubles its derivative:
    the rule calls the function and closes over an array it does not."""
    two = lib.numpy.full((3,), 2.0)
    if kind == "vjp":
        f = lib.custom_vjp(lambda x: lib.numpy.sin(x) * c)
        f.defvjp(lambda x: (f(x), lib.numpy.cos(x)), lambda cos, g: (two * cos * c * g,))
    else:
        f = lib.custom_jvp(lambda x: lib.numpy.sin(x) * c)
        f.defjvp(lambda p, t: (f(p[0]), two * lib.numpy.cos(p[0]) * c * t[0]))
    return f


@pytest.mark.parametrize("kind", ["vjp", "jvp"])
def test_custom_functions_may_close_over_arrays(kind):
    """The arrays closed over are operands of the call and its rules, so the
    function runs eagerly, under jit, and differentiates by its rule."""
    x, c = np.array([0.1, 0.2, 0.3], np.float32), np.array([1.5, -2.0, 0.5], np.float32)
    f, fj = scaled_sin(irax, jnp.asarray(c), kind), scaled_sin(jax, jjnp.asarray(c), kind)
    loss, loss_j = (lambda x: jnp.sum(f(x))), (lambda x: jjnp.sum(fj(x)))
    want, want_grad = fj(x), jax.grad(loss_j)(x)
    np.testing.assert_allclose(f(jnp.asarray(x)), want, rtol=1e-6)
    np.testing.assert_allclose(irax.jit(f)(x), want, rtol=1e-6)
    np.testing.assert_allclose(irax.grad(loss)(x), want_grad, rtol=1e-6)
    np.testing.assert_allclose(irax.jit(irax.grad(loss))(x), want_grad, rtol=1e-6)
    np.testing.assert_allclose(want_grad, 2 * np.cos(x) * c, rtol=1e-6)  # the rule's, not sin's
    traced_c = irax.jit(lambda c, x: scaled_sin(irax, c, kind)(x))(c, x)  # c a Tracer of jit's trace
    np.testing.assert_allclose(traced_c, want, rtol=1e-6)
    if kind == "jvp":
        tangent = irax.jvp(f, (x,), (np.ones(3, np.float32),))[1]
        np.testing.assert_allclose(tangent, jax.jvp(fj, (x,), (np.ones(3, np.float32),))[1], rtol=1e-6)


def test_a_rule_that_calls_its_function_and_uses_numpy_data_traces_once_more_not_forever():
    """NumPy data met while tracing becomes an argument; the rule's trace is
    repeated once to pass it to the rule's own call of the function, and
    equal data must be the same argument again (it used to be a new one each
    time: tracing never ended)."""
    def make(lib):
        f = lib.custom_jvp(lambda x: x * 2)
        f.defjvp(lambda p, t: (f(p[0]), t[0] * 2 + 0 * f(p[0]) * np.arange(3.0, dtype=np.float32)))
        return lambda x: f(x).sum()

    x = np.ones(3, np.float32)
    np.testing.assert_allclose(irax.grad(make(irax))(x), jax.grad(make(jax))(x))


@pytest.mark.parametrize("kind", ["vjp", "jvp"])
def test_differentiating_a_custom_function_by_an_array_it_closes_over_is_an_error(kind):
    """Its rules give derivatives with respect to its arguments alone; JAX raises too."""
    x, c = np.array([0.1, 0.2, 0.3], np.float32), np.array([1.5, -2.0, 0.5], np.float32)
    with pytest.raises(jax.errors.UnexpectedTracerError):
        jax.grad(lambda c: jjnp.sum(scaled_sin(jax, c, kind)(x)))(c)
    with pytest.raises(NotImplementedError, match=f"custom_{kind} function differentiated with respect to an "
                                                  "array it closes over"):
        irax.grad(lambda c: jnp.sum(scaled_sin(irax, c, kind)(x)))(c)


# Given a module's text alone, a fresh process runs an autodiff pass on it
# and the function the pass added: ((text, "vjp" or "jvp"), ...) on stdin.
DIFFERENTIATE_TEXT = """
import json, sys
import numpy as np
from iree.compiler import ir
from helpers import run_module
from irax.ir import mlir
from irax.frontend.core import ShapedArray
from irax.transforms import pipeline

x = np.array([0.1, 0.2, 0.3], np.float32)
vector, scalar = ShapedArray((3,), np.float32), ShapedArray((), np.float32)
results = []
for text, mode in json.load(sys.stdin):
    module = ir.Module.parse(text, mlir.context())
    pipeline.run(module)  # its first pass, differentiate, defines the declared derivative
    inputs, avals = ([x], [vector]) if mode == "grad" else ([x, np.ones(3, np.float32)], [vector, vector])
    results.append(np.asarray(run_module(module, inputs, avals)[-1]).tolist())
print(json.dumps(results))
"""


def test_a_printed_module_holds_its_derivatives_and_custom_rules():
    """A traced grad or jvp declares its derivative in the module, and a
    custom_vjp / custom_jvp call's rules are functions of the module too, so
    the text alone, parsed in another process, differentiates as the rules
    say: d/dx sum(3 sin x) by the clipped rule is 0.5 cos x, not 3 cos x."""
    import json
    import os
    import re
    import subprocess
    import sys

    x = jnp.asarray(np.array([0.1, 0.2, 0.3], np.float32))
    vjp_loss = lambda x: jnp.sum(sin_clipped_grad(x) * 3.0)  # noqa: E731
    jvp_loss = lambda x: jnp.sum(sin_doubled_tangent(x) * 3.0)  # noqa: E731
    texts = [
        (irax.grad(vjp_loss).lower(x).as_text("traced"), "grad"),
        (irax.grad(jvp_loss).lower(x).as_text("traced"), "grad"),
        (irax.jit(lambda x, t: irax.jvp(sin_doubled_tangent, (x,), (t,))).lower(x, x).as_text("traced"), "jvp"),
    ]
    assert re.search(r"irax_custom_vjp_\d+_bwd\(", texts[0][0]) and re.search(r"irax_custom_jvp_\d+_rule\(", texts[2][0])
    assert all("irax.vjp_of" in t or "irax.jvp_of" in t for t, _ in texts)
    tests = os.path.dirname(__file__)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}
    child = subprocess.run([sys.executable, "-c", DIFFERENTIATE_TEXT], input=json.dumps(texts), env=env,
                           capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    grad_vjp, grad_jvp, tangent = json.loads(child.stdout)
    cos = np.cos(np.asarray(x))
    expected = [0.5 * cos, 6.0 * cos, 2.0 * cos]
    in_process = [irax.grad(vjp_loss)(x), irax.grad(jvp_loss)(x), irax.jvp(sin_doubled_tangent, (x,), (x * 0 + 1,))[1]]
    for got, ours, want in zip([grad_vjp, grad_jvp, tangent], in_process, expected):
        np.testing.assert_allclose(got, want, rtol=1e-6)
        np.testing.assert_allclose(ours, want, rtol=1e-6)


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


def cookbook_fixed_point(jax, np):
    """JAX's autodiff cookbook: a fixed point whose custom VJP solves another
    fixed point, by calling itself in its bwd rule with a new `partial`."""
    @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
    def fixed_point(f, a, x_guess):
        def body(carry):
            return carry[1], f(a, carry[1])
        return jax.lax.while_loop(lambda c: np.abs(c[0] - c[1]) > 1e-6, body, (x_guess, f(a, x_guess)))[1]

    def fwd(f, a, x_init):
        x_star = fixed_point(f, a, x_init)
        return x_star, (a, x_star)

    def rev(f, res, x_star_bar):
        a, x_star = res
        _, vjp_a = jax.vjp(lambda a: f(a, x_star), a)
        a_bar, = vjp_a(fixed_point(functools.partial(rev_iter, f), (a, x_star, x_star_bar), x_star_bar))
        return a_bar, np.zeros_like(x_star)

    def rev_iter(f, packed, u):
        a, x_star, x_star_bar = packed
        _, vjp_x = jax.vjp(lambda x: f(a, x), x_star)
        return x_star_bar + vjp_x(u)[0]

    fixed_point.defvjp(fwd, rev)
    return lambda a: fixed_point(lambda a, x: 0.5 * (x + a / x), a, a)


def test_the_cookbook_fixed_point_like_jax():
    """Its rules were traced when it was called, and the bwd rule's own call
    traced its rules, without end: even the value hung. A call inside its
    own rules at other arguments is traced without rules now (JAX traces
    rules only to differentiate)."""
    ours, theirs = cookbook_fixed_point(irax, jnp), cookbook_fixed_point(jax, jjnp)
    np.testing.assert_allclose(ours(2.0), theirs(2.0), rtol=1e-6)
    np.testing.assert_allclose(irax.grad(ours)(2.0), jax.grad(theirs)(2.0), rtol=1e-5)
    np.testing.assert_allclose(irax.jit(irax.grad(ours))(2.0), jax.grad(theirs)(2.0), rtol=1e-5)
