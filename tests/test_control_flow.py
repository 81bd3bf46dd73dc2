"""irax.lax control flow: cond, switch, while_loop, fori_loop, scan, select.

Values against NumPy loops, semantics and errors against jax.lax, and
gradients (reverse and forward mode) against finite differences and JAX."""
import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax import lax

from tests.test_autodiff import numerical_grad

jax = pytest.importorskip("jax")
jlax, jjnp = jax.lax, jax.numpy

X = np.array([0.3, -0.8, 0.7], np.float32)


# ---------------------------------------------------------------------------
# Values, eagerly and under jit

def cond_fn(lax, np):
    return lambda x: lax.cond(x.sum() > 0, lambda y: np.sin(y) * y, lambda y: y * 3.0, x)


def switch_fn(lax, np):
    return lambda i, x: lax.switch(i, [lambda y: y + 1.0, lambda y: np.cos(y), lambda y: y * y], x)


def while_fn(lax, np):
    return lambda x: lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 1.5 + x), (0, x))


def fori_fn(lax, np):
    return lambda x: lax.fori_loop(1, 4, lambda i, c: c * x + i, x)


def scan_fn(lax, np, reverse=False):
    return lambda c, xs: lax.scan(lambda c, r: (np.tanh(c * r + 0.1), c * r), c, xs, reverse=reverse)


XS = np.arange(1.0, 9.0, dtype=np.float32).reshape(4, 2) / 8
XS7 = np.arange(1.0, 15.0, dtype=np.float32).reshape(7, 2) / 14  # unroll=2: 3 rolled iterations and 1 step after


def fori_unrolled_fn(lax, np):  # 7 steps, unroll=3: 2 rolled iterations and 1 step after
    return lambda x: lax.fori_loop(1, 8, lambda i, c: np.sin(c * x) + i, x, unroll=3)


