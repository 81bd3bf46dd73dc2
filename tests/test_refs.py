"""Mutable array references (irax.new_ref, irax.Ref, irax.freeze): each case
runs the same code with jax and with irax (JAX's docs/array_refs.md cells
among them) and compares what it prints, or the error's type and message."""
import numpy as np
import pytest

import irax
import irax.numpy as inp

jax = pytest.importorskip("jax")
import jax.numpy as jjnp  # noqa: E402

BACKENDS = [(irax, inp), (jax, jjnp)]


def run(case):
    """What `case(jax_like, numpy_like)` returns (its repr), or its error (type name, message)."""
    outs = []
    for lib, np_like in BACKENDS:
        try:
            outs.append(repr(case(lib, np_like)))
        except Exception as error:  # noqa: BLE001 (the error is what is compared)
            outs.append((type(error).__name__, str(error)))
    return outs


def same(case):
    irax_out, jax_out = run(case)
    assert irax_out == jax_out


def same_error_type(case):
    (irax_out, jax_out) = run(case)
    assert isinstance(irax_out, tuple) and isinstance(jax_out, tuple), (irax_out, jax_out)
    assert irax_out[0] == jax_out[0], (irax_out, jax_out)


# ---------------------------------------------------------------------------
# Eager Refs

def test_new_ref_repr_and_type():
    same(lambda lib, np_: lib.new_ref(np_.zeros(3)))
    same(lambda lib, np_: lib.new_ref(0.))  # weak
    same(lambda lib, np_: lib.new_ref(1))
    same(lambda lib, np_: lib.new_ref(True))
    same(lambda lib, np_: str(lib.new_ref(np_.zeros(3))))
    same(lambda lib, np_: (isinstance(lib.new_ref(0.), lib.Array), isinstance(lib.new_ref(0.), lib.Ref)))
    same(lambda lib, np_: (lambda r: (r.shape, r.dtype, r.ndim, r.size, len(r)))(lib.new_ref(np_.zeros(3))))
    same(lambda lib, np_: lib.new_ref([1, 2]))


def test_reads():
    def reads(lib, np_):
        x = lib.new_ref(np_.arange(12.).reshape(3, 4))
        return (x[...], x[0], x[1, 2], x[:, 1], x[1:3], x[::2], x[-1],
                x[np_.array([0, 0, 1]), np_.array([1, 2, 3])], x[np_.array([2, 0])], x[np_.array(1)])
    same(reads)


def test_writes_doc_cell():
    def cell(lib, np_):  # array_refs.md: "Here, Indexer can be any NumPy indexing expression"
        x_ref = lib.new_ref(np_.arange(12.).reshape(3, 4))
        row = x_ref[0]
        x_ref[1] = row
        val = x_ref[1, 2]
        x_ref[2, 3] = val
        col = x_ref[:, 1]
        x_ref[0, :3] = col
        vals = x_ref[np_.array([0, 0, 1]), np_.array([1, 2, 3])]
        x_ref[np_.array([1, 2, 1]), np_.array([0, 0, 1])] = vals
        x_ref[np_.array([0, 0])] += 1.
        x_ref[np_.array([2])] = np_.zeros((1, 4))
        return x_ref
    same(cell)


def test_write_weak_types():
    def writes(lib, np_):
        weak = lib.new_ref(2.)
        weak[...] = 3.  # a written Ref is strongly typed
        indexed = lib.new_ref(np_.zeros(3))
        indexed[0] += 1.
        kept = lib.new_ref(np_.zeros(3))
        kept[...] = np_.ones(3)
        kept[1] = 5.
        return weak, indexed, kept
    same(writes)


@pytest.mark.parametrize("bad", ["out of bounds", "step", "dtype", "shape", "indexed shape"])
def test_index_errors(bad):
    def case(lib, np_):
        x = lib.new_ref(np_.zeros(3))
        if bad == "out of bounds":
            return x[3]
        if bad == "step":
            return x[::-1]
        if bad == "dtype":
            x[...] = np_.zeros(3, np_.int32)
        if bad == "shape":
            x[...] = np_.zeros(())
        if bad == "indexed shape":
            x[0] = np_.zeros(3)
    irax_out, jax_out = run(case)
    assert irax_out[0] == jax_out[0]
    # the message up to JAX's internal description of the index
    assert irax_out[1].split(" Transforms:")[0].split(" Indexer:")[0] == jax_out[1].split(" Transforms:")[0]


