"""Tiered jit (irax/frontend/tiered.py): a staged program's first calls run
evaluated with NumPy (irax/ir/evaluate.py) while IREE compiles it in the
background; later calls run the compiled program.

Each test starts from an empty compile cache (memory and disk), and holds
the background compile at a gate until it lets it go, so which tier runs
each call is known, not raced.
"""
import os
import subprocess
import sys
import threading

import ml_dtypes
import numpy as np
import pytest
from helpers import x64_mode
from iree.compiler import ir

import irax
import irax.numpy as jnp
from irax.backends import cache
from irax.config import config
from irax.frontend import eager, tiered
from irax.ir import evaluate, evaluate_steps, numpy_ops

jax = pytest.importorskip("jax")
rng = np.random.default_rng(0)
X = rng.normal(size=(3, 4)).astype(np.float32)
W = rng.normal(size=(4, 5)).astype(np.float32)


class Tiers:
    """Counts of tier-1 evaluations and swaps, and the gate of the background compile."""

    def __init__(self, monkeypatch):
        self.evaluated, self.swapped = 0, 0
        self.gate = threading.Event()
        self.failure = None  # an exception the background compile raises instead, once let go
        evaluate, swap, compile_ = tiered.FirstTier.evaluate, tiered.FirstTier.swap, cache.cached_compile

        def counted_evaluate(first, buffers):
            self.evaluated += 1
            return evaluate(first, buffers)

        def counted_swap(first):
            self.swapped += 1
            return swap(first)

        def gated_compile(*args, **kwargs):
            if threading.current_thread().name == "irax-tiered-jit":
                assert self.gate.wait(120), "the test never let the background compile go"
                if self.failure is not None:
                    raise self.failure
            return compile_(*args, **kwargs)

        monkeypatch.setattr(tiered.FirstTier, "evaluate", counted_evaluate)
        monkeypatch.setattr(tiered.FirstTier, "swap", counted_swap)
        monkeypatch.setattr(cache, "cached_compile", gated_compile)

    def compile_now(self):
        """Let the background compiles go, and wait for them."""
        self.gate.set()
        tiered.wait()


