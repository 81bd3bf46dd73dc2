"""The strategies the CPU presets (irax/backends/cpu_tiles.py): small f32
matrix products without data tiling, 2-D f32 convolutions with register
tiles that divide their loops; which ops get one, and that their values are
right at sizes that are no multiple of the tiles."""
import re

import numpy as np
import pytest
from iree.compiler import ir

import irax
import irax.numpy as jnp
from irax import lax
from irax.backends import cpu_tiles, prepare_steps
from irax.frontend import eager
from irax.frontend.core import ShapedArray
from irax.frontend.primitives.linalg import dot_general
from helpers import run_module

rng = np.random.default_rng(0)
pytestmark = pytest.mark.skipif(cpu_tiles.host_f32_lanes() is None,
                                reason="the CPU presets strategies only for the x86 vectors it was measured on")
SMALL = cpu_tiles.MATMUL_TILES.get(cpu_tiles.host_f32_lanes(), (0, 0, 0))[2]


def _iree_input(f, *args):
    return irax.jit(f).lower(*args).iree_input("cpu")


@pytest.mark.parametrize("m, k, n", [(2, 7, 5), (6, 16, 33), (37, 41, 29), (256, 256, 256)])
def test_small_products_skip_data_tiling_and_stay_right(m, k, n):
    a = rng.normal(size=(m, k)).astype(np.float32)
    b = rng.normal(size=(k, n)).astype(np.float32)
    f = irax.jit(lambda a, b: a @ b, device=irax.devices("cpu")[0])
    assert "compilation_info" in _iree_input(lambda a, b: a @ b, a, b)
    np.testing.assert_allclose(f(a, b), a @ b, rtol=2e-5, atol=2e-5 * k)