CASES = {
    "cond": (cond_fn, (X,)),
    "cond_false": (cond_fn, (-X,)),
    "switch_0": (switch_fn, (0, X)),
    "switch_2": (switch_fn, (2, X)),
    "switch_clamped": (switch_fn, (7, X)),
    "switch_negative": (switch_fn, (-3, X)),
    "while": (while_fn, (X,)),
    "fori": (fori_fn, (X,)),
    "scan": (scan_fn, (X[:2], XS)),
    "scan_reverse": (lambda lax, np: scan_fn(lax, np, reverse=True), (X[:2], XS)),
    "fori_unroll": (fori_unrolled_fn, (X,)),
    "fori_unroll_all": (lambda lax, np: lambda x: lax.fori_loop(1, 4, lambda i, c: c * x + i, x, unroll=True), (X,)),
    "scan_unroll_reverse": (lambda lax, np: lambda c, xs: lax.scan(lambda c, r: (np.tanh(c * r + 0.1), c * r), c,
                                                                   xs, reverse=True, unroll=2), (X[:2] + 1, XS7)),
    "scan_unroll_0": (lambda lax, np: lambda c, xs: lax.scan(lambda c, r: (c + r, c * r), c, xs, unroll=0),
                      (X[:2], XS)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_values_match_jax(name, mode):
    make, args = CASES[name]
    ours = make(lax, jnp)
    if mode == "jit":
        ours = irax.jit(ours)
    got = ours(*args)
    want = make(jlax, jjnp)(*args)
    irax.tree_util.tree_map(lambda g, w: np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6), got,
                            want)
    assert [np.asarray(g).dtype for g in irax.tree_util.tree_leaves(got)] == \
        [np.asarray(w).dtype for w in jax.tree_util.tree_leaves(want)]


def test_only_the_chosen_branch_runs():
    """An out-of-range gather in the branch not taken does no harm, and the
    loops run the body exactly the number of times NumPy's loop would."""
    total = 0.0
    for i in range(2, 7):
        total = total * 0.5 + i
    assert float(lax.fori_loop(2, 7, lambda i, c: c * 0.5 + i, 0.0)) == total
    assert int(lax.while_loop(lambda c: c < 100, lambda c: c * 3, 1)) == 243
    assert int(lax.fori_loop(5, 2, lambda i, c: c + 1, 0)) == 0  # empty range


def test_scan_pytrees_and_none_outputs():
    carry, ys = lax.scan(lambda c, x: ({"n": c["n"] + 1, "s": c["s"] + x["a"]}, None),
                         {"n": 0, "s": 0.0}, {"a": jnp.arange(5.0)})
    assert ys is None and int(carry["n"]) == 5 and float(carry["s"]) == 10.0
    carry, ys = lax.scan(lambda c, _: (c * 2, c), 1, None, length=4)
    np.testing.assert_array_equal(np.asarray(ys), [1, 2, 4, 8])
    assert int(carry) == 16


def test_closures_are_captured_not_copied():
    w = jnp.asarray(np.float32([2.0, 3.0]))
    f = irax.jit(lambda x: lax.fori_loop(0, 3, lambda i, c: c * w, x))
    np.testing.assert_allclose(np.asarray(f(jnp.ones(2))), [8.0, 27.0])
    assert "dense<[2.0" not in f.lower(jnp.ones(2)).as_text()


def test_weakly_typed_carry_is_promoted_like_jax():
    ours = lax.while_loop(lambda c: c < 3, lambda c: c + 1.0, 1)
    want = jlax.while_loop(lambda c: c < 3, lambda c: c + 1.0, 1)
    assert ours.dtype == want.dtype and float(ours) == float(want)


def _types(tree, lib):
    return [(str(x.dtype), bool(x.weak_type)) for x in lib.tree_util.tree_leaves(tree)]


INT8_0, INT8_3 = np.int8(0), np.int8(3)  # NumPy scalars: static bounds under jit too
LOOP_TYPES = {
    "scan ys of a weakly typed carry": lambda lax, np: lax.scan(lambda c, x: (c + 1, c * 2), 0, None, length=3),
    "scan ys of weak + strong": lambda lax, np: lax.scan(lambda c, x: (c + x, c), 0.0, np.arange(3, dtype=np.int32)),
    "fori index": lambda lax, np: lax.fori_loop(0, 3, lambda i, c: (c[0] + i, c[1] * 2), (0, 1.0)),
    "fori index of int8 bounds": lambda lax, np: lax.fori_loop(INT8_0, INT8_3, lambda i, c: c + i, 0),
    "fori index, traced bound": lambda lax, np: lax.fori_loop(0, np.asarray(np.int8(3)) + 0, lambda i, c: c + i, 0),
    "while promotes a weak init to a strong carry": lambda lax, np: lax.while_loop(lambda c: c < 3,
                                                                                    lambda c: c + 1.0, 1),
    "fori promotes a weak init to a strong carry": lambda lax, np: lax.fori_loop(0, 3, lambda i, c: c + 0.5, 0),
}


@pytest.mark.parametrize("name", LOOP_TYPES)
def test_loop_outputs_have_jaxs_dtypes_and_weak_types(name):
    """A fori_loop with static bounds runs its index as JAX's Python int (a
    weakly typed default int, whatever the bounds' type); scan's ys keep the
    body's weak types; a weakly typed init promoted by the body is strong."""
    fn = LOOP_TYPES[name]
    ours = fn(lax, jnp)
    want = fn(jlax, jjnp)
    assert _types(ours, irax) == _types(want, jax)
    for o, w in zip(irax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(o), np.asarray(w))
    assert _types(irax.jit(lambda: fn(lax, jnp))(), irax) == _types(jax.jit(lambda: fn(jlax, jjnp))(), jax)


def test_fori_loop_bounds_of_different_types_like_jax():
    assert _types(irax.jit(lambda n: lax.fori_loop(0, n, lambda i, c: c + i, 0))(5), irax) == [("int32", True)]
    for lo, hi in [(np.int8(0), np.int16(3)), (np.uint8(0), 3), (0.0, 3)]:
        with pytest.raises(TypeError) as want:
            jlax.fori_loop(lo, hi, lambda i, c: c, 0)
        with pytest.raises(TypeError, match=re.escape(str(want.value).splitlines()[0])):
            lax.fori_loop(lo, hi, lambda i, c: c, 0)


def test_cond_and_switch_take_the_operand_keyword():
    assert float(lax.cond(True, lambda x: x + 1, lambda x: x - 1, operand=3.0)) == 4.0
    assert float(lax.switch(1, [lambda x: x + 1, lambda x: x * 2], operand=3.0)) == 6.0
    with pytest.raises(TypeError) as want:
        jlax.cond(True, lambda x, y: x, lambda x, y: y, 1.0, operand=2.0)
    with pytest.raises(TypeError, match=re.escape(str(want.value)[:60])):
        lax.cond(True, lambda x, y: x, lambda x, y: y, 1.0, operand=2.0)


def test_select():
    p = np.array([True, False, True])
    np.testing.assert_array_equal(np.asarray(lax.select(p, X, -X)), np.where(p, X, -X))
    np.testing.assert_array_equal(np.asarray(irax.jit(lax.select)(p, X, -X)), np.where(p, X, -X))
    with pytest.raises(TypeError, match="same shapes"):
        lax.select(p, X, X[:2])


def test_control_flow_is_lowered_to_scf():
    text = irax.jit(lambda x: lax.cond(x[0] > 0, jnp.sin, jnp.cos, x)).lower(X).as_text()
    assert "scf.if" in text
    text = irax.jit(lambda x: lax.fori_loop(0, 3, lambda i, c: c + i, x)).lower(X).as_text()
    assert "scf.for" in text
    text = irax.jit(lambda x: lax.while_loop(lambda c: c.sum() < 9, lambda c: c + 1, x)).lower(X).as_text()
    assert "scf.while" in text


def test_unroll_puts_that_many_steps_in_each_rolled_iteration():
    text = irax.jit(fori_unrolled_fn(lax, jnp)).lower(X).as_text()
    assert text.count("scf.for") == 1 and text.count("math.sin") == 3 + 1  # 3 steps per iteration, 1 after
    assert "scf.for" not in irax.jit(CASES["fori_unroll_all"][0](lax, jnp)).lower(X).as_text()


# (JAX's scan takes unroll=1.5 without a word; irax's says it wants an int.)
@pytest.mark.parametrize("loop, unroll", [("scan", -1), ("fori_loop", -1), ("fori_loop", 1.5)])
def test_unroll_errors_match_jax(loop, unroll):
    run = {"scan": lambda lax: lax.scan(lambda c, x: (c, x), 0.0, np.ones(3, np.float32), unroll=unroll),
           "fori_loop": lambda lax: lax.fori_loop(0, 3, lambda i, c: c, 0.0, unroll=unroll)}[loop]
    with pytest.raises((TypeError, ValueError)) as theirs:
        run(jlax)
    with pytest.raises(theirs.type, match=re.escape(str(theirs.value))):
        run(lax)


def test_unroll_needs_static_fori_loop_bounds_as_in_jax():
    with pytest.raises(ValueError, match="Can only use `unroll` in `fori_loop` if the loop bounds are statically known"):
        irax.jit(lambda n: lax.fori_loop(0, n, lambda i, c: c + 1.0, 0.0, unroll=2))(3)


# ---------------------------------------------------------------------------
# A carry the loop body never reads. IREE 3.13 crashed compiling such a while
# loop ("LLVM ERROR: out of memory" or SIGSEGV, transforms/loop_carries.py),
# killing the process, so these loops run in one child process per platform
# and a crash fails these tests instead of ending pytest.

def unread_carry_fns(lax, np, transforms):
    """name -> f(x), each with a loop whose body does not read a carry."""
    def loop(cond, body):
        return lambda x: lax.while_loop(cond, body, (0, np.zeros(3), x))

    copy = loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] + 1, c[1]))
    test_reads = loop(lambda c: c[2].sum() < 5, lambda c: (c[0] + 1, c[1] + 1, c[1] * 2))
    return {
        "while": copy,
        "while_cond_reads_it": test_reads,
        # only its test reads it, so canonicalization drops it from the results (loop_carries.py); IREE then
        # failed, "region branch point has 4 operands, but region successor needs 6 inputs", where it kept
        # the loop unrotated (its init a quantile's, svd's loop in lax.switch)
        "while_cond_reads_it_result_unread": lambda x: test_reads(
            np.quantile(np.stack([x, 2 * x]), 0.5, axis=0, method="nearest"))[1],
        "while_zero_trips": loop(lambda c: c[0] < 0, lambda c: (c[0] + 1, c[1] + 1, c[1])),
        "while_yields_a_constant": loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] + 1, np.ones(3))),
        "while_jvp": lambda x: transforms.jvp(lambda y: copy(y)[1:], (x,), (x * 2,)),
        "fori_traced_bounds": lambda x: lax.fori_loop(0, np.argmax(x) + 1, lambda i, c: (c[0] * x + 1, c[0]), (x, x)),
        "fori_grad": transforms.grad(lambda x: lax.fori_loop(0, 3, lambda i, c: (c[0] * x + 1, c[0]), (x, x))[1].sum()),
    }