def test_freeze():
    def case(lib, np_):
        r = lib.new_ref(np_.zeros(3))
        r[0] = 2.
        return lib.freeze(r), r  # JAX 0.10.2 leaves the Ref usable
    same(case)


def test_no_math_on_refs():
    same_error_type(lambda lib, np_: np_.sin(lib.new_ref(1.0)))
    same(lambda lib, np_: lib.new_ref(1.0) + 1)


# ---------------------------------------------------------------------------
# jit

def test_jit_closed_over_ref_doc_cell():
    def cell(lib, np_):
        x_ref = lib.new_ref(np_.zeros(3))

        @lib.jit
        def f():
            x_ref[1] += 1.

        before = str(x_ref)
        f()
        f()
        return before, x_ref
    same(cell)


def test_jit_ref_arguments():
    def case(lib, np_):
        @lib.jit
        def h(a, r, s):
            r[...] += a
            s["k"][0] = r[1]
            return r[...] * 2

        r, s = lib.new_ref(np_.ones(3)), lib.new_ref(np_.zeros(3))
        first = h(np_.ones(3), r, {"k": s})
        second = h(np_.ones(3), r, s={"k": s})
        other = lib.new_ref(np_.zeros(3))  # a new Ref, the same program
        third = h(np_.ones(3), other, {"k": s})
        return first, second, third, r, s, other
    same(case)


def test_jit_closed_over_ref_read_fresh_each_call():
    def case(lib, np_):
        y_ref = lib.new_ref(0.)

        @lib.jit
        def read(x):
            return y_ref[...] + x

        first = read(1.)
        y_ref[...] = 5.
        return first, read(1.)
    same(case)


def test_jit_impure_doc_cells():
    def case(lib, np_):
        @lib.jit
        def impure1(x_ref, y_ref):
            x_ref[...] = y_ref[...]

        y_ref = lib.new_ref(0)

        @lib.jit
        def impure2(x):
            y_ref[...] = x

        a, b = lib.new_ref(np_.zeros(3)), lib.new_ref(np_.ones(3))
        impure1(a, b)
        impure2(5)
        return a, b, y_ref
    same(case)


def test_internal_refs_are_pure():
    def case(lib, np_):
        @lib.jit
        def pure1(x):
            ref = lib.new_ref(x)
            ref[...] = ref[...] + ref[...]
            return lib.freeze(ref)
        return pure1(3.), pure1(np_.ones(3))
    same(case)


def test_jit_restrictions():
    """array_refs.md's Restrictions cell: JAX's errors and messages (the same
    function objects, so the same file and line in them)."""
    def err1(lib, np_):
        x_ref = lib.new_ref(0.)

        @lib.jit
        def err1(x_ref):
            x_ref[...] = 5.
            return x_ref
        return err1(x_ref)

    def err1_created(lib, np_):
        @lib.jit
        def err1b(x):
            return lib.new_ref(x)
        return err1b(1.)

    def err2(lib, np_):
        x_ref = lib.new_ref(0.)

        @lib.jit
        def err2(x_ref, y_ref):
            ...
        return err2(x_ref, x_ref)

    def err3(lib, np_):
        @lib.jit
        def err3(y_ref):
            y_ref[...] = closed_ref[...]
        return err3(closed_ref)

    closed_ref = None
    for case in (err1, err1_created, err2):
        same(case)
    irax_out, jax_out = [], []
    for (lib, np_), outs in zip(BACKENDS, (irax_out, jax_out)):
        closed_ref = lib.new_ref(0.)
        try:
            err3(lib, np_)
        except ValueError as error:
            outs.append(str(error))
    assert irax_out == jax_out and irax_out


def test_jit_freeze_of_argument():
    def case(lib, np_):  # array_refs.md's err4: JAX 0.10.2 allows it
        @lib.jit
        def err4(x_ref):
            lib.freeze(x_ref)
        return err4(lib.new_ref(2.))
    same(case)


