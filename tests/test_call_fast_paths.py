"""The fast paths of a warm call (issue 17, item 3) and what must turn them off.

A warm jit call or eager op keys its dispatch cache on the arguments' avals,
which compare by identity as equal avals are one object (array.canonical_aval);
an inline call waits on and signals empty fences rather than a step of the
device's timeline (runtime.NO_FENCE); block_until_ready walks dicts, lists
and tuples itself. Each must give way where the slow path would differ.
"""
import collections
import concurrent.futures

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.config import config
from irax.frontend import array
from irax.frontend.array import canonical_aval
from irax.frontend.core import ShapedArray


def counting_jit(fn, **options):
    """jit(fn), and the list its traces append to."""
    traces = []

    def traced(*args):
        traces.append(tuple(a.aval for a in args))
        return fn(*args)

    return irax.jit(traced, **options), traces


def test_equal_avals_of_uploads_and_results_are_one_object():
    x = irax.device_put(np.ones(3, np.float32))
    y = irax.jit(lambda a: a * 2)(x)
    z = jnp.add(x, x)
    assert x.aval is y.aval is z.aval is canonical_aval(ShapedArray((3,), np.float32))
    assert jnp.asarray(1.0).aval is not x.aval  # a weak type is another aval


@pytest.mark.parametrize("change", [
    lambda: jnp.ones(5, np.float32),  # a new shape
    lambda: jnp.ones(4, np.int32),  # a new dtype
    lambda: jnp.full(4, 7.0, np.float32),  # another array of the same signature
], ids=["shape", "dtype", "same"])
def test_the_warm_path_is_not_taken_for_another_signature(change):
    f, traces = counting_jit(lambda a, b: a + b)
    x = jnp.ones(4, np.float32)
    f(x, x)
    f(x, x)
    assert len(traces) == 1  # warm
    y = change()
    out = f(y, y)
    new = y.aval != x.aval
    assert len(traces) == 1 + new
    np.testing.assert_array_equal(out, np.asarray(y) * 2)
    f(x, x)
    assert len(traces) == 1 + new  # the first signature is still warm


def test_a_weak_typed_argument_is_another_signature():
    f, traces = counting_jit(lambda a: a * 2)
    strong, weak = jnp.asarray(np.float32(3.0)), jnp.asarray(3.0)
    assert (strong.aval.weak_type, weak.aval.weak_type) == (False, True)
    f(strong), f(weak), f(strong), f(weak)
    assert len(traces) == 2
    assert f(weak).aval.weak_type and not f(strong).aval.weak_type


def test_avals_that_are_equal_but_not_one_object_still_hit(monkeypatch):
    """When the table of avals starts again, the arrays made before keep their
    avals: equal to the new ones, not the same object. Slower, never a retrace."""
    f, traces = counting_jit(lambda a: a + 1)
    x = jnp.ones(4, np.float32)
    f(x)
    monkeypatch.setattr(array, "_avals", {})
    y = jnp.ones(4, np.float32)
    assert y.aval == x.aval and y.aval is not x.aval
    np.testing.assert_array_equal(f(y), np.full(4, 2))
    assert len(traces) == 1


def test_the_table_of_avals_is_bounded(monkeypatch):
    monkeypatch.setattr(array, "_avals", {})
    monkeypatch.setattr(array, "AVALS_KEPT", 3)
    for n in range(1, 10):
        jnp.zeros(n)
        assert len(array._avals) <= 3


def test_a_deleted_leaf_in_a_tree_is_refused_on_the_warm_path():
    f = irax.jit(lambda p: {k: v * 2 for k, v in p.items()})
    tree = {f"w{i}": jnp.full(4, float(i)) for i in range(20)}
    f(tree)
    f(tree)
    tree["w7"].delete()
    with pytest.raises(RuntimeError, match=r"Array has been deleted with shape=float32\[4\]"):
        f(tree)