UNREAD_CHILD = """
import json, sys
import numpy as np
import irax, irax.numpy as jnp
from tests.test_control_flow import X, unread_carry_fns

with irax.default_device(irax.devices(sys.argv[1])[0]):
    print(json.dumps({name: [np.asarray(r).tolist() for r in irax.tree_util.tree_leaves(irax.jit(f)(X))]
                      for name, f in unread_carry_fns(irax.lax, jnp, irax).items()}))
"""


@functools.cache
def unread_carries_in_a_child(platform):
    """(exit code, stderr, name -> the leaves of unread_carry_fns' results on `platform`)."""
    done = subprocess.run([sys.executable, "-c", UNREAD_CHILD, platform or "cpu"], capture_output=True, text=True,
                          timeout=900, cwd=Path(__file__).parents[1])
    return done.returncode, done.stderr, json.loads(done.stdout) if done.returncode == 0 else {}


@pytest.mark.parametrize("name", sorted(unread_carry_fns(lax, jnp, irax)))
def test_a_carry_the_body_does_not_read_like_jax(name, platform):
    code, stderr, results = unread_carries_in_a_child(platform)
    assert code == 0, f"the child process died ({code}):\n{stderr[-3000:]}"
    want = jax.tree_util.tree_leaves(unread_carry_fns(jlax, jjnp, jax)[name](X))
    assert len(results[name]) == len(want)
    for got, w in zip(results[name], want):
        np.testing.assert_allclose(np.asarray(got), np.asarray(w), rtol=1e-6)


