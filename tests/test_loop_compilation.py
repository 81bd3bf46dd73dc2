"""How irax compiles and runs loops: elementwise loops become one generic,
irax chooses `unroll`, stacks are written in place, a loop's gradient saves
what its products computed, and loops of small steps run on the calling
thread. Values against JAX; the compiled structure from the lowered IR.
(What loops compute, their errors and gradients: tests/test_control_flow.py.)"""
import re

import numpy as np
import pytest
from iree.compiler import ir

import irax
import irax.numpy as jnp
from irax import lax
from irax.ir import iree
from irax.transforms.loop_carries import stack_carries

from tests.test_control_flow import X

jax = pytest.importorskip("jax")
jlax, jjnp = jax.lax, jax.numpy


# ---------------------------------------------------------------------------
# Elementwise loops become one generic (transforms/elementwise_loops.py)

def elementwise_loop_fns(lax, np):
    """Loops whose every op is elementwise over the carries' shape: each runs
    as one generic with the loop in its body."""
    return {
        "scalar_fori": lambda x: lax.fori_loop(0, 1000, lambda i, c: c * 0.999 + 0.001, x[0]),
        "vector_fori": lambda x: lax.fori_loop(2, 9, lambda i, c: np.sin(c) * x + i / 4 + np.arange(3.0), x),
        "scalar_while": lambda x: lax.while_loop(lambda c: c[0] < 10.0, lambda c: (c[0] * 1.5 + 1, c[1] + 1),
                                                 (x[0] + 1, 0)),
        "traced_bounds": lambda x: lax.fori_loop(0, np.argmax(x) + 3, lambda i, c: c * 0.5 + i, x[1]),
        "nested": lambda x: lax.fori_loop(0, 4, lambda i, c: lax.fori_loop(0, 3, lambda j, d: d * 0.5 + j, c) + 1, x),
        "empty_range": lambda x: lax.fori_loop(5, 2, lambda i, c: c + 1, x),
        "bool_carry": lambda x: lax.fori_loop(0, 5, lambda i, c: (c[0] * 2, c[1] ^ (c[0] > 4)), (x[2], True)),
    }


@pytest.mark.parametrize("name", sorted(elementwise_loop_fns(lax, jnp)))
def test_elementwise_loops_match_jax(name, platform):
    got = irax.jit(elementwise_loop_fns(lax, jnp)[name])(X)
    want = elementwise_loop_fns(jlax, jjnp)[name](X)
    # (1000 dependent steps: lavapipe's fused multiply-adds round differently, ~1e-5)
    irax.tree_util.tree_map(lambda g, w: np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=3e-5), got,
                            want)


@pytest.mark.parametrize("name", sorted(elementwise_loop_fns(lax, jnp)))
def test_an_elementwise_loop_is_one_generic(name):
    """No loop is left on tensors: each runs on scalars inside a generic."""
    text = irax.jit(elementwise_loop_fns(lax, jnp)[name]).lower(X).as_text("optimized")
    assert not re.search(r"scf\.(for|while) .*tensor<", text)
    assert name == "empty_range" or re.search(r"scf\.(for|while) .*-> \((f32|i32|i1)", text)


def test_an_elementwise_loop_is_one_dispatch_without_a_host_loop():
    f = irax.jit(elementwise_loop_fns(lax, jnp)["scalar_fori"])
    flow = f.lower(X).as_text("flow")
    main = flow[flow.index("util.func public @main"):]
    assert main.count("flow.dispatch @") == 1 and "scf.for" not in main


def test_loops_that_are_not_elementwise_stay_loops():
    """A matmul, a row of a stacked tensor, carries of two shapes, and more
    elements than scalar code pays for: the loop stays."""
    w = np.eye(3, dtype=np.float32)
    cases = [lambda x: lax.fori_loop(0, 3, lambda i, c: c @ w, x),
             lambda x: lax.scan(lambda c, r: (c + r, c), x, np.ones((4, 3), np.float32)),
             lambda x: lax.fori_loop(0, 3, lambda i, c: (c[0] + c[1].sum(), c[1] * 2), (x[0], x)),
             lambda x: lax.fori_loop(0, 3, lambda i, c: c * x[0], jnp.ones(17))]
    for f in cases:
        assert re.search(r"scf\.for .*tensor<", irax.jit(f).lower(X).as_text("optimized"))