def test_a_donated_tree_is_deleted_and_refused_on_the_warm_path():
    step = irax.jit(lambda p: {k: v + 1 for k, v in p.items()}, donate_argnums=0)
    state = {"a": jnp.zeros(4), "b": jnp.zeros(3)}
    for i in range(1, 4):  # the first call, then warm ones
        old, state = state, step(state)
        assert old["a"].is_deleted() and old["b"].is_deleted()
        np.testing.assert_array_equal(state["a"], np.full(4, i))
    with pytest.raises(RuntimeError, match="Array has been deleted"):
        step(old)


def test_inline_calls_take_no_step_of_the_timeline(monkeypatch):
    device = irax.devices("cpu")[0]
    f = irax.jit(lambda a: a * 2)
    x = jnp.arange(4.0)
    f(x).block_until_ready()
    queued = device._queued
    for _ in range(3):
        y = f(x)
        assert y.is_ready() and y._ready == 0  # done when the call returned
    assert device._queued == queued
    # A queued call after inline ones, and an inline call after it, see each other's values.
    monkeypatch.setattr(config, "irax_inline_bytes", 0)
    z = f(y)
    assert z._ready == device._queued == queued + 1
    monkeypatch.setattr(config, "irax_inline_bytes", 1 << 20)
    np.testing.assert_array_equal(f(z), np.arange(4.0) * 8)


def test_a_failed_inline_call_leaves_the_device_usable():
    f = irax.jit(lambda a: irax.pure_callback(lambda v: 1 / 0, jax_shape(a), a))
    x = jnp.arange(4.0)
    with pytest.raises(irax.errors.DeviceError, match="ZeroDivisionError"):
        f(x).block_until_ready()
    np.testing.assert_array_equal(irax.jit(lambda a: a + 1)(x), np.arange(4.0) + 1)


def jax_shape(a):
    return irax.ShapeDtypeStruct(a.shape, a.dtype)


Point = collections.namedtuple("Point", "x y")


def test_block_until_ready_waits_for_every_array_of_a_tree(monkeypatch):
    monkeypatch.setattr(config, "irax_inline_bytes", 0)  # calls on inputs queued: results not ready at once
    f = irax.jit(lambda a: a + 1)
    x = jnp.arange(4.0)
    tree = {"a": [f(x), (f(x), None, 3.0)], "b": Point(f(x), {"c": f(x)}), "d": f(x)}
    leaves = irax.tree_util.tree_leaves(tree)
    assert any(leaf._ready for leaf in leaves if isinstance(leaf, irax.Array))
    assert irax.block_until_ready(tree) is tree
    assert all(leaf._ready == 0 for leaf in leaves if isinstance(leaf, irax.Array))
    one = f(x)
    assert irax.block_until_ready(one) is one and one._ready == 0
    assert irax.block_until_ready([1, "text", None]) == [1, "text", None]


def test_inline_calls_from_threads_at_once():
    """Inline calls no longer wait for each other through the timeline: the
    synchronous device runs calls from several threads at once."""
    import threading

    f = irax.jit(lambda a, b: a * 2 + b)
    errors = []

    def work(k):
        try:
            x = jnp.full(8, float(k))
            for _ in range(300):
                x = f(x, x) - 2 * x  # x * 2 + x - 2 * x: x again
            np.testing.assert_array_equal(x, np.full(8, float(k)))
        except Exception as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_a_tree_of_many_leaves_is_warm_until_any_leaf_or_key_changes():
    """A key of many leaves (the ids of their avals: jit.warm_key) must tell
    apart trees differing in one leaf's shape, dtype or weak type, or in a
    dict key."""
    traces = []

    def step(p):
        traces.append(1)
        return {k: v * 2 for k, v in p.items()}

    f = irax.jit(step)
    tree = {f"w{i:02d}": jnp.full(4, float(i)) for i in range(20)}
    f(tree), f(dict(tree)), f({k: v + 0 for k, v in tree.items()})
    assert len(traces) == 1
    changes = [dict(tree, w07=jnp.ones(5)), dict(tree, w07=jnp.ones(4, np.int32)), dict(tree, w07=jnp.asarray(1.0)),
               {("x" + k if k == "w07" else k): v for k, v in tree.items()}]
    for i, changed in enumerate(changes, 2):
        out = f(changed)
        assert len(traces) == i
        np.testing.assert_array_equal(out["w03"], np.full(4, 6.0))
    f(tree)
    assert len(traces) == 1 + len(changes)