def test_transposed_operands_and_the_gradient_are_right():
    a = rng.normal(size=(24, 40)).astype(np.float32)
    b = rng.normal(size=(40, 12)).astype(np.float32)

    def loss(a, b):
        return jnp.sum(jnp.tanh(a @ b))

    grad = irax.jit(irax.grad(loss, argnums=(0, 1)), device=irax.devices("cpu")[0])
    text = _iree_input(irax.grad(loss, argnums=(0, 1)), a, b)
    assert text.count("{compilation_info") == 2  # the forward product and a.T @ t: t @ b.T is data-tiled
    t = 1 - np.tanh(a @ b) ** 2
    ga, gb = grad(a, b)
    np.testing.assert_allclose(ga, t @ b.T, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(gb, a.T @ t, rtol=1e-5, atol=1e-4)


def test_products_of_a_transpose_on_the_right_are_not_plain():
    """dX = dY @ W^T of a backward pass: IREE folds the transpose into the
    product, and the plain tiles read W^T across W's rows. Small ones keep
    IREE's data tiling (its packs read W as it lies: 128 x 512 x 512, CPU
    time per call 1.6-2.3 ms plain, 0.8-1.4 data-tiled, JAX 0.7), big ones
    get our packs (4096 x 512 x 512: 53 ms plain, 24 packed, JAX 24)."""
    a = rng.normal(size=(128, 512)).astype(np.float32)
    w = rng.normal(size=(512, 512)).astype(np.float32)
    assert "compilation_info" not in _iree_input(lambda a, w: a @ w.T, a, w)
    assert "compilation_info" in _iree_input(lambda a, w: a @ w, a, w)
    np.testing.assert_allclose(irax.jit(lambda a, w: a @ w.T, device=irax.devices("cpu")[0])(a, w), a @ w.T,
                               rtol=1e-4, atol=1e-3)
    if MMT4D is not None:
        text = _iree_input(lambda a, w: a @ w.T, np.ones((4096, 512), np.float32), w)
        assert "linalg.pack" in text and "linalg.matmul" not in text


@pytest.mark.parametrize("shapes, dtype", [(((SMALL // (256 * 8) + 1, 256), (256, 8)), np.float32),  # big, narrow
                                           (((8, 8), (8, 8)), np.float16),
                                           (((8, 8), (8, 8)), np.int32)])
def test_big_and_non_f32_products_keep_irax_s_text(shapes, dtype):
    a, b = (np.ones(s, dtype) for s in shapes)
    assert "compilation_info" not in _iree_input(lambda a, b: a @ b, a, b)


MMT4D = cpu_tiles.MMT4D_TILES.get(cpu_tiles.host_f32_lanes())
needs_mmt4d_tiles = pytest.mark.skipif(MMT4D is None, reason="big products keep IREE's data tiling on this CPU")


@needs_mmt4d_tiles
def test_big_products_are_packed_with_our_tiles_and_stay_right():
    """Above the small size, a product becomes packs, an mmt4d with the
    tiles MMT4D_TILES names and an unpack, at sizes no multiple of them
    (padded); the gradient's products (transposed operands) too."""
    (m0, n0), _ = MMT4D
    a = rng.normal(size=(601, 400)).astype(np.float32)
    b = rng.normal(size=(400, 701)).astype(np.float32)
    assert 601 * 400 * 701 > SMALL and 601 % m0 and 701 % n0

    def loss(a, b):
        return jnp.sum(jnp.tanh(a @ b))

    text = _iree_input(irax.grad(loss, argnums=(0, 1)), a, b)
    assert "linalg.matmul" not in text
    assert len(re.findall(rf"linalg.mmt4d {{compilation_info.*x{m0}x{n0}xf32>", text)) == 3  # forward and both grads
    cpu = irax.devices("cpu")[0]
    np.testing.assert_allclose(irax.jit(lambda a, b: a @ b, device=cpu)(a, b), a @ b, rtol=1e-4, atol=1e-3)
    t = 1 - np.tanh(a @ b) ** 2
    ga, gb = irax.jit(irax.grad(loss, argnums=(0, 1)), device=cpu)(a, b)
    np.testing.assert_allclose(ga, t @ b.T, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(gb, a.T @ t, rtol=1e-4, atol=1e-3)


@needs_mmt4d_tiles
def test_big_products_with_a_small_right_operand_are_plain_and_right():
    """A big product whose right operand fits PLAIN_RHS and whose output is
    whole plain tiles runs plain: here the forward product (1112 x 256 @
    256 x 512). The gradient's t @ b.T reads a transpose, so is packed, and
    so is b's gradient a.T @ t (a right operand of 1112 x 512); their
    outputs (1112 x 256, 256 x 512) are whole IN_PLACE_TILES, so written in
    place: packs of their operands, no unpack."""
    a = rng.normal(size=(1112, 256)).astype(np.float32)
    b = rng.normal(size=(256, 512)).astype(np.float32)
    assert 1112 * 256 * 512 > SMALL and 256 * 512 <= cpu_tiles.PLAIN_RHS < 1112 * 512 and 1112 % MMT4D[0][0]

    def loss(a, b):
        return jnp.sum(jnp.tanh(a @ b))

    text = _iree_input(irax.grad(loss, argnums=(0, 1)), a, b)
    (m0, n0), _ = cpu_tiles.IN_PLACE_TILES[cpu_tiles.host_f32_lanes()]
    assert 256 % m0 == 0 and 512 % n0 == 0 and 1112 % m0 == 0
    assert text.count("linalg.matmul {compilation_info") == 1 and text.count("linalg.pack") == 4
    assert "linalg.mmt4d" not in text and "linalg.unpack" not in text
    t = 1 - np.tanh(a @ b) ** 2
    ga, gb = irax.jit(irax.grad(loss, argnums=(0, 1)), device=irax.devices("cpu")[0])(a, b)
    np.testing.assert_allclose(ga, t @ b.T, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(gb, a.T @ t, rtol=1e-4, atol=1e-3)


def test_text_without_a_matmul_is_returned_as_is():
    text = "func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> {\n  return %a : tensor<2xf32>\n}"
    assert prepare_steps.run(text, [cpu_tiles.PRESETS]) is text


NHWC = ("NHWC", "HWIO", "NHWC")


def _conv(x, w, strides=(1, 1)):
    return lax.conv_general_dilated(x, w, strides, "SAME", dimension_numbers=NHWC)


def _conv_loss(x, w):
    return jnp.sum(jnp.sin(_conv(x, w)))


@pytest.mark.parametrize("x_shape, w_shape, strides", [
    ((2, 9, 7, 3), (3, 3, 3, 8), (1, 1)),    # rows from n x ow = 7, channels in steps of 3
    ((4, 10, 12, 16), (3, 2, 16, 40), (2, 1)),  # 40 features: tiles of 20; strided rows
    ((3, 5, 5, 2), (2, 2, 2, 5), (1, 1)),    # 5 features, 2 channels
])
def test_convolutions_and_their_gradients_are_tiled_and_right(x_shape, w_shape, strides):
    jax = pytest.importorskip("jax")
    x = rng.normal(size=x_shape).astype(np.float32)
    w = rng.normal(size=w_shape).astype(np.float32)
    f = lambda x, w: (_conv(x, w, strides), irax.grad(  # noqa: E731
        lambda x, w: jnp.sum(jnp.sin(_conv(x, w, strides))), argnums=(0, 1))(x, w))
    text = _iree_input(f, x, w)
    convs = 2 + int(np.prod(strides))  # forward, kernel gradient, input gradient (one per phase of the stride)
    assert text.count("linalg.conv_2d_nhwc_hwcf {compilation_info") == convs
    # each one's two inputs, and the kernel each input gradient's convolution flips (cv.flip_kernel)
    assert text.count("util.optimization_barrier") == 2 * convs + convs - 2
    out, (dx, dw) = irax.jit(f, device=irax.devices("cpu")[0])(x, w)

    def jax_f(x, w):
        conv = lambda x, w: jax.lax.conv_general_dilated(x, w, strides, "SAME", dimension_numbers=NHWC)  # noqa: E731
        return conv(x, w), jax.grad(lambda x, w: jax.numpy.sum(jax.numpy.sin(conv(x, w))), argnums=(0, 1))(x, w)
    want_out, (want_dx, want_dw) = jax_f(x, w)
    for got, want in ((out, want_out), (dx, want_dx), (dw, want_dw)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-4)


def test_one_channel_and_grouped_convolutions_are_products_of_patches():
    """A one-channel convolution and vmap's per-example kernel gradients (a
    grouped convolution) become tiled products of their patches, values kept."""
    jax = pytest.importorskip("jax")
    x = rng.normal(size=(3, 1, 9, 8, 1)).astype(np.float32)
    w = rng.normal(size=(3, 3, 1, 4)).astype(np.float32)

    def loss(conv, sum_):
        return lambda w, x: sum_(conv(x, w, (2, 1), "SAME", dimension_numbers=NHWC) ** 2)

    f = irax.vmap(irax.grad(loss(lax.conv_general_dilated, jnp.sum)), (None, 0))
    text = _iree_input(f, w, x)
    assert "irax.conv" not in text and "linalg.conv_2d" not in text
    assert text.count("linalg.matmul {compilation_info") == 1  # the forward one
    tiled = [line for line in text.splitlines() if "linalg.generic" in line and "compilation_info" in line]
    assert len(tiled) == 1  # the kernel gradients' batch of products
    got = irax.jit(f, device=irax.devices("cpu")[0])(w, x)
    want = jax.vmap(jax.grad(loss(jax.lax.conv_general_dilated, jax.numpy.sum)), (None, 0))(w, x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-4)


def test_tiles_divide_their_loops():
    """The register tile of each loop divides it (IREE turns a remainder
    into scalar code), rows (n x ow) at most ROWS, features at most 32."""
    for n, ow, f, c in [(32, 56, 64, 64), (32, 58, 64, 64), (64, 3, 64, 32), (1, 7, 512, 256), (5, 13, 24, 3)]:
        text = f"""func.func @main(%x: tensor<{n}x{ow + 2}x{ow + 2}x{c}xf32>, %w: tensor<3x3x{c}x{f}xf32>,
                                    %o: tensor<{n}x{ow}x{ow}x{f}xf32>) -> tensor<{n}x{ow}x{ow}x{f}xf32> {{
          %r = linalg.conv_2d_nhwc_hwcf {{dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}}
               ins(%x, %w : tensor<{n}x{ow + 2}x{ow + 2}x{c}xf32>, tensor<3x3x{c}x{f}xf32>)
               outs(%o : tensor<{n}x{ow}x{ow}x{f}xf32>) -> tensor<{n}x{ow}x{ow}x{f}xf32>
          return %r : tensor<{n}x{ow}x{ow}x{f}xf32>
        }}"""
        prepared = prepare_steps.run(text, [cpu_tiles.PRESETS])
        assert "compilation_info" in prepared
        registers = [int(v) for v in prepared.split("vector_common_parallel = [")[1].split("]")[0].split(",")]
        n_tile, _, ow_tile, f_tile = registers[:4]
        reduction = int(prepared.split("vector_reduction = [")[1].split("]")[0].split(",")[-1])
        assert n % n_tile == ow % ow_tile == f % f_tile == c % reduction == 0
        assert n_tile * ow_tile <= cpu_tiles.ROWS and f_tile <= 32 and reduction <= 8


@pytest.mark.parametrize("n", [1 << 20, 1_000_003])  # blocks of 1024; blocks of 1024 and 587 left over
def test_long_reductions_read_whole_rows_and_stay_right(n):
    x = rng.normal(size=n).astype(np.float32)
    assert "compilation_info" in _iree_input(jnp.sum, x)
    programs = irax.jit(lambda x: (jnp.sum(x), jnp.max(x), jnp.argmin(x), jnp.sum(x[:n // 64 * 64].reshape(-1, 64), axis=0)),
                        device=irax.devices("cpu")[0])
    total, top, lowest, columns = programs(x)
    np.testing.assert_allclose(total, x.astype(np.float64).sum(), rtol=1e-6, atol=1e-6 * np.abs(x).sum())
    assert top == x.max() and lowest == x.argmin()
    np.testing.assert_allclose(columns, x[:n // 64 * 64].reshape(-1, 64).astype(np.float64).sum(0), rtol=1e-5, atol=1e-3)


def test_long_folds_are_whole_vectors_where_the_size_allows():
    """1_024_000 elements as (1000, 1024), not (1024, 1000): rows of whole
    vectors of 64, in workgroups of 128 columns that divide them. With a
    row ending in a partial vector IREE masked every vector of it (eager
    max of 1e7: 1.13 -> 0.90 ms)."""
    x = rng.normal(size=1_024_000).astype(np.float32)
    text = _iree_input(jnp.max, x)
    assert "tensor<1000x1024xf32>" in text and "distribution = [128, 0]" in text
    assert irax.jit(jnp.max, device=irax.devices("cpu")[0])(x) == x.max()


def test_long_folds_propagate_nan_from_whole_and_partial_vectors():
    """The (1024, 976) view of 1_000_003 elements: 15 whole vectors of 64
    columns and one of 16 (masked). A NaN in either, or in the leftover, is
    the max and the min; an inf is not."""
    f = irax.jit(lambda x: (jnp.max(x), jnp.min(x)), device=irax.devices("cpu")[0])
    base = rng.normal(size=1_000_003).astype(np.float32)
    for at in (5 * 976 + 3, 7 * 976 + 970, 1_000_002):  # a whole vector's column, the partial one's, the leftover
        x = base.copy()
        x[at] = np.nan
        assert all(np.isnan(v) for v in f(x))
        x[at] = np.inf
        assert [float(v) for v in f(x)] == [np.inf, base.min()]


FOLDED = {  # a long reduction of computed values: the computation moves into the fold (cpu_fold_fusion.py)
    "sum(a * b)": lambda m, a, b: m.sum(a * b),
    "sum(a + 2 b)": lambda m, a, b: m.sum(a + b * 2),
    "sum(a * b + 0.5)": lambda m, a, b: m.sum(a * b + 0.5),  # reads a scalar (a 0-d tensor)
    "mean squared error": lambda m, a, b: m.mean((a - b) ** 2),
    "sum(tanh(a))": lambda m, a, b: m.sum(m.tanh(a)),
    "count of a > b": lambda m, a, b: m.sum(a > b),
    "max(|a|)": lambda m, a, b: m.max(m.abs(a)),
    "argmax(a * b)": lambda m, a, b: m.argmax(a * b),  # a fold of (value, index) pairs: two yields
    "categorical": lambda m, a, b: (irax.random.categorical(irax.random.key(0), m.zeros((3, 2)), axis=0)
                                    if m is jnp else np.zeros(2, np.int32)),
    "dot": lambda m, a, b: m.dot(a, b),
    "product used twice": lambda m, a, b: m.sum(a * b) + m.max(a * b),
}


@pytest.mark.parametrize("name", FOLDED)
def test_elementwise_work_moves_into_long_folds_and_stays_right(name):
    """IREE fused `a * b` into the fold reading it as a new op without the
    fold's strategy (and took mul-then-add for a matrix-vector product):
    25 ms for sum(a * b) of 1e7 float32. The fusion is made before IREE's."""
    a, b = (rng.normal(size=1_000_003).astype(np.float32) for _ in range(2))  # blocks of 1024 and a leftover
    f = FOLDED[name]
    text = _iree_input(lambda a, b: f(jnp, a, b), a, b)
    assert "compilation_info" in text
    if name == "sum(a * b)":
        assert "math.fma" in text and "arith.constant -0.000000e+00" in text
    if name == "sum(a * b + 0.5)":  # one fold reads a and b, the scalar a constant in it: the work of both generics
        assert re.search(r"ins\(%\w+, %\w+ : tensor<\d+x\d+xf32>, tensor<\d+x\d+xf32>\) outs\(%\w+ : tensor<\d+xf32>\) "
                         r"attrs = +\{compilation_info", text)
        assert "arith.constant 5.000000e-01 : f32" in text
    got = irax.jit(lambda a, b: f(jnp, a, b), device=irax.devices("cpu")[0])(a, b)
    expected = f(np, a.astype(np.float64), b.astype(np.float64))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * np.abs(a).sum())


def test_integer_products_added_up_are_read_through_a_barrier():
    """Fused into the fold, an int32 dot is a matrix-vector product to IREE,
    which these tiles made 2-3x slower, and IREE's own fusion of it half as
    fast as products written out and folded with the tiles: the fold reads
    them through a barrier. Right, wrapping around as int32 does."""
    a = (np.arange(1_000_003) % 7 - 3).astype(np.int32)
    b = np.full(1_000_003, 2**30 + 1, np.int32)  # products and sums past 2**31
    text = _iree_input(jnp.dot, a, b)
    fold = text[text.index("compilation_info = #"):]
    assert "arith.muli" not in fold.split("linalg.yield")[0]
    assert re.search(r"util.optimization_barrier %\w+ : tensor<\d+x\d+xi32>", text)
    dot = irax.jit(jnp.dot, device=irax.devices("cpu")[0])
    assert int(dot(a, a)) == int(np.dot(a.astype(np.int64), a))
    assert int(dot(a, b)) == int(np.dot(a, b))  # (int32 in NumPy too)


def test_batched_products_are_plain_and_right():
    a = rng.normal(size=(3, 37, 41)).astype(np.float32)
    b = rng.normal(size=(3, 41, 29)).astype(np.float32)
    assert "compilation_info" in _iree_input(lambda a, b: a @ b, a, b)
    got = irax.jit(lambda a, b: a @ b, device=irax.devices("cpu")[0])(a, b)
    np.testing.assert_allclose(got, a @ b, rtol=2e-5, atol=2e-5 * 41)


def test_a_fold_read_back_broadcast_keeps_iree_s_tiles():
    """IREE fuses `x - b.mean(0)` into the fold's dispatch, where the fold's
    tiles made vectors of whole columns: a compile error for (1000, 33)."""
    b = rng.normal(size=(1000, 33)).astype(np.float32)
    assert "compilation_info" not in _iree_input(lambda b: b - b.mean(0), b)
    np.testing.assert_allclose(irax.jit(lambda b: b - b.mean(0))(b), b - b.mean(0), rtol=1e-5, atol=1e-5)
    # through a reshape: softmax's max is kept with its axis, then read broadcast
    e = np.exp(b - b.max(0))
    np.testing.assert_allclose(irax.jit(lambda b: irax.nn.softmax(b, axis=0))(b), e / e.sum(0), rtol=1e-5, atol=1e-6)


def test_products_with_a_unit_dim_keep_iree_s_strategy():
    """IREE folds a product's unit dims away and fuses the rest with its
    neighbours; two preset products in one dispatch failed to compile (qr
    and svd of a 1x1 matrix, found by the Array API suite)."""
    a = np.array([[2.0]], np.float32)
    assert "compilation_info" not in _iree_input(lambda a: a @ a @ a, a)
    q, r = jnp.linalg.qr(a)
    np.testing.assert_allclose(np.asarray(q) @ np.asarray(r), a, rtol=1e-6)
    np.testing.assert_allclose(jnp.linalg.svd(a, compute_uv=False), [2.0], rtol=1e-6)
    b = rng.normal(size=(4, 1, 7)).astype(np.float32)
    c = rng.normal(size=(4, 7, 3)).astype(np.float32)
    assert "compilation_info" not in _iree_input(jnp.matmul, b, c)


def test_products_of_run_time_sizes_are_plain_and_right():
    """An eager product's kernel serves every size (its dims dynamic): plain
    tiles, as a small static product's, where IREE's data tiling made four
    dispatches; a vector's unit dim keeps IREE's strategy (above)."""
    def kernel_text(*avals):
        module = eager.build_module(dot_general, avals, {"dimension_numbers": (((1,), (0,)), ((), ()))})
        with module.context, ir.Location.unknown():
            return str(cpu_tiles._annotated(module) or module)

    dynamic = ShapedArray((None, None), np.float32)
    assert "compilation_info" in kernel_text(dynamic, dynamic)
    assert "compilation_info" not in kernel_text(ShapedArray((1, None), np.float32), dynamic)
    for m, k, n in [(3, 5, 7), (37, 41, 29), (100, 300, 50)]:
        a, b = rng.normal(size=(m, k)).astype(np.float32), rng.normal(size=(k, n)).astype(np.float32)
        np.testing.assert_allclose(jnp.asarray(a) @ jnp.asarray(b), a @ b, rtol=2e-5, atol=2e-5 * k)


# An elementwise generic reading its own position (linalg.index), folded
# through a reshape: what the scatter-set gradient's mask once was.
POSITION_READ_IN_A_FOLD = """
#map = affine_map<(d0) -> (d0)>
#fold_in = affine_map<(d0, d1) -> (d0, d1)>
#fold_out = affine_map<(d0, d1) -> (d1)>
module {
  func.func @main(%a: tensor<8xf32>, %b: tensor<8xi32>) -> tensor<4xf32> {
    %zero = arith.constant 0.000000e+00 : f32
    %e = tensor.empty() : tensor<8xf32>
    %picked = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]}
        ins(%a, %b : tensor<8xf32>, tensor<8xi32>) outs(%e : tensor<8xf32>) {
    ^bb0(%x: f32, %k: i32, %out: f32):
      %i = linalg.index 0 : index
      %i32 = arith.index_cast %i : index to i32
      %same = arith.cmpi eq, %k, %i32 : i32
      %y = arith.select %same, %x, %zero : f32
      linalg.yield %y : f32
    } -> tensor<8xf32>
    %rows = tensor.expand_shape %picked [[0, 1]] output_shape [2, 4] : tensor<8xf32> into tensor<2x4xf32>
    %init = tensor.empty() : tensor<4xf32>
    %zeros = linalg.fill ins(%zero : f32) outs(%init : tensor<4xf32>) -> tensor<4xf32>
    %sum = linalg.generic {indexing_maps = [#fold_in, #fold_out], iterator_types = ["reduction", "parallel"]}
        ins(%rows : tensor<2x4xf32>) outs(%zeros : tensor<4xf32>) {
    ^bb0(%x: f32, %acc: f32):
      %s = arith.addf %acc, %x : f32
      linalg.yield %s : f32
    } -> tensor<4xf32>
    return %sum : tensor<4xf32>
  }
}
"""


def test_work_reading_its_position_stays_out_of_the_fold():
    """Moved into the (2, 4) fold, the generic's linalg.index counted the
    fold's loops, not its own: [1, 0, 0, 0] where [6, 8, 10, 12] (silently;
    cpu_fold_fusion._producer; found by helper 'scatgrad')."""
    a, b = np.arange(1, 9, dtype=np.float32), np.arange(8, dtype=np.int32)
    [out] = run_module(POSITION_READ_IN_A_FOLD, [a, b], [ShapedArray((4,), np.float32)], irax.devices("cpu")[0])
    np.testing.assert_array_equal(np.asarray(out), a.reshape(2, 4).sum(0))