def test_derivatives_of_elementwise_loops_match_jax():
    """Forward mode carries tangents of the same shape: the loop stays
    elementwise; reverse mode differentiates the loop before it is fused."""
    f = elementwise_loop_fns(lax, jnp)["vector_fori"]
    g = elementwise_loop_fns(jlax, jjnp)["vector_fori"]
    _, tangent = irax.jit(lambda x: irax.jvp(f, (x,), (jnp.ones(3),)))(X)
    np.testing.assert_allclose(np.asarray(tangent), jax.jvp(g, (X,), (np.ones(3, np.float32),))[1], rtol=1e-5)
    grad = irax.jit(irax.grad(lambda x: f(x).sum()))(X)
    np.testing.assert_allclose(np.asarray(grad), jax.grad(lambda x: g(x).sum())(X), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(irax.jit(irax.vmap(f))(np.stack([X, -X]))),
                               jax.vmap(g)(np.stack([X, -X])), rtol=2e-6)


# ---------------------------------------------------------------------------
# `unroll` left unset: irax chooses (control_flow._auto_unroll)

def rnn_scan_fn(lax, np, **unroll):
    w = np.asarray(np.eye(3, dtype=np.float32)[::-1] * 0.9)
    return lambda h, xs: lax.scan(lambda h, x: (np.tanh(h @ w + x), h.sum()), h, xs, **unroll)


XS20 = np.linspace(-1, 1, 60, dtype=np.float32).reshape(20, 3)  # 20 steps: 2 rolled iterations of 8, 4 after


def test_a_small_step_is_unrolled_until_a_rolled_iteration_holds_enough_work():
    """A tiny step: at most half the steps a rolled iteration (a loop stays),
    a factor of the length where one is near; the RNN step, 2**17
    multiply-adds: 2**21 / 2**17 = 16 steps, 20 dividing 200."""
    text = irax.jit(rnn_scan_fn(lax, jnp)).lower(X, XS20).as_text()
    assert re.search(r"scf\.for .* step %c10 ", text) and text.count("math.tanh") == 10
    xs23 = np.linspace(-1, 1, 69, dtype=np.float32).reshape(23, 3)  # 23 is prime: 2 x 11 rolled, 1 after
    text = irax.jit(rnn_scan_fn(lax, jnp)).lower(X, xs23).as_text()
    assert re.search(r"scf\.for .* step %c11 ", text) and text.count("math.tanh") == 11 + 1
    rnn = lambda w, h, xs: lax.scan(lambda h, x: (jnp.tanh(h @ w + x),) * 2, h, xs)  # noqa: E731
    shapes = np.zeros((128, 128), np.float32), np.zeros((8, 128), np.float32), np.zeros((200, 8, 128), np.float32)
    assert re.search(r"scf\.for .* step %c20 ", irax.jit(rnn).lower(*shapes).as_text())
    for unroll in ({"unroll": 1}, {}):  # as written, and a loop of 8 steps or fewer
        xs = XS20 if unroll else XS20[:8]
        assert irax.jit(rnn_scan_fn(lax, jnp, **unroll)).lower(X, xs).as_text().count("math.tanh") == 1
    big = np.ones((20, 128, 128), np.float32)  # a step of more than 2**20 multiply-adds stays rolled
    text = irax.jit(lambda xs: lax.scan(lambda c, x: (c @ x, c.sum()), jnp.ones((128, 128)), xs)).lower(big)
    assert re.search(r"scf\.for .* step %c1 ", text.as_text())


def window_loop_fns(lax, np):
    """Steps of window ops: a max pool, a grouped convolution (generics whose
    maps read o*s + k*d)."""
    kernel = np.ones((6, 1, 2), np.float32) / 2

    def pool(c, x):
        return np.tanh(lax.reduce_window(c, -np.inf, lax.max, (1, 2), (1, 1), [(0, 0), (0, 1)]) * x[:, None])

    def step(c, x):
        c = pool(c, x)
        return c, lax.conv_general_dilated(c[None], kernel, (1,), "VALID", feature_group_count=3)

    return {"scan": lambda c, xs: lax.scan(step, c, xs),
            "fori": lambda c, xs: lax.fori_loop(0, 20, lambda i, c: pool(c, np.asarray(xs)[i]), c)}