def test_a_warm_key_keeps_the_avals_whose_ids_it_holds(monkeypatch):
    """The warm key holds the ids of its avals (jit.warm_key), so its entry
    keeps them alive: no other aval may take one of those ids while it could
    be found, even once the table of avals and the arrays no longer hold
    them (a new aval freed memory would take is of another shape here)."""
    import gc

    f, traces = counting_jit(lambda a: a + 1)
    monkeypatch.setattr(array, "_avals", {})
    x = jnp.ones(4, np.float32)
    f(x), f(x)
    monkeypatch.setattr(array, "_avals", {})
    del x
    gc.collect()
    for n in range(5, 10):  # new avals, none of them with the kept one's id
        np.testing.assert_array_equal(f(jnp.ones(n, np.float32)), np.full(n, 2))
    assert len(traces) == 6


def test_arguments_flatten_the_arguments_once(monkeypatch):
    """staging.Arguments counts the leaves of the arguments whose numbers are
    static from the trees it flattened (it flattened each argument again,
    static numbers or not)."""
    from irax import tree_util
    from irax.frontend import staging

    args = ({"b": jnp.ones(2), "a": 1.0}, 3, [jnp.zeros(1), "text"])
    trees = [tree_util.tree_structure(a) for a in args]

    def refused(*_):
        raise AssertionError("flattened again")

    monkeypatch.setattr(tree_util, "tree_leaves", refused)
    monkeypatch.setattr(tree_util, "tree_structure", refused)
    plain, static = staging.Arguments(args), staging.Arguments(args, static_numbers={1})
    assert plain.is_dynamic == (True, True, True, True, False)  # a, b; 3; zeros, "text"
    assert static.is_dynamic == (True, True, False, True, False)  # the number of a static argument is static
    assert static.static == (3, "text") and plain.arg_trees == static.arg_trees == trees
    assert static.dynamic_indices(2) == [2]


def _view_checks(monkeypatch):
    """The list of results each call looked at for a shared buffer."""
    from irax.frontend import executable

    looked, note = [], executable._note_views
    monkeypatch.setattr(executable, "_note_views", lambda operands, results, *rest: looked.append(len(results))
                        or note(operands, results, *rest))
    return looked


def test_a_straight_line_program_that_shared_no_buffer_is_not_looked_at_again(monkeypatch):
    """Which operands' buffers a program without control flow returns is
    fixed when IREE compiles it: after one call sharing none, the warm calls
    do not look (executable.Executable.fixed_sharing)."""
    looked = _view_checks(monkeypatch)
    f = irax.jit(lambda p: {k: 0.9 * w + 0.1 for k, w in p.items()})
    tree = {f"w{i}": jnp.full(4, float(i)) for i in range(5)}
    for _ in range(4):
        out = f(tree)
    np.testing.assert_allclose(out["w3"], np.full(4, 2.8), rtol=1e-6)
    assert looked == [5]
    from irax.frontend import eager

    monkeypatch.setattr(eager, "_dispatch", eager._Dispatch())  # (an earlier test may have run this op already)
    x, y = jnp.arange(4.0), jnp.ones(4)
    for _ in range(3):
        jnp.add(x, y)  # an elementwise eager kernel too
    assert looked == [5, 1]


def test_a_program_whose_results_may_share_buffers_is_looked_at_every_call(monkeypatch):
    """A result that shared an operand's buffer once, and a branch that may
    return an operand at one call and a new array at another, are looked at
    each call: donating the operand later must leave the shared result alone."""
    looked = _view_checks(monkeypatch)
    reshape = irax.jit(lambda a: a.reshape(2, 2))
    choose = irax.jit(lambda p, a: irax.lax.cond(p, lambda t: t, lambda t: t * 2, a))
    donate = irax.jit(lambda a: a.at[0].set(7.0), donate_argnums=0)
    for _ in range(3):
        x = jnp.arange(4.0)
        view = reshape(x)
        doubled, same = choose(jnp.asarray(False), x), choose(jnp.asarray(True), x)
        np.testing.assert_array_equal(donate(x), [7, 1, 2, 3])
        np.testing.assert_array_equal(view, [[0, 1], [2, 3]])
        np.testing.assert_array_equal(same, np.arange(4.0))
        np.testing.assert_array_equal(doubled, np.arange(4.0) * 2)
    assert len(looked) == 3 + 6 + 1  # reshape's and choose's calls, and donate's first (its operand is deleted)


