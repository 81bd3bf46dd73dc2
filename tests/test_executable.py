"""The one path compiled programs run by (frontend/executable.py), and the
one bounded cache policy (backends/cache.LRU, limit IRAX_CACHE_SIZE)."""
import numpy as np
import pytest
from iree.compiler import ir

import irax
import irax.numpy as jnp
from irax.backends import cache
from irax.config import config
from irax.frontend import eager, executable, staging

X = np.arange(4, dtype=np.float32)


@pytest.fixture
def cache_size(monkeypatch):
    """Set IRAX_CACHE_SIZE's setting for one test."""
    def set_(n):
        monkeypatch.setattr(config, "irax_cache_size", config.irax_cache_size)  # what to put back
        config.update("irax_cache_size", n)
    return set_


def test_lru_keeps_the_entries_used_last(cache_size):
    cache_size(2)
    lru = cache.LRU()
    lru["a"], lru["b"] = 1, 2
    assert lru.get("a") == 1  # now "b" is the least recently used
    lru["c"] = 3
    assert (lru.get("a"), lru.get("b"), lru.get("c"), len(lru)) == (1, None, 3, 2)


class _CountedKey:
    """A key that counts its hashes (a warm key's avals hash in Python)."""
    hashes = 0

    def __init__(self, name):
        self.name = name

    def __hash__(self):
        _CountedKey.hashes += 1
        return hash(self.name)

    def __eq__(self, other):
        return self.name == other.name


def test_lru_hashes_a_hit_of_the_entry_used_last_once_and_keeps_the_order(cache_size):
    cache_size(3)
    lru = cache.LRU()
    a, b, c, d = map(_CountedKey, "abcd")
    lru[a], lru[b], lru[c] = 1, 2, 3
    _CountedKey.hashes = 0
    assert (lru.get(_CountedKey("c")), lru.get(_CountedKey("c"))) == (3, 3)  # equal keys, as warm keys are
    assert _CountedKey.hashes == 2  # one lookup each: c is last already
    assert (lru.get(a), lru.get(c), lru.get(c)) == (1, 3, 3)  # a, then c again, moved to the end
    lru[b] = 20  # put again: keeps its place, as in a dict (b is now the least recently used)
    lru[d] = 4
    assert (len(lru), lru.get(b), lru.get(a), lru.get(c), lru.get(d)) == (3, None, 1, 3, 4)
    lru.clear()
    assert (len(lru), lru.get(d)) == (0, None)
    lru[d] = 5
    assert lru.get(d) == 5

def test_every_program_cache_is_bounded_by_the_setting(cache_size):
    cache_size(2)
    x = jnp.asarray(X)
    fns = [irax.jit(lambda v, k=k: v * k) for k in range(3)]
    for f in fns:
        np.testing.assert_allclose(f(x), X * fns.index(f))
    x + 1.0, x * 2.0, x - 3.0, -x  # noqa: B018  four eager kernels
    assert len(staging._staged) == len(eager._dispatch) == len(eager._kernels) == len(cache._memory) == 2
    np.testing.assert_allclose(fns[0](x), 0 * X)  # evicted: traced and loaded again, same values


@pytest.mark.parametrize("path", ["eager", "jit", "grad", "cond", "compiled"])
def test_every_call_goes_through_run(path, monkeypatch):
    calls = []
    run = executable.run  # (execute calls it; eager ops and jit's warm calls call it after array.place)

    def counting(staged, *args, **kwargs):
        calls.append(staged)
        return run(staged, *args, **kwargs)

    monkeypatch.setattr(executable, "run", counting)
    x = jnp.asarray(X)
    f = lambda v: v * 2.0  # noqa: E731
    call = {"eager": lambda: x * 2.0,
            "jit": lambda: irax.jit(f)(x),
            "grad": lambda: irax.grad(lambda v: jnp.sum(f(v)))(x),
            "cond": lambda: irax.lax.cond(True, f, lambda v: v, x),
            "compiled": lambda: irax.jit(f).lower(x).compile()(x)}[path]
    calls.clear()
    call()
    assert len(calls) == 1  # one program, traced whole: no eager kernel ran on the side