def test_keep_unread_carries_puts_the_old_value_beside_the_new():
    f = irax.jit(unread_carry_fns(lax, jnp, irax)["while"])
    assert "util.optimization_barrier" in f.lower(X).as_text("optimized")
    assert "util.optimization_barrier" not in irax.jit(CASES["while"][0](lax, jnp)).lower(X).as_text("optimized")


# ---------------------------------------------------------------------------
# Errors: JAX's types and wording

def test_errors_match_jax():
    with pytest.raises(TypeError, match="Pred must be a scalar"):
        lax.cond(jnp.array([True, False]), lambda x: x, lambda x: x, 1.0)
    with pytest.raises(TypeError, match="cond branches must have equal output types"):
        lax.cond(True, lambda x: x, lambda x: x.astype(jnp.int32), 1.0)
    with pytest.raises(TypeError, match="carry input and carry output must have equal types"):
        lax.while_loop(lambda c: c < 3, lambda c: c.astype(jnp.float32), jnp.asarray(1, jnp.int32))
    with pytest.raises(TypeError, match="cond_fun must return a boolean scalar"):
        lax.while_loop(lambda c: jnp.array([True]), lambda c: c, 1.0)
    with pytest.raises(ValueError, match="disagrees with leading axis sizes"):
        lax.scan(lambda c, x: (c, x), 1.0, jnp.ones(3), length=4)
    with pytest.raises(TypeError, match="scan body output must be a pair"):
        lax.scan(lambda c, x: c, 1.0, jnp.ones(3))
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work for lax.while_loop"):
        irax.grad(lambda x: lax.while_loop(lambda c: c < 3, lambda c: c * 2.0, x))(1.0)
    assert float(lax.cond(True, lambda x: x, lambda x: -x, 2.0)) == 2.0  # and the next call works