def test_python_numbers_are_put_once_as_eager_operands(monkeypatch):
    """`x * 2` in a loop puts 2 once (array.scalar_operand: a put costs as
    much as the op), keyed by bits, dtype, weak type and device: -0.0 is not
    0.0, a NaN finds itself; one deleted (donated) is put again."""
    puts = []
    device = irax.devices("cpu")[0]
    x = irax.device_put(np.array([1.0, -2.0], np.float32), device)
    real_put = type(device).put
    monkeypatch.setattr(type(device), "put", lambda self, a, *rest: puts.append(a.dtype) or real_put(self, a, *rest))
    with irax.default_device(device):
        for _ in range(3):
            y = x * 2
        assert len(puts) <= 1 and y.tolist() == [2.0, -4.0]  # (none: another test put 2 already)
        assert (x + -0.0).tolist() == [1.0, -2.0] and (jnp.zeros(2) + -0.0).tolist() == [0.0, 0.0]
        assert str((jnp.zeros(2) * -0.0).tolist()) == "[-0.0, -0.0]"  # -0.0 is an operand of its own
        assert np.isnan(x + np.nan).all() and np.isnan(x + np.nan).all()
        kept = array.scalar_operand(2, np.float32, True)
        kept.delete()
        assert (x * 2).tolist() == [2.0, -4.0]
        assert (jnp.arange(3, dtype=np.uint8) + 300).tolist() == [44, 45, 46]  # wrapped as JAX: 300 -> 44


def test_warm_calls_are_placed_as_the_general_path_places_them():
    """A warm jit call or eager op runs at once only where its operands lie
    where the last call ran and need no moving (executable.run_warm); where
    array.place would move one, or commit the results otherwise, it gives
    way: results land where, and as committed as, JAX puts them."""
    import plugin_fakes

    cpu, other = irax.devices("cpu")[0], plugin_fakes.sync.devices()[0]
    x, y = jnp.arange(4.0), jnp.ones(4)
    x_other, y_other = irax.device_put(x, other), irax.device_put(y, other)
    x_cpu = irax.device_put(np.arange(4.0, dtype=np.float32), cpu)
    # (arguments, default device, where the results are, whether committed; None: JAX's error)
    cases = [((x, y), cpu, cpu, False),
             ((x, y), other, other, False),  # uncommitted: moved to the default device
             ((x_other, y_other), cpu, other, True),
             ((x_other, y), cpu, other, True),  # the uncommitted one follows the committed one
             ((x_cpu, y_other), cpu, None, None)]  # committed to two devices
    calls = {"jit": irax.jit(lambda a, b: a * 2 + b), "eager": lambda a, b: jnp.add(jnp.multiply(a, 2.0), b),
             "jit(device=other)": irax.jit(lambda a, b: a * 2 + b, device=other)}
    for name, call in calls.items():
        for _ in range(3):  # the first calls, then warm ones (each case after the others: the last ran elsewhere)
            for args, default, device, committed in cases:
                if name == "jit(device=other)":  # jit's device wins, and commits
                    device, committed = other, True
                with irax.default_device(default):
                    if device is None:
                        with pytest.raises(ValueError, match="Received incompatible devices"):
                            call(*args)
                        continue
                    out = call(*args)
                assert (out.device, out.committed) == (device, committed), (name, args, default)
                np.testing.assert_array_equal(out, np.arange(4.0) * 2 + 1)


def test_a_deleted_operand_is_refused_on_the_warm_path():
    f = irax.jit(lambda a, b: a + b)
    for call in (f, jnp.add):
        x, y = jnp.arange(4.0), jnp.ones(4)
        call(x, y), call(x, y)
        y.delete()
        with pytest.raises(RuntimeError, match=r"Array has been deleted with shape=float32\[4\]"):
            call(x, y)


