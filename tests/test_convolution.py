"""lax.conv_general_dilated (and conv, conv_with_general_padding,
conv_transpose) and lax.reduce_window: values, gradients (jax.grad and
finite differences), forward mode and vmap against JAX, JAX's errors.

Each configuration is one jitted program computing the convolution and the
gradient of a loss of it together; the spatial sizes are small (5x6)."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax import lax
from tests.helpers import check_central_differences

jax = pytest.importorskip("jax")
jjnp = jax.numpy

rng = np.random.default_rng(0)
TOL = 2e-5


def sample(shape):
    return rng.standard_normal(shape).astype(np.float32)


def close(actual, expected, tol=TOL):
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(1.0, float(np.abs(expected).max(initial=0)))
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=tol, atol=tol * scale)


NHWC = ("NHWC", "HWIO", "NHWC")

# id -> (lhs shape, rhs shape, conv_general_dilated keywords)
CONVS = {
    "nhwc-same": ((2, 5, 6, 3), (3, 3, 3, 4), dict(window_strides=(1, 1), padding="SAME", dimension_numbers=NHWC)),
    "nchw-valid-strided": ((2, 3, 5, 6), (4, 3, 3, 2), dict(window_strides=(2, 1), padding="VALID")),
    "explicit-dilations-groups": ((2, 5, 6, 4), (3, 2, 2, 6), dict(
        window_strides=(1, 2), padding=[(1, 0), (2, -1)], lhs_dilation=(2, 1), rhs_dilation=(1, 2),
        dimension_numbers=NHWC, feature_group_count=2)),
    "batch-groups-same-lower": ((4, 5, 6, 3), (3, 2, 3, 4), dict(
        window_strides=(1, 1), padding="SAME_LOWER", dimension_numbers=NHWC, batch_group_count=2)),
    "1d": ((2, 3, 7), (4, 3, 3), dict(window_strides=(2,), padding="SAME")),
    "3d": ((1, 4, 5, 6, 2), (2, 2, 2, 2, 3), dict(
        window_strides=(1, 1, 2), padding="VALID", dimension_numbers=("NDHWC", "DHWIO", "NDHWC"))),
}


def _conv_and_grads(L, N, G, kw):
    """(conv(x, w), d/dx and d/dw of sum(sin(conv(x, w)))) with lax L, numpy N, grad G."""
    def loss(x, w):
        return N.sum(N.sin(L.conv_general_dilated(x, w, **kw)))

    return lambda x, w: (L.conv_general_dilated(x, w, **kw), G(loss, argnums=(0, 1))(x, w))


@pytest.mark.parametrize("config", list(CONVS))
def test_conv_values_and_gradients(config):
    lhs_shape, rhs_shape, kw = CONVS[config]
    x, w = sample(lhs_shape), sample(rhs_shape)
    out, grads = irax.jit(_conv_and_grads(lax, jnp, irax.grad, kw))(x, w)
    want_out, want_grads = _conv_and_grads(jax.lax, jjnp, jax.grad, kw)(x, w)
    close(out, want_out)
    for got, want in zip(grads, want_grads):
        close(got, want)


def test_conv_eager_matches_jax_and_finite_differences(x64):
    lhs_shape, rhs_shape, kw = CONVS["explicit-dilations-groups"]
    x, w = sample(lhs_shape), sample(rhs_shape)
    close(lax.conv_general_dilated(x, w, **kw), jax.lax.conv_general_dilated(x, w, **kw))
    # the directional derivative along (dx, dw), against central differences in float64 (x64: JAX's)
    dx, dw = sample(lhs_shape), sample(rhs_shape)
    c = sample(jax.eval_shape(lambda: jax.lax.conv_general_dilated(x, w, **kw)).shape)

    def loss(x, w):
        return jnp.sum(lax.conv_general_dilated(x, w, **kw) ** 2 * c)

    gx, gw = irax.grad(loss, argnums=(0, 1))(x, w)
    f = lambda x, w: jjnp.sum(jax.lax.conv_general_dilated(x, w, **kw) ** 2 * c)  # noqa: E731
    eps = 1e-3
    x_, w_, dx_, dw_ = (a.astype(np.float64) for a in (x, w, dx, dw))
    fd = (f(x_ + eps * dx_, w_ + eps * dw_) - f(x_ - eps * dx_, w_ - eps * dw_)) / (2 * eps)
    directional = float(np.sum(np.asarray(gx) * dx) + np.sum(np.asarray(gw) * dw))
    np.testing.assert_allclose(directional, float(fd), rtol=1e-4)


def test_conv_jvp():
    lhs_shape, rhs_shape, kw = CONVS["explicit-dilations-groups"]
    primals, tangents = (sample(lhs_shape), sample(rhs_shape)), (sample(lhs_shape), sample(rhs_shape))
    out, tangent = irax.jvp(lambda x, w: lax.conv_general_dilated(x, w, **kw), primals, tangents)
    want_out, want_tangent = jax.jvp(lambda x, w: jax.lax.conv_general_dilated(x, w, **kw), primals, tangents)
    close(out, want_out)
    close(tangent, want_tangent)


@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0)])
def test_conv_vmap(in_axes):
    _, rhs_shape, kw = CONVS["nhwc-same"]
    x = sample((3, 2, 5, 6, 3) if in_axes[0] == 0 else (2, 5, 6, 3))
    w = sample((3, *rhs_shape) if in_axes[1] == 0 else rhs_shape)
    got = irax.vmap(lambda x, w: lax.conv_general_dilated(x, w, **kw), in_axes)(x, w)
    close(got, jax.vmap(lambda x, w: jax.lax.conv_general_dilated(x, w, **kw), in_axes)(x, w))


def test_conv_per_example_gradients():
    """vmap of grad: the kernel gradient of every example is a grouped convolution."""
    _, rhs_shape, kw = CONVS["explicit-dilations-groups"]

    def loss(L, N):
        return lambda w, x: N.sum(N.tanh(L.conv_general_dilated(x[None], w, **kw)))

    x, w = sample((3, 5, 6, 4)), sample(rhs_shape)
    got = irax.vmap(irax.grad(loss(lax, jnp)), (None, 0))(w, x)
    close(got, jax.vmap(jax.grad(loss(jax.lax, jjnp)), (None, 0))(w, x))


def test_conv_per_example_gradients_of_a_two_layer_net_jitted():
    """JAX's differentially_private_sgd pattern, small: per-example kernel
    gradients of a one-channel strided first layer and a second layer (on
    the CPU backend, products of patches: backends/cpu_tiles.py)."""
    kw1 = dict(window_strides=(2, 2), padding="SAME", dimension_numbers=NHWC)
    kw2 = dict(window_strides=(2, 1), padding="VALID", dimension_numbers=NHWC)

    def loss(L, N):
        def f(w1, w2, x):
            h = N.tanh(L.conv_general_dilated(x[None], w1, **kw1))
            return N.sum(N.sin(L.conv_general_dilated(h, w2, **kw2)))
        return f

    x, w1, w2 = sample((3, 11, 12, 1)), sample((4, 4, 1, 5)), sample((3, 2, 5, 6))
    got = irax.jit(irax.vmap(irax.grad(loss(lax, jnp), argnums=(0, 1)), (None, None, 0)))(w1, w2, x)
    want = jax.vmap(jax.grad(loss(jax.lax, jjnp), argnums=(0, 1)), (None, None, 0))(w1, w2, x)
    for g, h in zip(got, want):
        close(g, h)


@pytest.mark.parametrize("lhs_shape, rhs_shape, strides, padding", [
    ((2, 9, 8, 3), (1, 3, 3, 4), (3, 2), "VALID"),       # 1 tap in 3 phases: those get zeros
    ((2, 10, 11, 2), (4, 3, 2, 3), (2, 3), "SAME"),      # phases of 2 and 1 taps, uneven rows
    ((3, 13, 2), (5, 2, 4), (4,), ((2, 1),)),            # 1-D, stride over the window
])
def test_strided_conv_input_gradient_by_phases(lhs_shape, rhs_shape, strides, padding):
    """The input gradient of a strided convolution, one convolution per phase
    of the stride (ad/convolution.py), against JAX's, plain and per example."""
    dn = ("NHWC", "HWIO", "NHWC") if len(strides) == 2 else ("NWC", "WIO", "NWC")
    x, w = sample(lhs_shape), sample(rhs_shape)

    def loss(L, N):
        return lambda x, w: N.sum(N.sin(L.conv_general_dilated(x, w, strides, padding, dimension_numbers=dn)))

    close(irax.jit(irax.grad(loss(lax, jnp)))(x, w), jax.grad(loss(jax.lax, jjnp))(x, w))
    per_example = lambda G, L, N: G.vmap(G.grad(lambda x, w: loss(L, N)(x[None], w)), (0, None))  # noqa: E731
    close(irax.jit(per_example(irax, lax, jnp))(x, w), per_example(jax, jax.lax, jjnp)(x, w))


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_strided_conv_gradient_of_one_channel(padding):
    """One channel in and out, stride (1, 2): the phases' kernels are strided
    slices of the kernel, which flipping them (a gather) read fused into its
    dispatch, and IREE failed to translate ("LLVM Translation failed for
    operation: builtin.unrealized_conversion_cast")."""
    kw = dict(window_strides=(1, 2), padding=padding)
    x, w = sample((1, 1, 3, 4)), sample((1, 1, 1, 3))
    out, grads = irax.jit(_conv_and_grads(lax, jnp, irax.grad, kw))(x, w)
    want_out, want_grads = _conv_and_grads(jax.lax, jjnp, jax.grad, kw)(x, w)
    close(out, want_out)
    for got, want in zip(grads, want_grads):
        close(got, want)
    loss = irax.jit(lambda p: {"x": jnp.sum(jnp.sin(lax.conv_general_dilated(p["x"], w, **kw)))})
    check_central_differences({"x": grads[0]}, loss, {"x": x}, x.shape)