@pytest.mark.parametrize("name", ["scan", "fori"])
def test_steps_of_window_ops_are_unrolled_by_their_work(name):
    """The unroll factor counts a window op's loops (its maps read none of
    them alone): reading the maps failed, NotImplementedError at trace time."""
    c = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    ours = window_loop_fns(lax, jnp)[name]
    assert re.search(r"scf\.for .* step %c10 ", irax.jit(ours).lower(c, XS20).as_text())
    irax.tree_util.tree_map(lambda g, w: np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6),
                            irax.jit(ours)(c, XS20), window_loop_fns(jlax, jjnp)[name](c, XS20))


def test_a_step_of_a_named_convolution_counts_its_multiply_adds():
    """A one-group conv (linalg.conv_2d_nhwc_hwcf, no indexing_maps
    attribute) counted its output elements alone, 72 times too few here:
    the loop was unrolled 20 steps, not the 8 its work asks."""
    kernel = np.ones((8, 8, 3, 3), np.float32) / 72
    step = lambda i, c: jnp.tanh(lax.conv_general_dilated(c, kernel, (1, 1), "SAME"))  # noqa: E731
    text = irax.jit(lambda x: lax.fori_loop(0, 40, step, x)).lower(np.ones((1, 8, 32, 32), np.float32)).as_text()
    assert re.search(r"scf\.for .* step %c8 ", text)