def test_trees_of_leaves_only_flatten_and_unflatten_as_before():
    """A dict already in sorted key order is read in order (no lookup per
    key), another sorted; a node of leaves only is rebuilt without a step
    per leaf, beside nodes with none (None, ()) and nested ones."""
    from irax import tree_util

    unsorted = {"b": 2, "c": 3, "a": 1}
    assert tree_util.tree_flatten(unsorted)[0] == [1, 2, 3]
    tree = ({"a": 1, "b": 2}, None, (), [3, {"c": (4, 5)}], {"z": 6, "y": 7})
    leaves, treedef = tree_util.tree_flatten(tree)
    assert leaves == [1, 2, 3, 4, 5, 7, 6]
    rebuilt = treedef.unflatten(leaves)
    assert rebuilt == ({"a": 1, "b": 2}, None, (), [3, {"c": (4, 5)}], {"y": 7, "z": 6})
    assert list(rebuilt[4]) == ["y", "z"]  # sorted keys, as JAX rebuilds a dict
    assert tree_util.tree_unflatten(tree_util.tree_structure({"k": 0}), ["v"]) == {"k": "v"}


def _counting_run_warm(monkeypatch):
    """The list of calls that took executable.run_warm: none once a loop takes the fast calls."""
    from irax.frontend import executable

    calls, real = [], executable.run_warm
    monkeypatch.setattr(executable, "run_warm", lambda *a: calls.append(a) or real(*a))
    return calls


def test_a_loop_on_one_signature_takes_the_fast_call(monkeypatch):
    """jit's warm calls on flat Arrays and eager ops, from their third call
    on one signature, run in one frame (executable.fast_call), with results
    as the general path makes them."""
    from irax.frontend import eager

    calls = _counting_run_warm(monkeypatch)
    keys, real_get = [], eager._dispatch.get
    monkeypatch.setattr(eager._dispatch, "get", lambda key: keys.append(key) or real_get(key))
    f = irax.jit(lambda a, b: (a * 2 + b, a - b))
    x, y = jnp.arange(4.0), jnp.ones(4)
    for call in (f, jnp.subtract):
        for _ in range(5):
            out = call(x, y)
    np.testing.assert_array_equal(f(x, y)[0], np.arange(4.0) * 2 + 1)
    np.testing.assert_array_equal(out, np.arange(4.0) - 1)
    assert out.aval is x.aval and not out.committed and out._ready == 0
    assert len(calls) == 2  # the second call of each made its fast call
    assert sum(type(k) is tuple for k in keys) <= 3  # the eager op's key: at its first two calls only (a miss looks twice)



def test_a_reduction_s_warm_calls_take_the_fast_call(monkeypatch):
    """A result can share only an operand's buffer of its size, so an eager
    reduction's (smaller than its operand) shares none: its warm calls take
    the fast call, where it looked at its results' buffers at every call."""
    from irax.frontend import eager

    monkeypatch.setattr(eager, "_dispatch", eager._Dispatch())  # (a test before may have made its fast call)
    calls = _counting_run_warm(monkeypatch)
    x = jnp.arange(12.0).reshape(3, 4)
    keys, real_get = [], eager._dispatch.get
    monkeypatch.setattr(eager._dispatch, "get", lambda key: keys.append(key) or real_get(key))
    for _ in range(5):
        out = jnp.sum(x, axis=1)
    np.testing.assert_array_equal(out, np.arange(12.0).reshape(3, 4).sum(axis=1))
    assert len(calls) == 1  # its second call, which made the fast call
    assert len(keys) <= 3  # with params too, a warm call makes no key (a miss looks twice)
    np.testing.assert_array_equal(jnp.sum(x, axis=0), np.arange(12.0).reshape(3, 4).sum(axis=0))  # other params