@pytest.mark.parametrize("index", [True, np.bool_(False), 1.5, np.array([1, 2]), "a"], ids=repr)
def test_switch_index_errors_match_jax(index):
    """A switch index is an integer scalar: a bool is not one (JAX's wording, word for word)."""
    branches = [lambda: 1, lambda: 2]
    with pytest.raises(TypeError) as theirs:
        jlax.switch(index, branches)
    with pytest.raises(TypeError) as ours:
        lax.switch(index, branches)
    assert str(ours.value) == str(theirs.value)


def test_switch_of_one_branch_calls_it_as_jax():
    """With one branch, JAX calls it directly (any index): its Python outputs stay Python values."""
    for library in (jlax, lax):
        out = library.switch(3, [lambda x: (x + 1, "tag")], 1)
        assert out == (2, "tag") and type(out[0]) is int


# ---------------------------------------------------------------------------
# Gradients: finite differences and JAX

GRADS = {
    "cond_true": (lambda lax, np: lambda x: cond_fn(lax, np)(x).sum(), X),
    "cond_false": (lambda lax, np: lambda x: cond_fn(lax, np)(x).sum(), -X),
    "switch": (lambda lax, np: lambda x: switch_fn(lax, np)(1, x).sum(), X),
    "fori": (lambda lax, np: lambda x: fori_fn(lax, np)(x).sum(), X),
    "scan_carry": (lambda lax, np: lambda x: scan_fn(lax, np)(x[:2], XS)[0].sum(), X),
    "scan_ys_wrt_xs": (lambda lax, np: lambda xs: (scan_fn(lax, np)(X[:2], xs)[1] ** 2).sum(), XS),
    "scan_reverse": (lambda lax, np: lambda xs: scan_fn(lax, np, True)(X[:2], xs)[1].sum(), XS),
    "scan_closure": (lambda lax, np: lambda w: lax.scan(lambda c, r: (c * w + r, c.sum()), X[:2], XS)[1].sum(),
                     X[:2]),
    "fori_unroll": (lambda lax, np: lambda x: fori_unrolled_fn(lax, np)(x).sum(), X),
    "scan_unroll": (lambda lax, np: lambda xs: (lax.scan(lambda c, r: (np.tanh(c * r + 0.1), c * r), X[:2], xs,
                                                         unroll=2)[1] ** 2).sum(), XS7),
    "nested": (lambda lax, np: lambda x: lax.fori_loop(
        0, 3, lambda i, c: lax.cond(i % 2 == 0, lambda y: np.sin(y) + x, lambda y: y * x, c), x).sum(), X),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_grad_matches_finite_differences_and_jax(name):
    make, x = GRADS[name]
    f = irax.jit(make(lax, jnp))
    ours = np.asarray(irax.grad(f)(x))
    np.testing.assert_allclose(ours, numerical_grad(f, x), rtol=3e-2, atol=3e-3)
    np.testing.assert_allclose(ours, jax.grad(make(jlax, jjnp))(x), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", ["cond_true", "fori", "scan_carry", "nested"])
def test_forward_mode_matches_jax(name):
    make, x = GRADS[name]
    np.testing.assert_allclose(np.asarray(irax.jacfwd(make(lax, jnp))(x)), jax.jacfwd(make(jlax, jjnp))(x),
                               rtol=2e-5, atol=2e-6)


def test_forward_mode_through_while_loop():
    f = lambda lax: lambda x: lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * x), (0, x))[1]  # noqa: E731
    np.testing.assert_allclose(np.asarray(irax.jacfwd(f(lax))(1.5)), jax.jacfwd(f(jlax))(1.5), rtol=1e-6)