@pytest.fixture
def tiers(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "irax_tiered_jit", True)
    monkeypatch.setattr(config, "irax_disable_cache", False)
    monkeypatch.setattr(config, "irax_cache_dir", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_memory", cache.LRU())  # as in a fresh process
    gated = Tiers(monkeypatch)
    yield gated
    gated.compile_now()  # nothing left waiting at the gate for the next test


def mlp_loss(w, x):
    return jnp.mean(jnp.tanh(x @ w) ** 2)


def test_the_first_calls_are_evaluated_then_the_compiled_program_takes_over(tiers):
    f = irax.jit(lambda w, x: jnp.maximum(x @ w, 0.0).sum(axis=0))
    want = np.maximum(X @ W, 0).sum(axis=0)
    first, second = f(W, X), f(W, X)
    assert (tiers.evaluated, tiers.swapped) == (2, 0)
    tiers.compile_now()
    third, fourth = f(W, X), f(W, X)
    assert (tiers.evaluated, tiers.swapped) == (2, 1)  # swapped once; the warm path runs the program itself
    for out in (first, second, third, fourth):
        np.testing.assert_allclose(out, want, rtol=1e-5)
        assert out.dtype == np.float32 and out.shape == (5,)


def test_no_compile_on_the_calling_thread(tiers):
    before, in_background = cache.stats()["compiles"], tiered.stats["compiles"]
    np.testing.assert_allclose(irax.jit(lambda x: jnp.sin(x) * 3)(X), np.sin(X) * 3, rtol=1e-6)
    tiers.compile_now()
    assert cache.stats()["compiles"] == before
    assert tiered.stats["compiles"] == in_background + 1


def test_the_setting_turns_tiers_off(tiers, monkeypatch):
    monkeypatch.setattr(config, "irax_tiered_jit", False)
    before = cache.stats()["compiles"]
    np.testing.assert_allclose(irax.jit(lambda x: jnp.cos(x) - 1)(X), np.cos(X) - 1, rtol=1e-6, atol=1e-7)
    assert tiers.evaluated == 0 and cache.stats()["compiles"] == before + 1


def test_jit_of_grad_same_values_on_both_tiers(tiers):
    df = irax.jit(irax.grad(mlp_loss))
    first = np.asarray(df(W, X))
    tiers.compile_now()
    second = np.asarray(df(W, X))
    assert tiers.evaluated == 1 and tiers.swapped == 1
    np.testing.assert_allclose(first, second, rtol=1e-5, atol=1e-7)
    want = jax.grad(lambda w, x: jax.numpy.mean(jax.numpy.tanh(x @ w) ** 2))(W, X)
    np.testing.assert_allclose(first, np.asarray(want), rtol=1e-5, atol=1e-7)


def test_scan_rnn_gradient_on_the_first_tier(tiers):
    def loss(w, xs):
        h, hs = irax.lax.scan(lambda h, x: (jnp.tanh(h @ w + x),) * 2, jnp.zeros((2, 4)), xs)
        return jnp.mean(hs ** 2)

    xs = rng.normal(size=(6, 2, 4)).astype(np.float32)
    w = (rng.normal(size=(4, 4)) / 2).astype(np.float32)
    first = np.asarray(irax.jit(irax.grad(loss))(w, xs))
    assert tiers.evaluated == 1
    tiers.compile_now()
    np.testing.assert_allclose(first, np.asarray(irax.jit(irax.grad(loss))(w, xs)), rtol=1e-5, atol=1e-7)


def test_integers_and_random_bits_are_exact_on_the_first_tier(tiers):
    """MLIR's integers carry no sign: the unsigned ops of threefry (shifts,
    compares) and C's truncating division must be read as IREE reads them;
    and JAX's random floats need IREE's fused multiply-adds."""
    def f(key, a, b):
        return irax.random.normal(key, (7,)), a // b, a % b, jnp.right_shift(a.astype(jnp.uint32), 3), a < b

    a = np.array([-7, 7, -8, 9, 2**31 - 1], np.int32)
    b = np.array([2, -2, 3, -4, 5], np.int32)
    key = irax.random.PRNGKey(3)  # (a staged program of its own)
    evaluated, swapped = tiers.evaluated, tiers.swapped
    first = irax.jit(f)(key, a, b)
    assert tiers.evaluated == evaluated + 1
    tiers.compile_now()
    second = irax.jit(f)(key, a, b)
    assert tiers.swapped == swapped + 1
    for x, y in zip(first, second):  # bit for bit: the sampler's a * b + c is fused as LLVM fuses it
        np.testing.assert_array_equal(x, y, strict=True)
    np.testing.assert_array_equal(first[1], a // b)
    np.testing.assert_array_equal(first[2], a % b)
    np.testing.assert_array_equal(first[3], a.astype(np.uint32) >> 3)


def test_float16_is_rounded_op_by_op_on_both_tiers(tiers):
    """As NumPy computes float16 (and XLA, and LLVM for IREE): each op in
    float32, its result rounded to float16. The first tier fused x * 8.5 - 3
    into one multiply-add, as float32's (one ulp off in 28% of elements)."""
    x = (rng.uniform(-1, 1, 256) * np.exp2(rng.integers(-24, 16, 256))).astype(np.float16)
    f = irax.jit(lambda x: (x * 8.5 - 3, x * 0.0013 * x + x * 1e-4))
    first = f(x)
    assert tiers.evaluated == 1
    tiers.compile_now()
    second = f(x)
    assert tiers.swapped == 1
    for tier in (first, second):
        for ours, numpy_s in zip(tier, (x * 8.5 - 3, x * np.float16(0.0013) * x + x * np.float16(1e-4))):
            np.testing.assert_array_equal(np.asarray(ours).view(np.uint16), numpy_s.view(np.uint16))


def test_donated_arguments_are_deleted_after_a_first_tier_call(tiers):
    f = irax.jit(lambda x, y: x.at[0].set(y[0]) * 2, donate_argnums=0)
    x, y = jnp.asarray(X), jnp.asarray(X + 1)
    out = f(x, y)
    assert tiers.evaluated == 1 and x.is_deleted() and not y.is_deleted()
    want = X.copy()
    want[0] = X[0] + 1
    np.testing.assert_allclose(out, want * 2)
    with pytest.raises(RuntimeError, match="deleted"):
        f(x, y)


def test_python_side_effects_and_trace_errors_happen_once(tiers):
    calls = []

    def f(x):
        calls.append(1)
        return x + 1

    jf = irax.jit(f)
    jf(X), jf(X)
    tiers.compile_now()
    jf(X)
    assert len(calls) == 1  # traced once; neither tier runs the Python again

    bad = irax.jit(lambda x: x + 1 if x.sum() > 0 else x)
    with pytest.raises(irax.errors.ConcretizationTypeError):
        bad(X)
    with pytest.raises(TypeError, match="add got incompatible shapes"):
        irax.jit(lambda x: x + x[:2])(X)


def test_an_evaluation_failure_waits_for_the_compiled_program(tiers, monkeypatch):
    def refuse(first, buffers):
        raise IndexError("index 9 is out of bounds")

    monkeypatch.setattr(tiered.FirstTier, "evaluate", refuse)
    tiers.gate.set()
    np.testing.assert_allclose(irax.jit(lambda x: x * 5)(X), X * 5)
    assert tiers.swapped == 1


def test_a_compile_error_is_raised_by_the_call_that_needs_the_program(tiers):
    tiers.failure = RuntimeError("the compile failed")
    f = irax.jit(lambda x: x - 3)
    np.testing.assert_allclose(f(X), X - 3)  # the first tier does not need it
    tiers.compile_now()
    with pytest.raises(RuntimeError, match="the compile failed"):
        f(X)


def test_a_program_in_the_compile_cache_runs_compiled_at_once(tiers):
    f = lambda x: jnp.exp(x) / 2  # noqa: E731
    irax.jit(f)(X)
    tiers.compile_now()
    evaluated = tiers.evaluated
    np.testing.assert_allclose(irax.jit(f)(X), np.exp(X) / 2, rtol=1e-6)  # another jit, the same program text
    assert tiers.evaluated == evaluated


EXIT = """
import numpy as np
import irax, irax.numpy as jnp
print(irax.jit(lambda x: jnp.tanh(x) + 1)(np.ones(3, np.float32)))
"""  # and exit at once, the compile under way


def test_exit_waits_for_the_running_compile_and_leaves_the_cache_whole(tmp_path):
    env = dict(os.environ, IRAX_TIERED_JIT="1", IRAX_CACHE_DIR=str(tmp_path), IRAX_DISABLE_CACHE="0",
               IRAX_PLATFORMS="cpu")
    run = subprocess.run([sys.executable, "-c", EXIT], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "leaked" not in run.stderr and "1.7615" in run.stdout
    names = os.listdir(tmp_path)
    assert names and all(name.endswith(".irax") for name in names), names  # the program, no temp file


def test_a_result_sharing_its_operand_is_noted_once_the_compiled_program_runs(tiers):
    """The first tier's results are new arrays, the compiled program's `a * 1.0`
    is its argument itself: the calls evaluated with NumPy must not stand for
    the program's (executable.Executable.shares_none), so that donating the
    argument later leaves the result alone."""
    f = irax.jit(lambda a: a * 1.0)
    donate = irax.jit(lambda a: a.at[0].set(7.0), donate_argnums=0)
    x = jnp.asarray(X[0])
    f(x), f(x), donate(jnp.asarray(X[1]))
    assert (tiers.evaluated, tiers.swapped) == (3, 0)
    tiers.compile_now()  # (donate's too: the loop's donations write in place)
    for _ in range(3):  # the swap, then warm calls
        x = jnp.asarray(X[0])
        same = f(x)
        np.testing.assert_array_equal(donate(x)[1:], X[0, 1:])
        np.testing.assert_array_equal(same, X[0])


def first_and_compiled(tiers, f, *args):
    """`f`'s first call (evaluated with NumPy) and a call of its compiled program, as NumPy arrays."""
    jf = irax.jit(f)
    evaluated, swapped = tiers.evaluated, tiers.swapped
    first = jax.tree.map(np.asarray, jf(*args))
    assert (tiers.evaluated, tiers.swapped) == (evaluated + 1, swapped)  # evaluated, and it did not fail
    tiers.compile_now()
    return first, jax.tree.map(np.asarray, jf(*args))


@pytest.mark.parametrize("dtype", [ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2])  # (NumPy's kinds "V" and "f")
def test_results_of_8_bit_floats_are_their_bit_patterns(tiers, dtype):
    """The module holds float8 as i8 bits: the first tier's result is those
    bits seen as float8, not the integers converted by value."""
    x = X[0].astype(dtype)
    first, compiled = first_and_compiled(tiers, lambda a: (a.astype(jnp.float32) * 3).astype(a.dtype), x)
    want = (x.astype(np.float32) * 3).astype(dtype)
    for out in (first, compiled):
        assert out.dtype == want.dtype
        np.testing.assert_array_equal(out.view(np.uint8), want.view(np.uint8))


# float32 subnormals; 1.1e-38 and 2e-38 are either side of the smallest normal
SUBNORMALS = np.array([1e-40, -1e-40, 2e-38, 1.1e-38], np.float32)


def test_subnormals_are_flushed_as_the_cpu_flushes_them(tiers):
    """IREE's CPU programs, as XLA's, run with flush-to-zero and
    denormals-are-zero: arithmetic and compares read a subnormal as ±0 and
    write one as ±0; abs and selects move its bits, and so does x * 1, which
    the compilers fold away. So does the first tier."""
    def f(x, L=jnp):
        return (x * 1e30, x * 1.0, x > 0, L.log(x), L.abs(x), x[:2].sum(), x - 1.5e-38, L.maximum(x, 0.0),
                L.where(x != 1.0, x, 0.0), L.exp(x - 88.0) * 1e-6, L.tanh(x), L.sqrt(L.abs(x)), x * 3.0, 1.0 - x,
                x / 0.5)

    first, compiled = first_and_compiled(tiers, f, SUBNORMALS)
    want = jax.jit(lambda x: f(x, jax.numpy))(SUBNORMALS)
    for a, b, w in zip(first, compiled, want):
        np.testing.assert_array_equal(a, b, strict=True)
        np.testing.assert_allclose(a, np.asarray(w), rtol=1e-6, atol=0)
        assert (np.signbit(a) == np.signbit(np.asarray(w))).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_functions_read_as_making_no_subnormal_make_none(dtype):
    """The evaluator does not flush the results of the functions in
    numpy_ops.NORMAL_NEAR_ZERO (tanh(x) ~ x near 0, log's least near 1),
    nor of x + c, x * c, x / c for the constants c that NORMAL_WITH_CONSTANT
    admits: NumPy's make no subnormal of normal numbers either side of the
    smallest normal and of 1, nor (x + c) of those near -c."""
    info = np.finfo(dtype)
    tiny, eps = dtype(info.tiny), dtype(info.eps)
    near = np.array([tiny * k for k in (1, 1 + eps, 1.5, 2, 2 ** 20)] + [1 - eps / 2, 1 - eps, 1, 1 + eps, 0.5, 3e3,
                                                                       info.max], dtype)
    x = np.concatenate([near, -near, [0.0]]).astype(dtype)
    with np.errstate(all="ignore"):
        for name in numpy_ops.NORMAL_NEAR_ZERO:
            y = np.asarray(numpy_ops.ELEMENTWISE[name](x))
            assert not ((y != 0) & (np.abs(y) < tiny)).any(), (name, x[(y != 0) & (np.abs(y) < tiny)])
        bound = dtype(2.0 ** (info.minexp + info.nmant + 1))  # the least c that x + c admits
        ulp = np.spacing(bound)
        for c in (bound, -bound, bound * 3, bound * (1 + eps)):
            assert numpy_ops.NORMAL_WITH_CONSTANT["arith.addf"][1](c, np.dtype(dtype))
            around = (-c + ulp * np.arange(-300, 300)).astype(dtype)
            for y in (around + c, around - -c, c - -around):
                assert not ((y != 0) & (np.abs(y) < tiny)).any(), c
        assert not numpy_ops.NORMAL_WITH_CONSTANT["arith.addf"][1](bound / 2, np.dtype(dtype))
        assert 0 < np.nextafter(-bound / 2, dtype(0)) + bound / 2 < tiny  # (that one can make a subnormal)
        for c in (1.0, -1.0, 3.0, np.inf):
            assert numpy_ops.NORMAL_WITH_CONSTANT["arith.mulf"][1](dtype(c), np.dtype(dtype))
            assert not ((x * dtype(c) != 0) & (np.abs(x * dtype(c)) < tiny)).any()
        for c in (1.0, -1.0, 0.5, 1 / 3):
            assert numpy_ops.NORMAL_WITH_CONSTANT["arith.divf"][1](dtype(c), np.dtype(dtype))
            assert not ((x / dtype(c) != 0) & (np.abs(x / dtype(c)) < tiny)).any()


LOOP_INVARIANTS = """
func.func @main(%x: f32, %w: f32, %n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r:2 = scf.for %i = %c0 to %n step %c1 iter_args(%a = %x, %q0 = %x) -> (f32, f32) {
    %e = math.exp %w : f32
    %p = arith.mulf %a, %w : f32
    %q = arith.mulf %p, %e : f32
    scf.yield %a, %q : f32, f32
  }
  return %r#1 : f32
}"""


def test_a_loop_s_invariant_steps_run_once_before_its_first_step(monkeypatch):
    """A step of a loop's body that reads nothing the body makes (exp(w)
    here; a gradient loop's transposes of its weights) runs once, before the
    loop's first step, and not at all for a loop of no steps. A loop-invariant
    operand the body reads flushed (w in a * w) is flushed once too, into a
    copy: read as the CPU does, a subnormal w is 0, and a * w is 0."""
    calls = []
    monkeypatch.setitem(numpy_ops.ELEMENTWISE, "math.exp", lambda x: calls.append(x) or np.exp(x))
    with ir.Context():
        run = evaluate.prepare(ir.Module.parse(LOOP_INVARIANTS))
    big, subnormal = np.float32(1e30), np.float32(1e-40)
    half = np.float32(0.5)
    assert run([big, half, 5]) == [big * half * np.exp(half)] and len(calls) == 1
    assert run([big, subnormal, 5]) == [np.float32(0.0)] and len(calls) == 2
    assert calls[-1] == 0  # (exp read the flushed w too)
    assert run([big, subnormal, 0]) == [big] and len(calls) == 2


def test_a_scan_over_an_invariant_matrix_of_subnormals_reads_them_flushed(tiers):
    """A scan's body reading a weight it does not change (the RNN's h @ w)
    reads it from a flushed copy made before the loop: its subnormals are
    zeros there as on the CPU, in every step."""
    w = np.diag(np.float32([1e-40, 2e-38, 1e-39, 3.0])).astype(np.float32)
    xs = rng.normal(size=(6, 2, 4)).astype(np.float32)

    def f(w, xs, lib=irax, L=jnp):
        return lib.lax.scan(lambda h, x: (h, (h * x) @ w), L.full((2, 4), 1e30, L.float32), xs)[1]

    first, compiled = first_and_compiled(tiers, f, w, xs)
    np.testing.assert_array_equal(first, compiled)
    np.testing.assert_array_equal(first[..., 0], 0.0)
    np.testing.assert_allclose(first, np.asarray(jax.jit(lambda w, xs: f(w, xs, jax, jax.numpy))(w, xs)), rtol=1e-6)


def test_extrema_of_zeros_are_positive_above_negative_ones(tiers):
    """arith.maximumf puts +0 above -0 in a reduction too (np.maximum.reduce keeps either)."""
    m = np.array([[-0.0, 0.0, -0.0], [-0.0, -0.0, -0.0], [0.0, -0.0, 0.0]], np.float32)
    f = lambda a: (a.max(axis=1), a.min(axis=1))  # noqa: E731
    first, compiled = first_and_compiled(tiers, f, m)
    for a, b, w in zip(first, compiled, jax.jit(f)(m)):
        np.testing.assert_array_equal(np.signbit(a), np.signbit(np.asarray(w)))
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


def test_a_long_scan_gradient_with_copied_stacks_runs_on_the_first_tier(tiers):
    """A scan that is not unrolled gets its saved stack copied behind a barrier (flow.tensor.clone)."""
    def loss(w, xs):
        h, hs = irax.lax.scan(lambda h, x: (jnp.tanh(h @ w + x),) * 2, jnp.zeros((3, 4)), xs)
        return jnp.mean(hs ** 2)

    xs = rng.normal(size=(100, 3, 4)).astype(np.float32)
    first, compiled = first_and_compiled(tiers, irax.grad(loss), W[:, :4] / 2, xs)
    np.testing.assert_allclose(first, compiled, rtol=1e-5, atol=1e-7)


def test_branches_inside_an_elementwise_body_run_per_element(tiers):
    """float64 sin's range reduction branches per element (an scf.if in a
    linalg.generic's body, whose condition is then an array): both branches
    run and each element takes its own; an index out of bounds in the branch
    an element does not take is not an error."""
    with x64_mode(True):
        x = np.array([0.5, -3.0, 1e6, 1e300, -0.0, np.inf, 7.0, 2.0 ** 60])
        first, compiled = first_and_compiled(tiers, jnp.sin, x)
    np.testing.assert_allclose(first, compiled, rtol=1e-15, atol=0)
    with np.errstate(invalid="ignore"):  # (sin(inf) is NaN)
        np.testing.assert_allclose(first, np.sin(x), rtol=1e-15, atol=0)


def test_a_module_the_evaluator_misreads_is_compiled_at_once(tiers, monkeypatch):
    def misread(module):
        raise KeyError("an evaluator bug")

    monkeypatch.setattr(evaluate, "prepare", misread)
    tiers.gate.set()
    np.testing.assert_allclose(irax.jit(lambda x: x * 6)(X), X * 6)
    assert tiers.evaluated == 0


def test_unsigned_indices_above_the_signed_range(tiers):
    """A uint8 index of 200 is held as the int8 -56: its widening to an
    index (arith.index_castui) is unsigned, else the gather clamps it to 0."""
    i = np.array([200, 5, 255, 128], np.uint8)
    f = lambda i: (jnp.arange(300.0)[i], irax.nn.one_hot(i, 256).sum(axis=0)[i])  # noqa: E731
    first, compiled = first_and_compiled(tiers, f, i)
    for a, b in zip(first, compiled):
        np.testing.assert_array_equal(a, b, strict=True)
    np.testing.assert_array_equal(first[0], i.astype(np.float32))
    np.testing.assert_array_equal(first[1], np.ones(4, np.float32))


I1_CONVERSIONS = """
#id = affine_map<(d0) -> (d0)>
func.func @main(%a: tensor<3xi1>, %b: tensor<3xi32>) -> (tensor<3xi32>, tensor<3xf32>, tensor<3xi1>) {
  %e0 = tensor.empty() : tensor<3xi32>
  %e1 = tensor.empty() : tensor<3xf32>
  %e2 = tensor.empty() : tensor<3xi1>
  %0, %1, %2 = linalg.generic {indexing_maps = [#id, #id, #id, #id, #id], iterator_types = ["parallel"]}
      ins(%a, %b : tensor<3xi1>, tensor<3xi32>) outs(%e0, %e1, %e2 : tensor<3xi32>, tensor<3xf32>, tensor<3xi1>) {
  ^bb0(%x: i1, %y: i32, %o0: i32, %o1: f32, %o2: i1):
    %s = arith.extsi %x : i1 to i32
    %f = arith.sitofp %x : i1 to f32
    %t = arith.trunci %y : i32 to i1
    linalg.yield %s, %f, %t : i32, f32, i1
  } -> (tensor<3xi32>, tensor<3xf32>, tensor<3xi1>)
  return %0, %1, %2 : tensor<3xi32>, tensor<3xf32>, tensor<3xi1>
}"""


def test_signed_conversions_of_i1_and_truncation_to_it():
    """MLIR's i1 true is -1 read signed (extsi, sitofp), and trunci to i1
    keeps the lowest bit (NumPy's bool is 1 and tests for nonzero)."""
    with ir.Context():
        run = evaluate.prepare(ir.Module.parse(I1_CONVERSIONS))
    extended, floats, truncated = run([np.array([True, False, True]), np.array([2, 3, -1], np.int32)])
    np.testing.assert_array_equal(extended, np.array([-1, 0, -1], np.int32), strict=True)
    np.testing.assert_array_equal(floats, np.array([-1, 0, -1], np.float32), strict=True)
    np.testing.assert_array_equal(truncated, np.array([False, True, True]), strict=True)


DOUBLINGS = """
func.func @main(%x: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%a = %x) -> (f32) {
    %b = arith.addf %a, %a : f32
    scf.yield %b : f32
  }
  return %r : f32
}"""


def test_a_long_loop_gives_up_once_the_program_is_compiled():
    """A loop evaluated in Python may take far longer than its compile (a
    100000-step fori_loop: a minute, for a 2 s compile): the first tier asks
    `give_up` (the compile's done) every CHECK_EVERY steps, and the call then
    runs the compiled program."""
    with ir.Context():
        run = evaluate.prepare(ir.Module.parse(DOUBLINGS))
    asked = []

    def give_up():
        asked.append(1)
        return len(asked) == 3

    with pytest.raises(evaluate.Abandoned):
        run([np.float32(1.0)], give_up)
    assert len(asked) == 3
    assert run([np.float32(2.0 ** -126)]) == [np.float32(np.inf)]


def test_a_big_generic_gives_up_between_the_steps_of_its_body(tiers, monkeypatch):
    """A generic's body runs op by op on whole arrays: a random sampler's
    hundreds of ops on 1e7 elements took NumPy 27 s, its compile 0.5 s. Over
    CHECK_SPACE elements, `give_up` is asked after each step of the body."""
    monkeypatch.setattr(evaluate_steps, "CHECK_SPACE", 8)
    f = irax.jit(lambda x: jnp.tanh(jnp.sin(x) * 2 + 1) * 3)
    asked = []
    real = evaluate_steps.run_body

    def counted(env, steps, checked):
        asked.append(checked)
        return real(env, steps, checked)

    monkeypatch.setattr(evaluate_steps, "run_body", counted)
    np.testing.assert_allclose(f(X), np.tanh(np.sin(X) * 2 + 1) * 3, rtol=1e-6)  # (12 elements: asked)
    assert asked and all(asked) and tiers.evaluated == 1
    with ir.Context():
        run = evaluate.prepare(ir.Module.parse(SINE_PLUS))
    with pytest.raises(evaluate.Abandoned):
        run([np.ones(16, np.float32)], lambda: True)
    np.testing.assert_allclose(run([np.ones(16, np.float32)], lambda: False)[0], np.sin(1.0) + 1, rtol=1e-6)


SINE_PLUS = """func.func @main(%x: tensor<16xf32>) -> tensor<16xf32> {
  %e = tensor.empty() : tensor<16xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]} ins(%x : tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = math.sin %a : f32
    %t = arith.addf %s, %a : f32
    linalg.yield %t : f32
  } -> tensor<16xf32>
  return %r : tensor<16xf32>
}"""


def test_a_program_numpy_would_take_long_to_evaluate_compiles_at_once(tiers, monkeypatch):
    """Tier 1 is for programs NumPy runs faster than IREE compiles them: a
    generic of a body of n ops on m elements is ~n * m element operations,
    and over EVALUATED_AT_MOST the program is compiled on the calling
    thread (jit of random.normal of 1e7 floats: 27 s evaluated, first call
    0.7 s compiled at once)."""
    monkeypatch.setattr(tiered, "EVALUATED_AT_MOST", 12 * 3)  # fewer than sin, * 2, + 1 on 12 elements
    before = cache.stats()["compiles"]
    np.testing.assert_allclose(irax.jit(lambda x: jnp.sin(x) * 2 + 1)(X), np.sin(X) * 2 + 1, rtol=1e-6)
    assert tiers.evaluated == 0 and cache.stats()["compiles"] == before + 1
    np.testing.assert_allclose(irax.jit(lambda x: x + 1)(X), X + 1)  # 12 element operations: tier 1
    assert tiers.evaluated == 1


def test_an_eager_op_runs_on_the_first_tier_while_its_kernel_compiles(tiers, monkeypatch):
    """An eager op's kernel that neither the library nor the cache has takes
    the two tiers too: its first calls, every shape of its rank (one
    shape-generic kernel), run evaluated, with no compile on the calling
    thread; once the kernel is compiled, each shape's calls run it."""
    monkeypatch.setattr(config, "irax_kernel_library", "none")
    monkeypatch.setattr(eager, "_kernels", cache.LRU())  # as in a fresh process
    monkeypatch.setattr(eager, "_dispatch", eager._Dispatch())
    small, big = jnp.asarray(X[:2, :3]), jnp.asarray(X)
    before = cache.stats()["compiles"]
    first = [jnp.sin(small), jnp.sin(big)]
    assert tiers.evaluated == 2 and cache.stats()["compiles"] == before
    tiers.compile_now()
    then = [jnp.sin(small), jnp.sin(big)]
    assert tiers.swapped == 2 and tiers.evaluated == 2 and cache.stats()["compiles"] == before
    for got in (first, then):
        np.testing.assert_allclose(got[0], np.sin(X[:2, :3]), rtol=1e-6)
        np.testing.assert_allclose(got[1], np.sin(X), rtol=1e-6)
    assert jnp.sin(jnp.asarray(X[:1, :3] + 1)).shape == (1, 3)  # another broadcast pattern: another kernel



def _hot_add(monkeypatch):
    """jnp.add's eager Executable for X's signature, in a fresh dispatch
    cache, and a call of it; a signature is hot at its third counted call."""
    monkeypatch.setattr(config, "irax_kernel_library", "none")
    monkeypatch.setattr(eager, "_kernels", cache.LRU())
    monkeypatch.setattr(eager, "_dispatch", eager._Dispatch())
    monkeypatch.setattr(eager, "HOT_CALLS", 3)
    monkeypatch.setattr(eager, "CHECK_EVERY", 1)
    x, y = jnp.asarray(X), jnp.asarray(X + 1)

    def add():
        np.testing.assert_array_equal(jnp.add(x, y), X + (X + 1))

    add()
    return _the_executable(), add


def _the_executable():
    (hit,) = [entry[0] for entry in eager._dispatch._entries.values()]
    return hit


def test_a_hot_eager_signature_gets_a_kernel_of_its_exact_shapes(tiers, monkeypatch):
    """An eager op's kernel serves every shape of its rank; a signature
    called eager.HOT_CALLS times gets a kernel of its exact shapes, compiled
    in the background while the generic one keeps running (no tier 1), and
    runs that from the first call that finds it compiled: IREE runs a
    static kernel's warm call ~0.5 us faster."""
    hit, add = _hot_add(monkeypatch)
    tiers.compile_now()  # (the generic kernel's own compile)
    tiers.gate.clear()
    add()  # loads it
    add()  # sees that it shares no operand's buffer: the next call takes a fast call
    generic, compiles = hit.program, tiered.stats["compiles"]
    assert hit.shape_generic and hit.fast is not None  # (a fast call, counting)
    for _ in range(5):  # the third counted call asks for the exact kernel: it waits at the gate
        add()
    assert hit.program is generic and tiers.evaluated == 1  # (the first call alone: none while the exact one compiles)
    tiers.compile_now()
    add()  # finds it compiled: from the next call on, hit runs it
    assert hit.program is not generic and not hit.shape_generic and tiered.stats["compiles"] == compiles + 1
    for _ in range(3):
        add()
    assert hit.fast is not None and hit.program is not generic


def test_a_hot_eager_signature_keeps_its_kernel_where_the_exact_one_fails(tiers, monkeypatch):
    """A compile of the exact kernel that fails leaves the generic kernel,
    which serves on without counting; the caller never sees the error."""
    hit, add = _hot_add(monkeypatch)
    tiers.compile_now()
    tiers.gate.clear()
    tiers.failure = RuntimeError("the exact kernel did not compile")
    add()
    add()
    generic = hit.program
    for _ in range(5):
        add()
    tiers.compile_now()
    for _ in range(3):
        add()
    assert hit.program is generic and not hit.shape_generic and hit.fast is not None


def test_a_hot_signature_s_exact_kernel_computes_the_same_bits(tiers, monkeypatch):
    """An elementwise op's exact kernel gives the bits its generic kernel
    gave (a loop's values do not change as it runs); a reduction, whose
    exact kernel would add up in another order, keeps its generic one."""
    monkeypatch.setattr(config, "irax_kernel_library", "none")
    monkeypatch.setattr(eager, "_dispatch", eager._Dispatch())
    monkeypatch.setattr(eager, "HOT_CALLS", 3)
    monkeypatch.setattr(eager, "CHECK_EVERY", 1)
    x = jnp.asarray(X * 7)
    tiers.compile_now()  # (no gate: compiles run when asked)
    jnp.exp(x)  # (evaluated by NumPy while the generic kernel compiles)
    tiered.wait()
    hit = _the_executable()
    calls = [np.asarray(jnp.exp(x)) for _ in range(5)]  # the generic kernel's; the fifth asks for the exact one
    tiered.wait()
    calls += [np.asarray(jnp.exp(x)) for _ in range(3)]
    assert not hit.shape_generic and hit.fast is not None
    for got in calls[1:]:
        np.testing.assert_array_equal(got, calls[0])
    monkeypatch.setattr(eager, "_dispatch", eager._Dispatch())
    jnp.sum(x, axis=1)
    assert not _the_executable().shape_generic

def test_without_tiers_a_hot_eager_signature_compiles_nothing(monkeypatch):
    """With tiered jit off nothing compiles in the background: a hot
    signature keeps its shape-generic kernel and stops counting."""
    hit, add = _hot_add(monkeypatch)
    generic, compiles = hit.program, cache.stats()["compiles"]
    for _ in range(6):
        add()
    assert hit.program is generic and not hit.shape_generic and cache.stats()["compiles"] == compiles

OUTER_SUM = """
#a = affine_map<(d0, d1) -> (d0)>
#b = affine_map<(d0, d1) -> (d1)>
#o = affine_map<(d0, d1) -> ()>
func.func @main(%a: tensor<?xf32>, %b: tensor<?xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [#a, #b, #o], iterator_types = ["reduction", "reduction"]}
      ins(%a, %b : tensor<?xf32>, tensor<?xf32>) outs(%init : tensor<f32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %s = arith.addf %x, %y : f32
    %m = arith.maximumf %acc, %s : f32
    linalg.yield %m : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}
"""


def test_the_evaluator_refuses_an_iteration_space_far_bigger_than_its_operands():
    """NumPy broadcasting makes a generic's whole iteration space, which a
    compiled loop never stores: max(a[i] + b[j]) over 8192^2 pairs of two
    32 KB vectors would be 268 MB. TooBig (a MemoryError: the call then
    waits for the compiled program) rather than that; small ones evaluate."""
    from iree.compiler import ir
    from irax.ir import mlir
    run = evaluate.prepare(ir.Module.parse(OUTER_SUM, mlir.context()))
    a, b, init = np.arange(3, dtype=np.float32), np.arange(4, dtype=np.float32), np.float32(-np.inf)
    np.testing.assert_array_equal(run([a, b, np.array(init)])[0], 5.0)
    big = np.zeros(8192, np.float32)
    with pytest.raises(evaluate.TooBig):
        run([big, big, np.array(init)])


def test_argmax_s_reduction_is_evaluated_step_by_step(tiers):
    """argmax's reduction carries a value and its index, chosen together: no
    single combining op for NumPy to reduce with. The evaluator runs its body
    once per step of the reduction, on whole rows, as the compiled loop runs
    it, so ties and NaNs give JAX's indices on tier 1 too."""
    a = np.array([[1, 3, 3, 0], [np.nan, 2, np.nan, 1], [0, 0, -1, 0]], np.float32)
    f = irax.jit(lambda x: (jnp.argmax(x, axis=1), jnp.argmin(x, axis=0), jnp.argmax(x)))
    first = f(a)
    assert tiers.evaluated == 1
    tiers.compile_now()
    for got in (first, f(a)):
        for g, want in zip(got, (jax.numpy.argmax(a, axis=1), jax.numpy.argmin(a, axis=0), jax.numpy.argmax(a))):
            np.testing.assert_array_equal(g, want)