def test_a_product_s_warm_calls_take_the_fast_call(monkeypatch):
    """A square product's result has its operands' size, but a product is a
    new value always (eager.py): its warm calls take the fast call, where
    they looked at its result's buffer at every call; the result is its own."""
    from irax.frontend import eager

    monkeypatch.setattr(eager, "_dispatch", eager._Dispatch())
    calls = _counting_run_warm(monkeypatch)
    host = np.arange(16.0, dtype=np.float32).reshape(4, 4)
    x = jnp.asarray(host)
    for _ in range(5):
        out = x @ x
    x.delete()
    np.testing.assert_array_equal(out, host @ host)
    assert len(calls) == 1  # its second call, which made the fast call


def test_results_of_fast_calls_stay_their_own():
    """A fast call fills the results list of the call before it again
    (executable.fast_call): the arrays that call returned keep their values."""
    f = irax.jit(lambda a, b: (a + b, a * b))
    kept = []
    for k in range(6):
        x = jnp.full(4, float(k))
        kept.append((f(x, x), jnp.negative(x)))
    for k, ((total, product), negated) in enumerate(kept):
        np.testing.assert_array_equal(np.stack([total, product, negated]), [[2 * k] * 4, [k * k] * 4, [-k] * 4])


def test_the_fast_call_gives_way_where_a_call_differs(monkeypatch):
    """Each thing that changes what a warm call does turns the fast call off
    for that call: debug_nans, disable_jit, IRAX_INLINE_BYTES (a queued
    call), a committed argument, another default device."""
    import plugin_fakes

    traces = []
    f = irax.jit(lambda a, b: traces.append(1) or a * b)
    x, y = jnp.arange(4.0), jnp.full(4, 2.0)
    for call in (f, jnp.multiply):
        for _ in range(3):
            call(x, y)
        nan = irax.device_put(np.full(4, np.nan, np.float32))  # (x's signature)
        assert nan.aval is x.aval
        monkeypatch.setattr(config, "irax_debug_nans", True)
        with pytest.raises(FloatingPointError, match="invalid value"):
            call(nan, y)
        monkeypatch.setattr(config, "irax_debug_nans", False)
        monkeypatch.setattr(config, "irax_inline_bytes", 0)
        queued = call(x, y)
        assert queued._ready  # (a step of the timeline: not run inline)
        monkeypatch.setattr(config, "irax_inline_bytes", 1 << 20)
        cpu, other = irax.devices("cpu")[0], plugin_fakes.sync.devices()[0]
        assert call(irax.device_put(jnp.arange(4.0), cpu), y).committed  # (x itself stays uncommitted)
        with irax.default_device(other):
            assert call(x, y).device is other
        np.testing.assert_array_equal(call(x, y), np.arange(4.0) * 2)
    with irax.disable_jit():
        before = len(traces)
        f(x, y)
        assert len(traces) == before + 1


def test_a_warm_jitted_call_on_the_tape_is_recorded():
    """grad through Python control flow runs the jitted function on concrete
    Arrays, recorded on the tape: a fast call of the same signature made
    before must not run it unrecorded."""
    import jax
    import jax.numpy as jjnp

    def loss(lib, np_):
        inner = lib.jit(lambda v, w: np_.sin(v) * w)
        return inner, lambda v, w: inner(v, w) * 2 if v > 0 else inner(v, w)

    inner, f = loss(irax, jnp)
    v, w = jnp.asarray(0.7), jnp.asarray(1.5)
    for _ in range(3):
        inner(v, w)  # (the signature of grad's concrete arguments: weak float32 scalars)
    ours = irax.grad(f, argnums=(0, 1))(v, w)
    theirs = jax.grad(loss(jax, jjnp)[1], argnums=(0, 1))(0.7, 1.5)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_an_eager_op_looks_its_kernel_up_in_a_new_dispatch_cache(monkeypatch):
    """An eager op's fast call of its last call is the dispatch cache's: a
    test that starts a new cache (to find other kernels) finds them."""
    from irax.frontend import eager

    x, y = jnp.arange(4.0), jnp.ones(4)
    for _ in range(3):
        jnp.add(x, y)
    looked_up, real = [], eager._executable
    monkeypatch.setattr(eager, "_executable", lambda *a: looked_up.append(a) or real(*a))
    monkeypatch.setattr(eager, "_dispatch", eager._Dispatch())
    np.testing.assert_array_equal(jnp.add(x, y), np.arange(4.0) + 1)
    assert len(looked_up) == 1