CALLBACK_CARRIES = {  # a carry with no derivative that a callback reads: forward mode gave it a tangent and raised
    "fori": lambda lax, cb, S: lambda x: (lax.fori_loop(0, 2, lambda i, c: (c[0] * x, cb(np.sin, S, c[1])), (x, 1.0)),
                                         x * 3),
    "while": lambda lax, cb, S: lambda x: lax.while_loop(
        lambda c: c[1] < 3.0, lambda c: (c[0] * x, cb(lambda v: np.float32(v + 1), S, c[1])), (x, 0.0))[0],
}


@pytest.mark.parametrize("name", sorted(CALLBACK_CARRIES))
def test_forward_mode_gives_tangents_only_to_carries_that_depend_on_the_inputs(name, platform):
    if platform == "sync-cpu":
        pytest.skip("the example plugin's device loads no program that calls back to the host")
    make = CALLBACK_CARRIES[name]
    ours = make(lax, irax.pure_callback, irax.ShapeDtypeStruct((), np.float32))
    theirs = make(jlax, jax.pure_callback, jax.ShapeDtypeStruct((), np.float32))
    got, want = irax.jacfwd(ours)(1.5), jax.jacfwd(theirs)(1.5)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-6)
        assert (g.dtype, g.weak_type) == (w.dtype, w.weak_type)


def test_a_while_loop_nothing_reads_is_dropped_with_its_scatters():
    """IREE 3.13 could not compile a dead loop that scatters ("maximum
    iteration count exceeded in fixed point pipeline"): drop-unread-work now
    counts iree_linalg_ext ops as values."""
    def f(lax, np):
        def g(y):
            lax.while_loop(lambda s: s[0] < 4, lambda s: (s[0] + 1, s[1].at[np.array([0, 1])].add(1.0)), (0, y))
            return y + 1
        return g
    y = np.zeros(4, np.float32)
    np.testing.assert_array_equal(irax.jit(f(lax, jnp))(y), jax.jit(f(jlax, jjnp))(y))


def test_a_while_loop_nothing_reads_is_dropped_with_its_kernel_calls():
    """The same failure for a dead loop calling a kernel function (a
    triangular_solve, found by fuzzing): drop-unread-work counted every
    func.call as a callback and kept the loop; it now erases kernel calls."""
    def f(lax, np):
        def g(x, y):
            def body(s):
                i, c = s
                w = np.outer(c, c) + 3.0 * np.eye(3) + 0.1 * np.diag(c)
                w = w + 0.3 * np.tril(np.ones((3, 3)), -1) * np.tanh(w)
                lax.linalg.triangular_solve(np.tril(w), w, left_side=True, lower=True)
                return i + 1, np.tanh(c + c)
            lax.while_loop(lambda s: s[0] < 3, body, (0, x))
            return lax.associative_scan(lax.min, y, axis=0)
        return g
    args = (X, X[::-1].copy()), (np.sin(X), np.cos(X))
    ours = irax.jvp(f(lax, jnp), *args)
    assert "scf.while" not in irax.jit(f(lax, jnp)).lower(*args[0]).as_text("optimized")
    for got, want in zip(ours, jax.jvp(f(jlax, jjnp), *args)):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)