def test_input_gradient_through_a_kernel_read_from_a_strided_slice():
    """The same gather on a kernel the user sliced with a stride."""
    def loss(L, N):
        return lambda x, w: N.sum(N.sin(L.conv_general_dilated(x, w[..., ::2], (1, 1), "VALID")))

    x, w = sample((1, 1, 3, 4)), sample((1, 1, 1, 6))
    close(irax.grad(loss(lax, jnp))(x, w), jax.grad(loss(jax.lax, jjnp))(x, w))


def test_conv_wrappers():
    lhs_shape, rhs_shape, _ = CONVS["nchw-valid-strided"]
    x, w = sample(lhs_shape), sample(rhs_shape)
    close(lax.conv(x, w, (2, 1), "VALID"), jax.lax.conv(x, w, (2, 1), "VALID"))
    args = (x, w, (2, 1), [(1, 1), (0, 2)], (1, 2), (2, 1))
    close(lax.conv_with_general_padding(*args), jax.lax.conv_with_general_padding(*args))


@pytest.mark.parametrize("padding, transpose_kernel", [("SAME", True), ("VALID", False), (((1, 2), (0, 1)), False)])
def test_conv_transpose(padding, transpose_kernel):
    x, w = sample((2, 5, 6, 3)), sample((3, 3, 4, 3) if transpose_kernel else (3, 3, 3, 4))
    kw = dict(strides=(2, 1), padding=padding, dimension_numbers=NHWC, transpose_kernel=transpose_kernel)
    close(lax.conv_transpose(x, w, **kw), jax.lax.conv_transpose(x, w, **kw))