def test_clear_caches_drops_the_fast_calls(monkeypatch):
    """irax.clear_caches: the next call of a jitted function traces again,
    and the next eager op looks its kernel up again, fast calls or not."""
    from irax.frontend import eager

    f, traces = counting_jit(lambda a, b: a - b)
    x, y = jnp.arange(4.0), jnp.ones(4)
    for _ in range(3):
        f(x, y), jnp.subtract(x, y)
    looked_up, real = [], eager._executable
    monkeypatch.setattr(eager, "_executable", lambda *a: looked_up.append(a) or real(*a))
    irax.clear_caches()
    np.testing.assert_array_equal(f(x, y), np.arange(4.0) - 1)
    np.testing.assert_array_equal(jnp.subtract(x, y), np.arange(4.0) - 1)
    assert len(traces) == 2 and len(looked_up) == 1


def test_numbers_among_jit_arguments_take_the_warm_path(monkeypatch):
    """A jitted call with numbers among its arguments (a loop's counter, a
    step size) is warm: it took the traced path (staging.Arguments) at
    every call, ~40 us where a call on arrays takes ~8. Each number is its
    own value on the warm path too (-0.0 is not 0.0), and a NumPy scalar
    keeps its dtype (another signature)."""
    from irax.frontend import staging

    f = irax.jit(lambda x, s, t: x / s + t)
    x = jnp.ones(2)
    assert f(x, 2.0, 1).tolist() == [1.5, 1.5]  # traced here
    made = []
    real = staging.Arguments
    monkeypatch.setattr(staging, "Arguments", lambda *args, **kwargs: made.append(args) or real(*args, **kwargs))
    assert [f(x, s, t).tolist() for s, t in ((4.0, 2), (-0.0, 0), (0.0, 3), (-0.0, 5))] == [
        [2.25, 2.25], [-np.inf, -np.inf], [np.inf, np.inf], [-np.inf, -np.inf]]
    assert made == []
    assert f(x, np.float16(2.0), 1).dtype == jnp.float32 and len(made) == 1  # float16 is not weak: traced again
    from irax.frontend import executable  # the fast call (one frame) converts numbers too

    warm_runs, run_warm = [], executable.run_warm
    monkeypatch.setattr(executable, "run_warm", lambda *args: warm_runs.append(1) or run_warm(*args))
    assert [f(x, s, 0).tolist() for s in (4.0, -0.0)] == [[0.25, 0.25], [-np.inf, -np.inf]]
    assert warm_runs == [] and len(made) == 1
    g = irax.jit(lambda x, p: x / p["s"] + p["t"][0])  # numbers in a tree
    assert [g(x, {"s": s, "t": [t]}).tolist() for s, t in ((2.0, 1), (-0.0, 1))] == [[1.5, 1.5], [-np.inf] * 2]
    assert len(made) == 2


def test_numbers_in_the_fast_call_are_written_not_put(monkeypatch):
    """A number among a fast call's arguments is written into a buffer the
    call keeps (~0.2 us) rather than put on the device as an array (~9 us
    for a new value: `step(state, i)` in a loop). Each call's numbers are
    its own: calls in other threads take other buffers."""
    from irax.backends import runtime

    f = irax.jit(lambda x, s, i: x * s + i)
    x = jnp.arange(3.0)
    assert f(x, 2.0, 1).tolist() == [1.0, 3.0, 5.0]
    assert f(x, 2.0, 1).tolist() == [1.0, 3.0, 5.0]  # (the fast call is made at a warm call)
    puts = []
    put = runtime.Device.put
    monkeypatch.setattr(runtime.Device, "put", lambda self, a: puts.append(a) or put(self, a))
    for i in range(-3, 40):
        assert f(x, i / 4, i).tolist() == (np.arange(3.0, dtype=np.float32) * np.float32(i / 4) + i).tolist()
    assert puts == []
    h = irax.jit(lambda x, s: x / s)
    y = x[1:]
    assert [np.signbit(h(y, s)).tolist() for s in (1.0, 1.0, -0.0, 0.0)] == [[False] * 2] * 2 + [[True] * 2, [False] * 2]
    assert np.isnan(f(x, np.nan, 0)).all()
    with pytest.raises(OverflowError, match="argument path is i. Got <class 'int'> with value 1099511627776"):
        f(x, 1.0, 2**40)
    assert f(x, np.float16(3.0), np.int8(1)).dtype == jnp.float32  # another signature, traced
    assert f(x, 1.0, True).tolist() == [1.0, 2.0, 3.0]
    assert puts != [] and f(x, 0.5, 7).tolist() == [7.0, 7.5, 8.0]

    def in_thread(k):
        return [f(x, 1.0, 1000 * k + i)[0].item() for i in range(100)]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        got = list(pool.map(in_thread, range(4)))
    assert got == [[1000.0 * k + i for i in range(100)] for k in range(4)]

    k = irax.jit(lambda x, i: (x * 2, i * 2))  # a Python int is another aval in 64-bit mode
    assert [k(x, 1)[1].dtype for _ in range(3)] == [jnp.int32] * 3
    with irax.enable_x64(True):
        assert [k(x, 1)[1].dtype for _ in range(3)] == [jnp.int64] * 3
    assert k(x, 1)[1].dtype == jnp.int32