def test_a_fori_loop_whose_init_another_op_reads_too():
    """IREE 3.13's stream partitioning failed on such a loop ("circular
    dependency: input operation uses partition output"; loop_carries.py):
    found as the eager gradient of a checkpoint returning a fori_loop's
    result and its init, whose value (which jit's gradient drops) reads both."""
    def f(lax, np):
        def g(x, y):
            c0 = x * 2
            return lax.fori_loop(0, 3, lambda i, c: np.tanh(c + y), c0), c0
        return g

    def loss(lib, np, checkpoint=lambda f: f):
        return lambda x, y: sum(np.sum(o) for o in checkpoint(f(lib.lax, np))(x, y))
    x = np.linspace(-1, 1, 24, dtype=np.float32)  # more than fuse-elementwise-loops' 16 elements: a loop in IREE
    y = x[::-1] * 0.5
    np.testing.assert_allclose(irax.jit(loss(irax, jnp))(x, y), loss(jax, jjnp)(x, y), rtol=1e-5)
    ours = irax.grad(loss(irax, jnp, irax.checkpoint), argnums=(0, 1))(x, y)
    for got, want in zip(ours, jax.grad(loss(jax, jjnp, jax.checkpoint), argnums=(0, 1))(x, y)):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


# Loops whose init c0 another op reads too: an scf.while (fori_loop with a
# traced bound) and an scf.for whose init is c0 reshaped.
SHARED_INITS = {
    "fori_loop traced bound": lambda lax, np, c0, y: lax.fori_loop(0, (c0[0] < 5).astype(np.int32) * 3,
                                                                   lambda i, c: np.tanh(c + y), c0),
    "fori_loop reshaped init": lambda lax, np, c0, y: lax.fori_loop(0, 3, lambda i, c: np.tanh(c + y.reshape(4, 6)),
                                                                    c0.reshape(4, 6)),
}


@pytest.mark.parametrize("loop", SHARED_INITS)
def test_a_loop_whose_init_another_op_reads_too(loop):
    """The fori_loop's failure above ("circular dependency: input operation
    uses partition output") for an scf.while and for an init reshaped: the
    barrier that mends it covered scf.for only and the init itself only.
    On the CPU: an scf.while's barrier is the CPU's prepare step's (on
    Vulkan it made lavapipe fail hyp1f1 at run time, and the jvp of the
    traced-bound loop still fails to compile there)."""
    def f(lib, np):
        def g(x, y):
            c0 = x * 2
            return np.sum(SHARED_INITS[loop](lib.lax, np, c0, y)) + np.sum(c0)
        return g
    x = np.linspace(-1, 1, 24, dtype=np.float32)
    y = x[::-1] * 0.5
    np.testing.assert_allclose(irax.jit(f(irax, jnp), device="cpu")(x, y), f(jax, jjnp)(x, y), rtol=1e-5)
    ours = irax.jit(lambda x, y: irax.jvp(f(irax, jnp), (x, y), (y, x)), device="cpu")(x, y)
    want = jax.jvp(f(jax, jjnp), (x, y), (y, x))
    np.testing.assert_allclose(np.asarray(ours[1]), want[1], rtol=1e-5, atol=1e-5)


def test_gradient_of_a_long_loop_reading_rows_by_its_index_loads():
    """Unrolled 32 steps, each reading x[i] through a 0-d index buffer of its
    own, the gradient's dispatch had 34 buffers and failed to load ("binding
    count 34 > 32", IREE's limit): a loop reading its index unrolls less."""
    def f(lax, np):
        return lambda x: lax.fori_loop(0, 64, lambda i, c: c + np.sum(x[i] ** 2), 0.0)
    x = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    np.testing.assert_allclose(irax.jit(irax.grad(f(lax, jnp)))(x), jax.grad(f(jlax, jjnp))(x), rtol=1e-6)


def overwritten_carry_fn(lax, np):
    """Each step overwrites c[1] with the old c[0], so the reverse loop resets
    c[1]'s cotangent to zeros every step."""
    return lambda a: np.sum(sum(lax.fori_loop(0, 3, lambda i, c: (c[0] * a + 1, c[0]), (a, a))))


@pytest.mark.parametrize("transform", ["value_and_grad", "jit(value_and_grad)"])
def test_gradient_of_a_loop_that_overwrites_a_carry_with_its_value(platform, transform):
    """IREE 3.13 failed every call of this program at run time (a copy in a
    command buffer without bindings) until guard-loop-carries put the zeros
    the reverse loop yields behind a barrier."""
    f = irax.value_and_grad(overwritten_carry_fn(lax, jnp))
    value, gradient = (irax.jit(f) if transform.startswith("jit") else f)(X)
    want_value, want_gradient = jax.value_and_grad(overwritten_carry_fn(jlax, jjnp))(X)
    np.testing.assert_allclose(float(value), want_value, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gradient), want_gradient, rtol=1e-6)