def test_conv_dtypes():
    x, w = sample((1, 2, 5)), sample((3, 2, 2))
    half = lax.conv_general_dilated(x.astype(np.float16), w.astype(np.float16), (1,), "SAME")
    assert half.dtype == np.float16
    close(half.astype(np.float32), jax.lax.conv_general_dilated(x, w, (1,), "SAME"), tol=1e-2)
    xi, wi = (np.round(a * 3).astype(np.int8) for a in (x, w))
    wide = lax.conv_general_dilated(xi, wi, (1,), "SAME", preferred_element_type=jnp.int32, precision="highest")
    want = jax.lax.conv_general_dilated(xi, wi, (1,), "SAME", preferred_element_type=jjnp.int32)
    assert wide.dtype == want.dtype == np.int32
    np.testing.assert_array_equal(np.asarray(wide), np.asarray(want))


def test_conv_dimension_numbers():
    for spec in [None, NHWC, ("NCHW", "OIHW", "NCHW"), ("NHWC", "OHWI", "NCHW"), ("CHWN", "IWHO", "WNHC")]:
        got = lax.conv_dimension_numbers((1, 2, 3, 4), (5, 6, 7, 8), spec)
        assert tuple(map(tuple, got)) == tuple(map(tuple, jax.lax.conv_dimension_numbers((1, 2, 3, 4), (5, 6, 7, 8),
                                                                                          spec)))
    assert lax.conv_dimension_numbers((1,), (1,), got) is got
    assert lax.padtype_to_pads((5, 6), (3, 2), (2, 2), "SAME_LOWER") == jax.lax.padtype_to_pads(
        (5, 6), (3, 2), (2, 2), "SAME_LOWER")