def test_calls_with_static_arguments_and_keywords_take_the_warm_path(monkeypatch):
    """A jitted call with static arguments or keywords (jnp.linalg.norm's
    ord and axis, nn.log_softmax's axis) is warm too: its key holds the
    static values (strictly typed: 1 and 1.0 are two programs, as JAX's)
    and the keywords' names. It took the traced path at every call: ~34 us
    for an eager norm of 64 x 64 floats, JAX's ~10."""
    from irax.frontend import staging

    f = irax.jit(lambda x, n, scale=1.0, *, shift: x * n * scale + shift, static_argnums=1)
    x = jnp.ones(2)
    assert f(x, 2, shift=1.0).tolist() == [3.0, 3.0]  # traced
    assert f(x, 2, scale=3.0, shift=1.0).tolist() == [7.0, 7.0]  # traced: another keyword
    made = []
    real = staging.Arguments
    monkeypatch.setattr(staging, "Arguments", lambda *args, **kwargs: made.append(args) or real(*args, **kwargs))
    assert [f(x, 2, shift=s).tolist() for s in (1.0, -1.0)] == [[3.0, 3.0], [1.0, 1.0]]
    assert f(x, 2, scale=0.5, shift=0.0).tolist() == [1.0, 1.0]
    assert made == []
    assert f(x, 2.0, shift=1.0).tolist() == [3.0, 3.0] and len(made) == 1  # 2.0 is not 2: traced again
    assert f(x, 3, shift=jnp.zeros(2)).tolist() == [3.0, 3.0] and len(made) == 2
    assert f(x, 3, shift=jnp.ones(2)).tolist() == [4.0, 4.0] and len(made) == 2  # warm
    norm = jnp.linalg.norm
    norm(x, ord=1)
    made.clear()
    assert [norm(v, ord=o).tolist() for v, o in ((x, 1), (x * 3, 1), (x, 2))] == [2.0, 6.0, float(np.sqrt(np.float32(2)))]
    assert len(made) == 1  # ord=2 is new


def test_the_fast_call_is_written_for_where_its_numbers_were():
    """A fast call's checks are written out per signature, a number's at the
    positions that held numbers: a weakly typed 0-d Array there (the same
    aval, so the same warm entry), or a number where an Array was, gives
    way to the general path, whose values are right."""
    f = irax.jit(lambda a, s: a * s)
    a = jnp.arange(4.0)
    weak = irax.jit(lambda s: s)(0.5)  # (a Python float's aval: weak float32[])
    assert weak.weak_type
    for s in (0.5, 0.5, 0.5, weak, 2.0, weak, 0.25):
        np.testing.assert_array_equal(f(a, s), np.arange(4.0, dtype=np.float32) * np.float32(s))
    g = irax.jit(lambda a, s: a * s)
    for s in (weak, weak, weak, 0.5, weak, 3.0):
        np.testing.assert_array_equal(g(a, s), np.arange(4.0, dtype=np.float32) * np.float32(s))