def test_the_gradient_of_a_scan_saves_its_carries_not_its_stacked_outputs():
    """The stacked ys are a carry each step only writes a row of: saving it
    for the backward pass, as the other carries are, took n copies of the
    whole stack (a jit(grad) of a 200-step RNN took 27 s a call, 30 ms now)."""
    make, xs = GRADS["scan_ys_wrt_xs"]
    text = irax.jit(irax.grad(make(lax, jnp))).lower(xs).as_text("optimized")
    assert "tensor<4x2xf32>" in text and "tensor<4x4x2xf32>" not in text


def test_second_order_through_loops():
    f = lambda lax, np: lambda x: lax.scan(lambda c, r: (c * x + r, c), 1.0, np.arange(3.0))[0]  # noqa: E731
    assert np.isclose(float(irax.grad(irax.grad(f(lax, jnp)))(2.0)), float(jax.grad(jax.grad(f(jlax, jjnp)))(2.0)))
    assert np.isclose(float(irax.hessian(f(lax, jnp))(2.0)), float(jax.hessian(f(jlax, jjnp))(2.0)))


def test_gradient_of_a_training_loop_with_fori():
    """A whole (tiny) SGD loop inside fori_loop, differentiated w.r.t. the learning rate."""
    xs = np.linspace(-1, 1, 8, dtype=np.float32)
    ys = 3 * xs + 1

    def final_loss(lax, np):
        def loss(p):
            return ((p[0] * xs + p[1] - ys) ** 2).mean()

        def run(lr):
            step = lambda i, p: p - lr * jax_or_irax(np).grad(loss)(p)  # noqa: E731
            return loss(lax.fori_loop(0, 5, step, np.zeros(2)))
        return run

    jax_or_irax = lambda np: irax if np is jnp else jax  # noqa: E731
    ours = float(irax.grad(final_loss(lax, jnp))(0.1))
    assert np.isclose(ours, float(jax.grad(final_loss(jlax, jjnp))(0.1)), rtol=1e-4)


@pytest.mark.parametrize("lower, upper", [(0, 5.0), (0.0, 5), (0, np.float32(5))])
def test_fori_loop_with_a_float_bound_raises_as_jax(lower, upper):
    """(It reached MLIR: an MLIRError from arith.index_cast.)"""
    jax = pytest.importorskip("jax")
    messages = []
    for lib in (irax, jax):
        with pytest.raises(TypeError) as error:
            lib.lax.fori_loop(lower, upper, lambda i, c: c + 1, 0)
        messages.append(str(error.value))
    assert messages[0] == messages[1]


def newton_sqrt_by_while(lax, np):
    """A while loop whose first carry only the test reads (JAX's cookbook fixed_point)."""
    def sqrt(a):
        update = lambda x: 0.5 * (x + a / x)  # noqa: E731
        return lax.while_loop(lambda c: np.abs(c[0] - c[1]) > 1e-6, lambda c: (c[1], update(c[1])), (a, update(a)))[1]
    return sqrt


def test_a_carry_only_the_test_reads_like_jax(platform):
    """Canonicalization drops the loop's unused result, so its test passes on
    fewer values than it carries; fuse-elementwise-loops rebuilt the scalar
    loop with as many results as carries (an MLIRError, eagerly and under jit)."""
    want = jax.jit(newton_sqrt_by_while(jlax, jjnp))(2.0)
    np.testing.assert_allclose(irax.jit(newton_sqrt_by_while(lax, jnp))(2.0), want, rtol=1e-6)
    np.testing.assert_allclose(newton_sqrt_by_while(lax, jnp)(jnp.float32(2.0)), want, rtol=1e-6)