ERRORS = [
    (lambda L, N: L.conv_general_dilated(N.ones((1, 2, 5)), N.ones((3, 2, 2), N.int32), (1,), "SAME"), TypeError,
     "requires arguments to have the same dtypes"),
    (lambda L, N: L.conv_general_dilated(N.ones((1, 3, 5)), N.ones((4, 2, 2)), (1,), "SAME", feature_group_count=2),
     ValueError, "feature_group_count must divide lhs feature dimension size"),
    (lambda L, N: L.conv_general_dilated(N.ones((1, 2, 5)), N.ones((3, 2, 2)), (1,), "FOO"), RuntimeError,
     "Unrecognized padding type"),
    (lambda L, N: L.conv_general_dilated(N.ones((1, 2, 5)), N.ones((3, 2, 2)), (1,), "SAME", lhs_dilation=(2,)),
     ValueError, "String padding is not implemented for transposed convolution"),
    (lambda L, N: L.conv_general_dilated(N.ones((1, 2, 5)), N.ones((3, 2, 2)), (1,), "SAME",
                                         dimension_numbers=("NCH", "OIW", "NCH")), TypeError,
     "must each have the same set of spatial characters"),
]


@pytest.mark.parametrize("call, error, words", ERRORS)
def test_conv_errors(call, error, words):
    with pytest.raises(error, match=words):
        call(jax.lax, jjnp)
    with pytest.raises(error, match=words):
        call(lax, jnp)


# ---------------------------------------------------------------------------
# reduce_window

WINDOWS = {
    "pool-2x2": dict(window_dimensions=(1, 2, 2, 1), window_strides=(1, 2, 2, 1), padding="VALID"),
    "same-base-dilated": dict(window_dimensions=(1, 3, 2, 1), window_strides=(1, 2, 1, 1), padding="SAME",
                              base_dilation=(1, 2, 1, 1)),
    "explicit-window-dilated": dict(window_dimensions=(1, 2, 2, 1), window_strides=(1, 1, 1, 1),
                                    padding=((0, 0), (1, 1), (0, -1), (0, 0)), window_dilation=(1, 2, 1, 1)),
}
MONOIDS = {"max": (jnp.maximum, jax.lax.max, -np.inf), "min": (jnp.minimum, jax.lax.min, np.inf),
           "sum": (jnp.add, jax.lax.add, 0.0)}


def _pool_input():
    x = sample((2, 5, 6, 3))
    x[0, :2, :2, 0] = 1.0  # a window of ties: the gradient goes to the first
    x[1, 2:4, 2:4, 1] = 0.0
    return x