# ---------------------------------------------------------------------------
# grad and vmap

def test_grad_internal_ref_doc_cells():
    def g(lib, np_):
        def g(x):
            x_ref = lib.new_ref(0.)
            x_ref[...] = np_.sin(x)
            return x_ref[...]

        @lib.jit
        def pure2(x):
            ref = lib.new_ref(x)
            ref[...] = ref[...] + ref[...]
            return ref[...]
        return lib.grad(g)(1.0), lib.grad(pure2)(3.0), lib.jit(g)(1.0), g(1.0)
    same(g)


def test_value_and_grad_internal_ref():
    def g(x):
        x_ref = irax.new_ref(0.)
        x_ref[...] = inp.sin(x)
        return x_ref[...]
    value, grad = irax.value_and_grad(g)(1.0)
    # (JAX's value is weakly typed: its grad traces nothing, so its Ref is an eager one)
    np.testing.assert_allclose([value, grad], [np.sin(1.0), np.cos(1.0)], rtol=1e-6)


def test_grad_indexed_writes_match_finite_differences():
    def f(x):
        r = irax.new_ref(inp.zeros(3))
        r[1:] = inp.sin(x[:2])
        r[0] += x[2] ** 2
        return inp.sum(r[...] * inp.arange(1., 4.))

    x = np.array([0.3, -0.7, 1.1], np.float32)
    eps = 1e-2
    numeric = [(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(3, dtype=np.float32)]
    np.testing.assert_allclose(irax.grad(f)(x), np.array(numeric), rtol=2e-2, atol=2e-2)
    np.testing.assert_allclose(irax.grad(f)(x), [2 * np.cos(0.3), 3 * np.cos(-0.7), 2 * 1.1], rtol=1e-5)


def test_grad_reads_closed_over_ref():
    def case(lib, np_):
        x_ref = lib.new_ref(2.)
        f = lib.grad(lambda y: y * x_ref[...])
        first = f(3.)
        x_ref[...] = 4.
        return first, f(3.)
    same(case)


def test_vmap_write_to_closed_over_ref():
    def cell(lib, np_):  # array_refs.md's err5
        x_ref = lib.new_ref(0.)

        def err5(x):
            x_ref[...] = x
        return lib.vmap(err5)(np_.arange(3.))
    same(cell)


def test_vmap_over_ref_arguments_doc_cell():
    def cell(lib, np_):
        def dist(x, y, out_ref):
            assert x.ndim == y.ndim == 1
            assert out_ref.ndim == 0
            out_ref[...] = np_.sum((x - y) ** 2)

        vecs = np_.arange(12.).reshape(3, 4)
        out_ref = lib.new_ref(np_.zeros((3, 3)))
        lib.vmap(lib.vmap(dist, (0, None, 0)), (None, 0, 0))(vecs, vecs, out_ref)
        return out_ref
    same(cell)


def test_vmap_ref_argument_read_and_output():
    def case(lib, np_):
        def f(x, r):
            r[...] = r[...] * x
            return r[...] + 1

        r = lib.new_ref(np_.arange(3.))
        out = lib.vmap(f)(np_.arange(3.), r)
        return out, r
    same(case)


# ---------------------------------------------------------------------------
# Loops

def test_scan_body_writes_closed_over_ref_doc_cell():
    def cell(lib, np_):  # array_refs.md's foreach recipe
        def foreach(*args):
            def decorator(body):
                return lib.lax.scan(lambda _, elts: (None, body(*elts)), None, args)[1]
            return decorator

        r = lib.new_ref(0)
        xs = np_.arange(10)

        @foreach(xs)
        def ys(x):
            r[...] += x
            return x * 2
        return r, ys
    same(cell)


def test_scan_body_writes_internal_ref_under_jit_and_grad():
    def case(lib, np_):
        @lib.jit
        def f(xs):
            q = lib.new_ref(0.)

            def body(c, x):
                q[...] += x * c
                return c + 1., q[...]
            c, ys = lib.lax.scan(body, 1., xs)
            return c, ys, q[...]
        xs = np_.arange(3.)
        return f(xs), lib.grad(lambda xs: f(xs)[2])(xs)
    same(case)


def test_cond_branch_writes_closed_over_ref():
    def case(lib, np_):
        r = lib.new_ref(0.)

        def tb(x):
            r[...] = x * 2
            return x + 1
        outs = [lib.lax.cond(True, tb, lambda x: x - 1, 1.), lib.lax.cond(False, tb, lambda x: x - 1, 1.),
                lib.jit(lambda p, x: lib.lax.cond(p, tb, lambda x: x - 1, x))(True, 3.), lib.freeze(r)]
        return [np.asarray(x).tolist() for x in outs]  # (JAX's cond leaves a weak Ref weak; its loops do not)
    same(case)


def test_write_from_nested_transformation_is_refused():
    r = irax.new_ref(0.)

    def f(x):
        r[...] = x
        return x

    with pytest.raises(NotImplementedError, match="cannot yet write to an array reference"):
        irax.jit(irax.checkpoint(f))(1.)


# ---------------------------------------------------------------------------
# vjp: gradient Refs (with_refs), and Ref arguments

def test_with_refs_for_value_arguments_doc_cells():
    def cells(lib, np_):
        _, sin_vjp = lib.vjp(np_.sin, 1.0)
        x_bar, = sin_vjp(1.0)
        grad_ref = lib.new_ref(0.)
        _, sin_vjp = lib.vjp(np_.sin, 1.0)
        placeholders = sin_vjp.with_refs(grad_ref)(1.0)

        @lib.jit
        def take(x, i):
            return x[i]

        x = np_.arange(10.)
        take_ref = lib.new_ref(np_.zeros(10))
        for i in [3, 5, 3]:
            _, take_vjp = lib.vjp(take, x, i)
            take_vjp.with_refs(take_ref, lib.ad.GradValue())(1.0)

        _, f_vjp = lib.vjp(lambda W, x: W @ x, np_.ones((3, 3)), np_.ones(3))
        W_bar, x_bar_dont = f_vjp.with_refs(lib.ad.GradValue(), lib.ad.DontWant())(np_.ones(3))
        return x_bar, placeholders, grad_ref, take_ref, W_bar[0], x_bar_dont
    same(cells)


def test_with_refs_in_a_scan_body_microbatches():
    def process_batch(Ws, xs_batch):  # array_refs.md's gradient accumulation over microbatches
        def mubatch_loss(Ws, xs):
            act, _ = irax.lax.scan(lambda x, W: (inp.dot(x, W), None), xs, Ws)
            return inp.mean(act)

        grad_acc = irax.new_ref(inp.zeros_like(Ws))

        def process_mubatch(_, xs):
            loss, f_vjp = irax.vjp(lambda Ws: mubatch_loss(Ws, xs), Ws)
            f_vjp.with_refs(grad_acc)(inp.ones_like(loss))
            return (), loss

        (), losses = irax.lax.scan(process_mubatch, (), xs_batch.reshape(3, 2, -1))
        return irax.freeze(grad_acc), losses, mubatch_loss

    Ws = inp.ones((2, 3, 3)) * 0.5
    xs = inp.arange(18.).reshape(6, 3)
    grads, losses, loss = process_batch(Ws, xs)
    expected = irax.grad(lambda Ws: sum(loss(Ws, x) for x in xs.reshape(3, 2, -1)))(Ws)
    np.testing.assert_allclose(grads, expected, rtol=1e-5)
    assert losses.shape == (3,)


def test_vjp_with_respect_to_ref_arguments():
    """array_refs.md's cells (the docs' semantics: JAX 0.10.2 itself raises
    "Expected cotangent type Ref{float32[]} but got float32[]" at with_refs)."""
    def f(x_ref):
        return x_ref[...] ** 2

    x_ref = irax.new_ref(2.)
    y, f_vjp = irax.vjp(f, x_ref)
    x_grad_ref = irax.new_ref(100.)
    placeholder, = f_vjp.with_refs(x_grad_ref)(1.0)
    assert isinstance(placeholder, irax.ad.GradRef)
    assert float(irax.freeze(x_grad_ref)) == 104.  # accumulated, not set
    with pytest.raises(ValueError, match=r"Expected cotangent type Ref\{float32\[\]\} but got float32\[\]"):
        f_vjp(1.0)  # as JAX: a Ref argument's gradient must go into a Ref

    def g(x_ref):
        x_ref[...] = inp.sin(x_ref[...])
        return x_ref[...] ** 2

    x_ref = irax.new_ref(2.)
    _, g_vjp = irax.vjp(g, x_ref)  # runs g: x_ref is updated
    g_grad_ref = irax.new_ref(0.)
    g_vjp.with_refs(g_grad_ref)(1.0)
    np.testing.assert_allclose(irax.freeze(x_ref), np.sin(2.), rtol=1e-6)
    np.testing.assert_allclose(irax.freeze(g_grad_ref), 2 * np.sin(2.) * np.cos(2.), rtol=1e-5)
    eps = 1e-2
    numeric = ((np.sin(2. + eps) ** 2) - (np.sin(2. - eps) ** 2)) / (2 * eps)
    np.testing.assert_allclose(irax.freeze(g_grad_ref), numeric, rtol=1e-3)


def test_grad_plumbing_refs():
    """array_refs.md's err6 and foo: a Ref along for the ride under grad
    takes only values not differentiated (JAX's error otherwise)."""
    def err6(x, some_plumbing_ref):
        y = x + x
        some_plumbing_ref[...] += y
        return y

    def cases(lib, np_):
        def foo(x, some_plumbing_ref):
            y = x + x
            some_plumbing_ref[...] += lib.lax.stop_gradient(y)
            return y

        r = lib.new_ref(0.)
        closed = lib.new_ref(0.)

        def bar(x):
            closed[...] = lib.lax.stop_gradient(x) * 3
            return x * x
        return (lib.grad(foo)(1., r), lib.value_and_grad(foo)(2., r), lib.jit(lib.grad(foo))(2., r), r,
                lib.grad(bar)(2.), closed)
    same(cases)
    with pytest.raises(Exception, match="performing a set/swap operation with a differentiated value on a "
                                        r"non-differentiated array reference of type Ref\{float32\[\]\}"):
        irax.grad(err6)(1., irax.new_ref(0.))


def test_fori_loop_body_writes_refs():
    def case(lib, np_):
        r = lib.new_ref(np_.zeros(3))

        def body(i, c):
            r[i] = r[i] + i * c
            return c + 1.
        c = lib.lax.fori_loop(0, 3, body, 1.)

        @lib.jit
        def f(x):
            q = lib.new_ref(np_.zeros(3))

            def body(i, c):
                q[i] += x * c
                return c * 2
            return lib.lax.fori_loop(0, 3, body, x), q[...]
        return c, r, f(2.), lib.grad(lambda x: f(x)[1].sum())(2.)
    same(case)


def test_while_loop_body_writes_closed_over_ref():
    def case(lib, np_):
        r = lib.new_ref(0)

        def body(c):
            r[...] += c
            return c + 1
        return lib.lax.while_loop(lambda c: c < 4, body, 0), r
    same(case)
    # (JAX refuses a predicate and a body both closing over one Ref; irax's predicate sees the carried value)
    r = irax.new_ref(0)

    def body(c):
        r[...] += c
        return c + 1
    assert int(irax.lax.while_loop(lambda c: r[...] < 10, body, 0)) == 5
    assert int(irax.freeze(r)) == 10


def test_make_jaxpr_and_eval_shape_leave_refs_unchanged():
    def case(lib, np_):
        r = lib.new_ref(np_.zeros(3))

        def f(x):
            r[1] += x
            return r[...] * 2
        lib.make_jaxpr(f)(1.)
        return lib.eval_shape(f, 1.).shape, r
    same(case)


def test_new_ref_takes_jax_s_parameter_names():
    """new_ref's parameter was `init` where JAX's is `init_val`, and it had no memory_space or kind."""
    ref = irax.new_ref(init_val=np.zeros(2, np.float32), memory_space=None, kind=None)
    np.testing.assert_array_equal(ref[...], [0.0, 0.0])
    with pytest.raises(NotImplementedError, match="one memory space"):
        irax.new_ref(1.0, memory_space="pinned_host")