@pytest.mark.parametrize("reverse", [False, True])
def test_auto_unrolled_scan_matches_jax(reverse, platform):
    ours = irax.jit(lambda h, xs: rnn_scan_fn(lax, jnp)(h, xs[::-1] if reverse else xs))(X, XS20)
    want = rnn_scan_fn(jlax, jjnp)(X, XS20[::-1] if reverse else XS20)
    irax.tree_util.tree_map(lambda g, w: np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5), ours,
                            want)
    loss = lambda lax, np: lambda h, xs: (rnn_scan_fn(lax, np)(h, xs)[1] ** 2).sum()  # noqa: E731
    grad = irax.jit(irax.grad(loss(lax, jnp), argnums=(0, 1)))(X, XS20)
    want = jax.grad(loss(jlax, jjnp), argnums=(0, 1))(X, XS20)
    for g, w in zip(grad, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------------
# Stacks written in place (pass update-stacks-in-place, transforms/loop_carries.py)

def test_a_loop_carrying_only_stacks_runs_like_jax(platform):
    """Two stacked outputs and nothing else carried (the carry unread):
    pinned, IREE packed their buffers and the call failed ("ref is null in
    hal.buffer.subspan"), on every backend; lax.map of a pair too."""
    xs = np.arange(12.0, dtype=np.float32).reshape(4, 3)
    f = lambda lax, np: lambda xs: (lax.scan(lambda c, x: (c, (x * 2, x + 1, x * x)), 0.0, xs),  # noqa: E731
                                    lax.map(lambda x: (x, x * 2), xs))
    irax.tree_util.tree_map(lambda g, w: np.testing.assert_array_equal(np.asarray(g), np.asarray(w)),
                            irax.jit(f(lax, jnp))(xs), jax.jit(f(jlax, jjnp))(xs))

def two_scans_fn(lax, np):
    """Two scans whose stacks have one type (CSE makes their `tensor.empty`s
    one), one of them updated after its loop."""
    def f(c, xs):
        a = lax.scan(lambda c, x: (c * x + 0.5, c * x), c, xs)[1]
        b = lax.scan(lambda c, x: (np.sin(c) + x, c - x), c, xs)[1]
        return a.at[0].set(1.0), b
    return f


def test_a_scan_writes_its_stack_in_place():
    lowered = irax.jit(rnn_scan_fn(lax, jnp, unroll=1)).lower(X, XS20)
    text = lowered.as_text("optimized")
    assert "flow.tensor.alloca : tensor<20xf32>" in text and "util.optimization_barrier" in text
    copied = re.findall(r"stream\.cmd\.copy .*, %c(\d+) :", lowered.as_text("stream"))
    assert "80" not in copied  # the whole stack (20 floats), which IREE copied every iteration before


def test_stacks_of_one_type_get_memory_of_their_own(platform):
    ours = irax.jit(two_scans_fn(lax, jnp))(X, XS20)
    want = two_scans_fn(jlax, jjnp)(X, XS20)
    for g, w in zip(ours, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)
    assert irax.jit(two_scans_fn(lax, jnp)).lower(X, XS20).as_text("optimized").count("flow.tensor.alloca") == 2


def test_a_stack_read_in_the_function_is_not_pinned(platform):
    """Only a stack the function returns is: IREE releases a subview of an internal one (loop_carries.py)."""
    f = lambda lax, np: lambda c, xs: lax.scan(lambda c, x: (c * x + 0.5, c * x), c, xs)[1].sum(0)  # noqa: E731
    assert "flow.tensor.alloca" not in irax.jit(f(lax, jnp)).lower(X, XS20).as_text("optimized")
    np.testing.assert_allclose(np.asarray(irax.jit(f(lax, jnp))(X, XS20)), f(jlax, jjnp)(X, XS20), rtol=1e-5)


def carry_is_y_fn(lax, np, **kw):
    """An RNN whose stacked output is its carry: each step reads the row the step before it wrote."""
    w = np.asarray(np.eye(3, dtype=np.float32)[::-1] * 0.9)

    def step(h, x):
        h = np.tanh(h @ w + x)
        return h, h
    return lambda h, xs: lax.scan(step, h, xs, **kw)


@pytest.mark.parametrize("kw", [{}, {"reverse": True}, {"unroll": 3}, {"unroll": 1}])
def test_a_scan_reading_the_row_it_wrote_matches_jax(kw, platform, queued_not_inline):
    """Queued, as big steps are: the steps run in order on the pool."""
    ours = irax.jit(carry_is_y_fn(lax, jnp, **kw))(X, XS20)
    want = carry_is_y_fn(jlax, jjnp, **kw)(X, XS20)
    for g, w in zip(ours, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)


def test_a_step_writes_its_row_in_place_and_the_next_step_reads_it_there():
    """Each unrolled step's h goes into the stack by the dispatch that computes
    it (no copy of it into its row), and the next step reads that row
    (update-stacks-in-place, `_read_rows_back`): per rolled iteration of 8
    steps, the copies of the carry in and out, where there were 9."""
    stream = irax.jit(carry_is_y_fn(lax, jnp)).lower(X, XS20).as_text("stream")
    loop = stream[stream.index("^bb2:"):stream.index("^bb3:")]  # the loop's body
    assert loop.count("stream.cmd.dispatch") >= 8 and loop.count("stream.cmd.copy") <= 2


@pytest.mark.parametrize("inline", [-1, 1 << 20])
def test_internal_stacks_pinned_on_the_cpu_keep_the_gradient(inline, monkeypatch):
    """update-stacks-in-place marks the stacks a function does not return
    (grad's saved ones); the CPU backend, which releases a subview (queued
    and inline; Vulkan does not), writes them in place too
    (cpu.pin_internal_stacks), with the same values."""
    monkeypatch.setitem(vars(irax.config), "irax_inline_bytes", inline)  # (-1: every call queued)
    loss = lambda h, xs: (carry_is_y_fn(lax, jnp)(h, xs)[1] ** 2).sum()  # noqa: E731
    unpinned = irax.jit(irax.grad(loss, argnums=(0, 1)), device="cpu", passes=["default", "-update-stacks-in-place"])
    pinned = irax.jit(irax.grad(lambda h, xs: loss(h, xs), argnums=(0, 1)), device="cpu")
    lowered = pinned.lower(X, XS20)
    assert iree.INTERNAL_STACKS in lowered.as_text("optimized")
    assert iree.INTERNAL_STACKS not in lowered.iree_input("cpu")
    assert lowered.iree_input("cpu").count("flow.tensor.alloca") > lowered.as_text("optimized").count(
        "flow.tensor.alloca")
    for g, w in zip(pinned(X, XS20), unpinned(X, XS20)):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


def test_the_backward_loop_reads_the_steps_products_saved_not_computed_again(platform):
    """The RNN step's tanh derivative reads h @ w + x: the forward loop stacks
    it (a value computed by a product), so the backward loop's one product
    is dh @ w^T, where it computed h @ w again too (w constant here, so no
    dw); elementwise values are still computed again."""
    loss = lambda lax, np: lambda h, xs: (carry_is_y_fn(lax, np, unroll=1)(h, xs)[1] ** 2).sum()  # noqa: E731
    grad = irax.jit(irax.grad(loss(lax, jnp), argnums=(0, 1)))
    text = grad.lower(X, XS20).as_text("optimized")
    assert text.count('"reduction"') == 2  # h @ w forward, dh @ w^T back (with it, h @ w again: 3)
    for g, w in zip(grad(X, XS20), jax.grad(loss(jlax, jjnp), argnums=(0, 1))(X, XS20)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)


def test_a_loop_of_small_steps_runs_on_the_calling_thread_whatever_its_inputs(monkeypatch):
    """executable.small_steps: each step of a loop is a dispatch or more, a
    task of the CPU pool's when queued (a few us); with small steps the
    calling thread runs them faster. A loop whose steps read or make big
    tensors (a 300 x 300 matrix times a vector) keeps the pool, as any call
    over IRAX_INLINE_BYTES."""
    monkeypatch.setattr(irax.config, "irax_inline_bytes", 0)  # every call would be queued by its inputs' size
    device = irax.devices("cpu")[0]
    small = irax.jit(carry_is_y_fn(lax, jnp), device="cpu")
    big = irax.jit(lambda m: lax.fori_loop(0, 2, lambda i, c: jnp.tanh(m @ c), m[0]), device="cpu")
    h, xs, m = jnp.asarray(X), jnp.asarray(XS20), jnp.full((300, 300), 1e-3)
    for f, args, queued in ((small, (h, xs), 0), (big, (m,), 1)):
        f(*args)  # compiled and loaded
        before = device._queued
        f(*args)
        assert device._queued == before + queued


def test_a_loop_writing_into_its_argument_is_not_pinned(platform):
    doubled = lambda x: lax.fori_loop(0, 3, lambda i, c: c.at[i].set(c[i] * 2.0), x)  # noqa: E731
    x = jnp.asarray(X)
    assert "flow.tensor.alloca" not in irax.jit(doubled).lower(x).as_text("optimized")
    np.testing.assert_allclose(np.asarray(irax.jit(doubled)(x)), X * 2)
    np.testing.assert_array_equal(np.asarray(x), X)  # the caller's array is unchanged


def test_stack_carries_needs_a_fresh_init_and_one_buffer_handed_on():
    text = irax.jit(two_scans_fn(lax, jnp), passes=["default", "-update-stacks-in-place"]).lower(X, XS20)
    module = text.as_text("optimized")
    assert "flow.tensor.alloca" not in module
    with ir.Context() as ctx:
        ctx.allow_unregistered_dialects = True
        ops, parsed = [], ir.Module.parse(module)
        parsed.operation.walk(lambda op: ops.append(op) or ir.WalkResult.ADVANCE)
        loops = [op for op in ops if op.name == "scf.for"]
        assert [stack_carries(loop) for loop in loops] == [[1], [1]]  # carry 0 is c: an argument for init


def test_the_gradient_of_a_scan_reads_the_cotangent_of_its_stack_without_carrying_it():
    loss = lambda h, xs: (rnn_scan_fn(lax, jnp)(h, xs)[1] ** 2).sum()  # noqa: E731
    text = irax.jit(irax.grad(loss, argnums=(0, 1))).lower(X, XS20).as_text("optimized")
    backward = [line for line in text.splitlines() if "scf.for" in line][-1]
    assert "tensor<20xf32>" not in backward  # the stack's cotangent: read in place, not a carry
    assert "into tensor<20xf32>" not in text[text.rindex("scf.for"):]  # nor its rows zeroed


def test_the_gradient_of_a_scan_reading_its_rows_back_zeroes_them_in_place():
    """Unrolled, each step reads the row the step before wrote (update-stacks-
    in-place), so the row's cotangent goes both to h and to the stack. The
    stack's is zeroed there in place, its row copied out first (barrier-self-
    updates): a generic that wrote the whole stack anew at every step made
    the H=128 RNN's gradient 3x slower (bench_loops.py)."""
    loss = lambda h, xs: (carry_is_y_fn(lax, jnp)(h, xs)[1] ** 2).sum()  # noqa: E731
    text = irax.jit(irax.grad(loss)).lower(X, XS20).as_text("optimized")
    backward = text[text.rindex("scf.for"):]
    assert not re.findall(r"outs\([^)]*: tensor<20x3xf32>\)", backward)


def test_the_gradient_with_respect_to_xs_adds_each_step_s_row_in_place():
    """Each step reads its row xs[i]; the row's cotangent is added to the
    sum over the steps in place (vjp.accumulate), and that sum goes into the
    backward loop's body (control_flow._for): a step added a tensor of all
    the steps, the H=128 RNN's gradient with respect to xs took 61 ms (JAX 3)."""
    loss = lambda h, xs: (carry_is_y_fn(lax, jnp)(h, xs)[1] ** 2).sum()  # noqa: E731
    grad = irax.jit(irax.grad(loss, argnums=(0, 1)))
    text = grad.lower(X, XS20).as_text("optimized")
    assert not re.findall(r"outs\([^)]*: tensor<20x3xf32>\)", text[text.rindex("scf.for"):])
    for g, w in zip(grad(X, XS20), jax.grad(lambda h, xs: (carry_is_y_fn(jlax, jjnp)(h, xs)[1] ** 2).sum(),
                                            argnums=(0, 1))(X, XS20)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)


def xs_read_by_rows_fns(lax, np):
    """Losses whose loops read rows of xs (a value from outside): each row by
    one step (scan's, rolled, unrolled, reversed), twice by one step, some
    rows only, a row read but not differentiated, xs also read outside."""
    w = np.asarray(np.eye(3, dtype=np.float32)[::-1] * 0.9)

    def rnn(**kw):
        return lambda h, xs: (lax.scan(lambda c, x: (np.tanh(c @ w + x),) * 2, h, xs, **kw)[1] ** 2).sum()
    return {
        "rolled": rnn(unroll=1), "unrolled": rnn(unroll=4), "reversed": rnn(unroll=2, reverse=True),
        "twice": lambda h, xs: lax.scan(lambda c, x: (np.tanh(c @ w + x) * x, None), h, xs)[0].sum(),
        "some rows": lambda h, xs: lax.fori_loop(0, 7, lambda i, c: np.tanh(c @ w + xs[i]), h).sum(),
        "not differentiated": lambda h, xs: lax.scan(
            lambda c, x: (np.tanh(c @ w) + lax.stop_gradient(x), None), h, xs)[0].sum(),
        "also outside": lambda h, xs: lax.scan(lambda c, x: (np.tanh(c @ w + x), None), h, xs)[0].sum()
        + (xs ** 3).sum(),
    }


@pytest.mark.parametrize("name", list(xs_read_by_rows_fns(jlax, jjnp)))
def test_the_gradient_with_respect_to_rows_read_once_is_a_stack_written_in_place(name):
    """Where no two steps read one row of xs, each step's cotangent of its
    rows goes into them as they are (0 until then): the backward loop writes
    the rows of a stack and reads none (control_flow._into_rows), from no
    init where every row is read, which IREE updates in place
    (update-stacks-in-place); it read each row back and added to it, and
    IREE copied the whole stack every iteration (the H=128 RNN's gradient
    with respect to W and xs, rolled: 32 -> 8 ms)."""
    fn = xs_read_by_rows_fns(lax, jnp)[name]
    grad = irax.jit(irax.grad(fn, argnums=(0, 1)))
    for g, w in zip(grad(X, XS20), jax.grad(xs_read_by_rows_fns(jlax, jjnp)[name], argnums=(0, 1))(X, XS20)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)
    if name in ("rolled", "unrolled", "reversed"):
        text = grad.lower(X, XS20).as_text("optimized")
        back = text[text.rindex("scf.for"):]
        stack = re.search(r"iter_args\(.*%(arg\d+) = (%\d+)\) -> \(tensor<3xf32>, tensor<20x3xf32>\)", back)
        alloca = re.search(rf"{stack.group(2)} = util.optimization_barrier (%\d+) : tensor<20x3xf32>", text).group(1)
        assert f"{alloca} = flow.tensor.alloca : tensor<20x3xf32>" in text  # (behind a barrier: hide_allocations)
        assert "tensor.extract_slice %" + stack.group(1) not in back


def test_gradient_of_a_loop_that_writes_one_row_at_every_step_matches_jax(platform):
    """Only the last write of the row counts: its cotangent is not the result's at every step."""
    def f(lax, np):
        return lambda x: lax.fori_loop(0, 3, lambda i, c: (c[0] * x, c[1].at[1].set(c[0] * i)),
                                       (x, np.zeros((2, 3))))[1].sum()
    np.testing.assert_allclose(np.asarray(irax.jit(irax.grad(f(lax, jnp)))(X)), jax.grad(f(jlax, jjnp))(X),
                               rtol=1e-5)