def _window_and_grad(L, N, G, computation, init, kw):
    def loss(x):
        return N.sum(N.sin(L.reduce_window(x, init, computation, **kw)))

    return lambda x: (L.reduce_window(x, init, computation, **kw), G(loss)(x))


@pytest.mark.parametrize("monoid", list(MONOIDS))
@pytest.mark.parametrize("window", list(WINDOWS))
def test_reduce_window_values_and_gradients(window, monoid):
    ours, theirs, init = MONOIDS[monoid]
    kw = WINDOWS[window]
    x = _pool_input()
    out, grad = irax.jit(_window_and_grad(lax, jnp, irax.grad, ours, init, kw))(x)
    want = jax.lax.reduce_window(x, init, theirs, **kw)
    np.testing.assert_allclose(np.asarray(out), np.asarray(want), rtol=TOL, atol=TOL)
    if "window_dilation" in kw and monoid != "sum":
        return  # JAX has no gradient of a window-dilated max or min
    close(grad, _window_and_grad(jax.lax, jjnp, jax.grad, theirs, init, kw)(x)[1])


def test_windows_whose_stride_leaves_input_over_with_one_output():
    """One window along a dim whose stride leaves an element over (3 = 2 + 1):
    IREE dropped the output's unit loop, read the window map o*2 + k as k,
    and wanted that input dim to be the window's 2 ("inferred input/output
    operand #1 has shape's dimension #0 to be 3, but found 2"). Eagerly, and
    with gradients under jit."""
    y, kw = sample((3,)), dict(window_dimensions=(2,), window_strides=(2,), padding="VALID")
    for ours, theirs, init in MONOIDS.values():
        close(lax.reduce_window(y, init, ours, **kw), jax.lax.reduce_window(y, init, theirs, **kw))
        out, grad = irax.jit(_window_and_grad(lax, jnp, irax.grad, ours, init, kw))(y)
        close(grad, _window_and_grad(jax.lax, jjnp, jax.grad, theirs, init, kw)(y)[1])
    kw = dict(window_strides=(2,), padding="VALID")
    x, w = sample((1, 2, 3)), sample((2, 2, 2))
    close(lax.conv_general_dilated(x, w, **kw), jax.lax.conv_general_dilated(x, w, **kw))
    out, grads = irax.jit(_conv_and_grads(lax, jnp, irax.grad, kw))(x, w)
    for got, want in zip(grads, _conv_and_grads(jax.lax, jjnp, jax.grad, kw)(x, w)[1]):
        close(got, want)


def test_max_pool_gradient_goes_to_the_first_maximum():
    x = np.array([[3.0, 3.0, 1.0], [3.0, 2.0, 5.0]], np.float32)
    want = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    jax_grad = jax.grad(lambda x: jjnp.sum(jax.lax.reduce_window(x, -np.inf, jax.lax.max, (2, 2), (1, 1), "VALID")))
    np.testing.assert_array_equal(np.asarray(jax_grad(x)), want)
    grad = irax.grad(lambda x: jnp.sum(lax.reduce_window(x, -np.inf, jnp.maximum, (2, 2), (1, 1), "VALID")))(x)
    np.testing.assert_array_equal(np.asarray(grad), want)


def test_reduce_window_jvp_and_vmap():
    kw = WINDOWS["same-base-dilated"]
    x, t = _pool_input(), sample((2, 5, 6, 3))
    for ours, theirs, init in (MONOIDS["max"], MONOIDS["sum"]):
        got = irax.jvp(lambda x: lax.reduce_window(x, init, ours, **kw), (x,), (t,))[1]
        close(got, jax.jvp(lambda x: jax.lax.reduce_window(x, init, theirs, **kw), (x,), (t,))[1])
    ours, theirs, init = MONOIDS["max"]
    xs = np.stack([x, -x])
    got = irax.vmap(irax.grad(lambda x: jnp.sum(lax.reduce_window(x, init, ours, **kw) ** 2)))(xs)
    close(got, jax.vmap(jax.grad(lambda x: jjnp.sum(jax.lax.reduce_window(x, init, theirs, **kw) ** 2)))(xs))