def test_a_deleted_argument_is_jax_error_on_every_path():
    f = irax.jit(lambda v: v + 1.0, donate_argnums=0)
    x = jnp.asarray(X)
    compiled = irax.jit(lambda v: v + 1.0).lower(x).compile()
    f(x)
    for call in (lambda: x + 1.0, lambda: f(x), lambda: compiled(x)):
        with pytest.raises(RuntimeError, match=r"Array has been deleted with shape=float32\[4\]"):
            call()


def test_an_elementwise_chain_is_one_loop_s_work():
    """IREE fuses a chain of elementwise generics into one loop, so what
    passes between two of them is never stored: work_bytes counted every
    op's operands and results, and jit(nn.softplus) of 64 x 64 floats (ten
    generics, 16 KB in and out) read as 480 KB, over IRAX_INLINE_BYTES:
    queued, 30 us a call, against 11 on the calling thread."""
    device = irax.devices("cpu")[0]
    chain = irax.jit(lambda x: jnp.tanh(jnp.exp(-jnp.abs(x)) * 2 + 1) - jnp.sqrt(jnp.abs(x)) / 3 + x * x)
    x = jnp.asarray(np.linspace(-2, 2, 64 * 64, dtype=np.float32).reshape(64, 64))
    want = np.tanh(np.exp(-np.abs(x)) * 2 + 1) - np.sqrt(np.abs(x)) / 3 + np.asarray(x) ** 2
    for _ in range(2):  # (a first call and a warm one)
        queued = device._queued
        np.testing.assert_allclose(chain(x), want, rtol=1e-5, atol=1e-6)
        assert device._queued == queued
    reduced = irax.jit(lambda x: jnp.exp(x).sum(axis=0) + x)  # a reduction between: its result is stored
    np.testing.assert_allclose(reduced(x), np.exp(np.asarray(x)).sum(axis=0) + x, rtol=1e-5)


def test_a_contraction_s_work_is_its_multiply_adds_and_an_output_s_empty_is_not_read():
    """A 128^3 product moves 192 KB and does 2.1 million multiply-adds:
    counted by its bytes, it ran on the calling thread, on one core, where
    the pool's two threads share it. And an elementwise generic's outs (a
    tensor.empty it writes without reading) were counted as read: x * 2
    of n floats read as 3 n of them."""
    device = irax.devices("cpu")[0]
    a = jnp.ones((128, 128))
    product = irax.jit(lambda a: a @ a)
    for _ in range(2):  # (a first call and a warm one)
        queued = device._queued
        np.testing.assert_array_equal(product(a), np.full((128, 128), 128.0, np.float32))
        assert device._queued == queued + 1
    with ir.Context() as context:
        context.allow_unregistered_dialects = True
        module = ir.Module.parse(irax.jit(lambda x: x * 2).lower(np.ones(1000, np.float32)).as_text())
        assert executable.work_bytes(module, []) == 2 * 4000 + 4  # (the 2: a scalar constant's 4 bytes)


def test_a_call_runs_where_its_work_says_not_its_inputs():
    """A CPU call runs on the calling thread when it reads and writes at
    most IRAX_INLINE_BYTES (executable.work_bytes). Its inputs' size decided:
    a 4-byte input making a 2 MB result ran on the calling thread, on one
    core (a 64 MB one took 36-48 ms there, 4 queued), and the update of one
    element of a donated 2 MB argument was queued (~47 us a call, 9 on
    the calling thread)."""
    device = irax.devices("cpu")[0]
    fill = irax.jit(lambda s: jnp.full((512, 1024), s) * 2)
    update_donated = irax.jit(lambda x: x.at[7].set(1.0), donate_argnums=0)
    update_copy = irax.jit(lambda x: x.at[7].set(2.0))  # writes a copy of x: 2 MB
    s, x = jnp.float32(1.5), jnp.zeros(5 * 10**5)
    for _ in range(2):  # (a first call and a warm one)
        queued = device._queued
        big = fill(s)
        assert device._queued == queued + 1
        x = update_donated(x)
        assert device._queued == queued + 1
        copy = update_copy(x)
        assert device._queued == queued + 2
    np.testing.assert_array_equal(big, np.full((512, 1024), 3.0, np.float32))
    assert (float(x[7]), float(copy[7]), float(x.sum()), float(copy.sum())) == (1.0, 2.0, 1.0, 2.0)
