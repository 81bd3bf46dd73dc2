"""Reads of one element at a traced index, fused by IREE into a dispatch it
vectorizes (irax/backends/cpu_scalar_reads.py): IREE 3.13's CPU vectorizer
rejected them ("'arith.mulf' op requires the same type for all operands",
an 'arith.select' for a filled read) until each went into a dispatch region
of its own. The loop is the shape of L-BFGS's two-loop recursion."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.backends import compiler, cpu
from irax.backends import prepare_steps
from irax.backends.cpu_scalar_reads import SCALAR_READS

X = np.arange(10, dtype=np.float32) * 1.5
Q = np.arange(3, dtype=np.float32) + 1
H = np.arange(30, dtype=np.float32).reshape(10, 3) / 100

# name -> (x[j] in irax, the same in NumPy)
READS = {
    "index": (lambda x, j: x[j], lambda x, j: x[j]),
    "dynamic_index_in_dim": (lambda x, j: irax.lax.dynamic_index_in_dim(x, j, keepdims=False), lambda x, j: x[j]),
    "fill": (lambda x, j: x.at[j + 7].get(mode="fill", fill_value=-1.),
             lambda x, j: x[j + 7] if j + 7 < len(x) else -1.),
}


def _stored_products(read):
    """a[j] = x[j] * (h[j] . q) for j < n, q updated as it goes."""
    def run(x, q, h, n):
        def body(j, carry):
            q, a = carry
            a_j = read(x, j) * jnp.dot(h[j], q)
            return q - a_j * h[j], a.at[j].set(a_j)
        return irax.lax.fori_loop(0, n, body, (q, jnp.zeros_like(x)))
    return run


@pytest.mark.parametrize("name", sorted(READS))
def test_read_of_one_element_fused_with_a_dot_in_a_loop(name):
    read, numpy_read = READS[name]
    q, a = irax.jit(_stored_products(read))(X, Q, H, np.int32(4))
    want_q, want_a = Q.astype(np.float64), np.zeros(10)
    for j in range(4):
        want_a[j] = numpy_read(X, j) * (H[j] @ want_q)
        want_q = want_q - want_a[j] * H[j]
    np.testing.assert_allclose(np.asarray(a), want_a, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(q), want_q, rtol=1e-5)


def test_reads_apart_keep_the_loop_on_the_device():
    """A dispatch region, not a util.optimization_barrier: the host waits for
    the device nowhere in the loop (a barrier waited at each read)."""
    def run(x, y, h, q):
        return irax.lax.fori_loop(0, 6, lambda j, q: q + (x[j] - y[j] * jnp.dot(h[j], q)) * h[j], q)

    text = irax.jit(run).lower(X, X + 1, H, Q).as_text("optimized")
    prepared = cpu.backend.prepare(text)
    assert prepared.count("flow.dispatch.region") == 2
    stream = compiler.compile_to_phases(prepared, "llvm-cpu", cpu.backend.compile_flags, ["stream"])[0]
    assert "stream.timepoint.await" not in stream


def test_modules_without_such_reads_are_left_alone():
    """Reads of more than one element, and one-element results of other ops."""
    text = irax.jit(lambda x, i: x[2:5] * irax.lax.dynamic_slice(x, (i,), (3,)).sum()).lower(X, 1).as_text("optimized")
    assert prepare_steps.run(text, [SCALAR_READS]) is text


def test_a_read_that_meets_only_scalar_work_stays_in_its_dispatch():
    """c + x[i] * 2 in a loop is scalar code IREE does not vectorize: a
    region of its own would only cost a dispatch a step (0.29 -> 0.7 ms for
    1000 steps). Beside a dot, the read goes apart (the test above)."""
    scalar = irax.jit(lambda x: irax.lax.fori_loop(0, 5, lambda i, c: c + x[i] * 2.0, 0.0)).lower(X)
    assert "flow.dispatch.region" not in cpu.backend.prepare(scalar.as_text("optimized"))
    np.testing.assert_allclose(irax.jit(lambda x: irax.lax.fori_loop(0, 5, lambda i, c: c + x[i] * 2.0, 0.0))(X),
                               X[:5].sum() * 2, rtol=1e-6)
    beside_a_sum = lambda x: irax.lax.fori_loop(0, 5, lambda i, c: c.at[i].set(c[i] * x[i] + c.sum()), x)  # noqa: E731
    assert "flow.dispatch.region" in cpu.backend.prepare(irax.jit(beside_a_sum).lower(X).as_text("optimized"))
    want = X.astype(np.float64)
    for i in range(5):
        want[i] = want[i] * X[i] + want.sum()
    np.testing.assert_allclose(irax.jit(beside_a_sum)(X), want, rtol=1e-5)