@pytest.mark.parametrize("window", [(2, 2, 1), (4, 5, 2)])  # gathered; big enough to scatter (ad/convolution.py)
def test_max_pool_per_example_gradients_with_ties(window):
    """vmap of grad, as JAX's differentially_private_sgd example takes per-example
    gradients: each member's tied extremes (rounded inputs tie often) give the
    gradient to the first, as JAX's do, where windows overlap (stride 1: a tie
    can win several windows); and vmap of a Hessian-vector product (jvp of grad)."""
    x, w, t = np.round(_pool_input()), sample((3,)), sample((2, 5, 6, 3))
    kw = dict(window_dimensions=window, window_strides=(1, 1, 1), padding="VALID")
    for monoid in ("max", "min"):
        ours, theirs, init = MONOIDS[monoid]

        def loss(L, N, computation):
            return lambda w, x: N.sum(N.sin(L.reduce_window(x * w, init, computation, **kw)))

        def hvp(G, loss):
            return lambda w, x, t: G.jvp(lambda x: G.grad(loss, argnums=1)(w, x), (x,), (t,))[1]

        got = irax.jit(irax.vmap(irax.grad(loss(lax, jnp, ours), argnums=(0, 1)), (None, 0)))(w, x)
        want = jax.vmap(jax.grad(loss(jax.lax, jjnp, theirs), argnums=(0, 1)), (None, 0))(w, x)
        for g, h in zip(got, want):
            close(g, h)
        close(irax.vmap(hvp(irax, loss(lax, jnp, ours)), (None, 0, 0))(w, x, t),
              jax.vmap(hvp(jax, loss(jax.lax, jjnp, theirs)), (None, 0, 0))(w, x, t))


def test_reduce_window_any_computation(x64):
    """Other computations, or an initial value that is not the identity: JAX
    reduces each window from it, skipping padding and dilation holes. (JAX
    has no gradient of these: finite differences of its values in float64.)"""
    x, one, ten = sample((5, 6)), np.float32(1), np.float32(10)
    kw = dict(window_dimensions=(2, 2), window_strides=(1, 2), padding=((1, 0), (0, 1)), base_dilation=(2, 1))
    close(lax.reduce_window(x, one, jnp.multiply, **kw), jax.lax.reduce_window(x, one, jax.lax.mul, **kw))
    close(lax.reduce_window(x, ten, jnp.add, **kw), jax.lax.reduce_window(x, ten, jax.lax.add, **kw))
    grad = irax.grad(lambda x: jnp.sum(lax.reduce_window(x, one, jnp.multiply, **kw)))(x)
    f = lambda x: jjnp.sum(jax.lax.reduce_window(x, 1.0, jax.lax.mul, **kw))  # noqa: E731
    x_, d, eps = x.astype(np.float64), sample(x.shape).astype(np.float64), 1e-4
    np.testing.assert_allclose(np.sum(np.asarray(grad) * d), (f(x_ + eps * d) - f(x_ - eps * d)) / (2 * eps),
                               rtol=1e-4)
    with pytest.raises(TypeError, match="inconsistent dtypes for operands and init_values"):
        jax.lax.reduce_window(x, 0, jax.lax.mul, (2, 2))
    with pytest.raises(TypeError, match="inconsistent dtypes for operands and init_values"):
        lax.reduce_window(x, 0, jnp.multiply, (2, 2))


def test_reduce_window_of_several_operands():
    """Operands and initial values as pytrees of one structure, which the
    computation takes and returns (JAX's variadic reduce_window): an argmax
    pool, its value and the first index of its maximum per window. irax
    raised a ValueError (it read the tuple as one operand of rank 3)."""
    x = sample((5, 6))
    index = np.arange(30, dtype=np.int32).reshape(5, 6)

    def argmax_pool(L, N):
        def combine(a, b):
            take = (b[0] > a[0]) | ((b[0] == a[0]) & (b[1] < a[1]))
            return N.where(take, b[0], a[0]), N.where(take, b[1], a[1])
        kw = dict(window_dimensions=(2, 2), window_strides=(1, 2), padding=((1, 0), (0, 1)), base_dilation=(2, 1))
        return L.reduce_window((x, index), (-np.inf, np.int32(2**31 - 1)), combine, **kw)

    got, want = argmax_pool(lax, jnp), argmax_pool(jax.lax, jjnp)
    close(got[0], want[0])
    np.testing.assert_array_equal(np.asarray(got[1]), np.asarray(want[1]))
    product = lambda a, b: {"a": a["a"] * b["a"]}  # noqa: E731
    got = lax.reduce_window({"a": x}, {"a": np.float32(1)}, product, (2, 3))
    close(got["a"], jax.lax.reduce_window({"a": x}, {"a": np.float32(1)}, product, (2, 3))["a"])
    with pytest.raises(ValueError, match="Operands must have the same tree structure as init_values"):
        lax.reduce_window((x, index), (np.float32(0),), lambda a, b: a, (2, 2))


def test_reduce_window_lax_add_of_bools_is_a_type_error_as_jax():
    """lax.add refuses bools (irax summed them as an or); jnp.add is their or in both."""
    b = np.array([True, False, True, True])
    with pytest.raises(TypeError) as expected:
        jax.lax.reduce_window(b, False, jax.lax.add, (2,), (1,), "VALID")
    with pytest.raises(TypeError, match=str(expected.value)):
        lax.reduce_window(b, False, lax.add, (2,), (1,), "VALID")
    np.testing.assert_array_equal(np.asarray(lax.reduce_window(b, False, jnp.add, (2,), (1,), "VALID")),
                                  np.asarray(jax.lax.reduce_window(b, False, jjnp.add, (2,), (1,), "VALID")))


def test_grouped_conv_under_checkpoint():
    """A remat policy reads the grouped convolution's generic (window maps) as a possible dot."""
    lhs_shape, rhs_shape, kw = CONVS["explicit-dilations-groups"]
    x, w = sample(lhs_shape), sample(rhs_shape)

    def loss(L, N, checkpoint, policies):
        f = checkpoint(lambda x, w: N.sin(L.conv_general_dilated(x, w, **kw)),
                       policy=policies.dots_with_no_batch_dims_saveable)
        return lambda x, w: N.sum(f(x, w) ** 2)

    got = irax.grad(loss(lax, jnp, irax.checkpoint, irax.checkpoint_policies), argnums=(0, 1))(x, w)
    want = jax.grad(loss(jax.lax, jjnp, jax.checkpoint, jax.checkpoint_policies), argnums=(0, 1))(x, w)
    for g, h in zip(got, want):
        close(g, h)


@pytest.mark.parametrize("name, args", [
    ("conv_shape_tuple", ((2, 3, 10, 9), (4, 3, 3, 2), (2, 1), "SAME")),
    ("conv_shape_tuple", ((4, 3, 10, 9), (4, 3, 3, 2), (2, 1), [(1, 0), (0, 2)], 2)),
    ("conv_general_shape_tuple", ((2, 10, 9, 3), (3, 2, 3, 4), (1, 3), "VALID", ("NHWC", "HWIO", "NCHW"))),
    ("conv_transpose_shape_tuple", ((2, 10, 9, 3), (3, 2, 3, 4), (2, 2), "SAME", ("NHWC", "HWIO", "NHWC"))),
    ("conv_transpose_shape_tuple", ((2, 10, 9, 3), (3, 2, 3, 4), (2, 3), [(1, 1), (0, 2)], ("NHWC", "HWIO", "NHWC"))),
    ("reduce_window_shape_tuple", ((10, 9), (3, 2), (2, 1), [(1, 1), (0, 0)], (2, 1), (1, 3))),
])
def test_lax_shape_helpers_match_jax(name, args):
    """lax's output-shape helpers, missing before (libraries call them to size their layers)."""
    assert getattr(lax, name)(*args) == tuple(int(n) for n in getattr(jax.lax, name)(*args))
