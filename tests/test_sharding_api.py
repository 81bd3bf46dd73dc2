"""JAX's sharding API on irax: Mesh, PartitionSpec, NamedSharding, make_mesh,
set_mesh, shard_map and with_sharding_constraint.

The number of CPU devices is fixed when irax makes them, so the cases run
in child processes, as in test_pmap.py: one irax process with
IRAX_CPU_DEVICES=8 and one JAX process with 8 CPU devices run every case of
CASES (written once, against the API both share) and print their results
as JSON: values, reprs and attributes, or an error's type and words. Each
test compares one case. The meshes are JAX's 2 x 4 of axes "x" and "y"
(Auto axes: JAX's shard_map takes unsharded arguments there), and one of a
single device.

    python tests/test_sharding_api.py irax|jax      # a child: prints the results
"""
import json
import os
import re
import sys
import warnings

import numpy as np
import pytest
from helpers import child_results, encoded

import irax
import irax.numpy as jnp
from irax.sharding import Mesh, NamedSharding, PartitionSpec

HERE = os.path.dirname(os.path.abspath(__file__))


def _a(*shape):
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape) - 5.0


def _mesh(L, types=None):
    auto = (L.sharding.AxisType.Auto,) * 2 if types is None else types
    return L.make_mesh((2, 4), ("x", "y"), axis_types=auto)


def _one_device_mesh(L):
    return L.make_mesh((1,), ("x",), devices=L.devices()[:1])


def _smap(L, f, in_specs, out_specs, **kw):
    return L.shard_map(f, mesh=_mesh(L), in_specs=in_specs, out_specs=out_specs, **kw)


def _indices(sharding, shape):
    """devices_indices_map as JSON: device id -> (start, stop) per dimension (None: whole)."""
    return {str(d.id): [None if s == slice(None) else (s.start, s.stop) for s in index]
            for d, index in sharding.devices_indices_map(shape).items()}


def _objects(L):
    P, AxisType = L.sharding.PartitionSpec, L.sharding.AxisType
    mesh, auto = L.make_mesh((2, 4), ("x", "y")), _mesh(L)
    ns = L.sharding.NamedSharding(mesh, P("x"))
    return {
        "P": [repr(P("x", None, ("a", "b"))), repr(P()), repr(P(("x",))), repr(P(["x", "y"])), str(P("x", None)),
              P("x") == P(("x",)), P("x", None) == P("x"), P("x") == ("x",), len(P("x", None)), list(P("x", None)),
              repr(P("x") + ("y",)), P("x", None)[0], L.P is P, isinstance(P("x"), tuple)],
        "AxisType": [repr(AxisType.Auto), str(AxisType.Explicit), [repr(t) for t in AxisType]],
        "mesh": [repr(mesh), str(mesh), list(mesh.shape.items()), type(mesh.shape).__name__, mesh.size,
                 mesh.axis_sizes, repr(mesh.axis_types), mesh.device_ids.tolist(), mesh.devices.shape,
                 mesh.axis_names, mesh.empty, mesh.explicit_axes, mesh.auto_axes, repr(auto), str(auto),
                 mesh == L.make_mesh((2, 4), ("x", "y")), hash(mesh) == hash(L.make_mesh((2, 4), ("x", "y"))),
                 mesh == auto, str(L.sharding.Mesh(np.array(L.devices()).reshape(4, 2), ("a", "b"))),
                 str(L.sharding.Mesh(L.devices(), "i")), str(_one_device_mesh(L)),
                 str(L.make_mesh((3,), ("x",))), L.make_mesh((3,), ("x",)).device_ids.tolist()],
        "named_sharding": [repr(ns), ns.num_devices, ns.is_fully_replicated, ns.memory_kind, ns.shard_shape((4, 8)),
                           sorted(ns.replicated_axes), _indices(ns, (4, 8)),
                           _indices(L.sharding.NamedSharding(mesh, P(None, ("y", "x"))), (2, 16)),
                           L.sharding.NamedSharding(mesh, P()).is_fully_replicated,
                           L.sharding.NamedSharding(mesh, P(("x", "y"))).shard_shape((16,)),
                           ns == L.sharding.NamedSharding(mesh, P("x")),
                           ns == L.sharding.NamedSharding(mesh, P("x", None)),
                           sorted(d.id for d in ns.device_set)],
        "context_mesh": _context_meshes(L, auto),
    }


def _context_meshes(L, mesh):
    seen = [str(L.sharding.get_mesh())]
    with L.set_mesh(mesh) as entered:
        seen += [entered, str(L.sharding.get_mesh())]
    return seen + [str(L.sharding.get_mesh()), repr(L.sharding.get_mesh())]


def _named(L, spec):
    return L.sharding.NamedSharding(_mesh(L), spec)


P_ = None  # the PartitionSpec of the library the cases run with (set by _run)

CASES = {
    # the objects' errors
    "make_mesh_too_many": lambda L, jnp: L.make_mesh((16,), ("x",)),
    "make_mesh_rank": lambda L, jnp: L.make_mesh((2, 4), ("x",)),
    "mesh_axis_types": lambda L, jnp: L.sharding.Mesh(L.devices(), ("a",), axis_types=(L.sharding.AxisType.Auto,) * 2),
    "named_unknown_axis": lambda L, jnp: _named(L, P_("z")),
    "named_duplicate": lambda L, jnp: _named(L, P_("x", "x")),
    "named_indivisible": lambda L, jnp: _named(L, P_("x")).shard_shape((3,)),
    # device_put and jit over a mesh of one device
    "device_put_one_device": lambda L, jnp: L.device_put(
        _a(4, 2), L.sharding.NamedSharding(_one_device_mesh(L), P_("x"))),
    "jit_one_device": lambda L, jnp: L.jit(
        lambda a: a * 2, in_shardings=L.sharding.NamedSharding(_one_device_mesh(L), P_()),
        out_shardings=L.sharding.NamedSharding(_one_device_mesh(L), P_("x")))(_a(4, 2)),
    # a PartitionSpec alone: over the context mesh (JAX's errors without one)
    "device_put_spec_without_mesh": lambda L, jnp: L.device_put(_a(4, 2), P_("x")),
    "device_put_spec": lambda L, jnp: _with_mesh(L, lambda: L.device_put(_a(4, 2), P_("x")), _one_device_mesh(L)),
    "jit_spec_without_mesh": lambda L, jnp: L.jit(lambda a: a * 2, in_shardings=P_("x"))(_a(4, 2)),
    "jit_spec": lambda L, jnp: _with_mesh(L, lambda: L.jit(lambda a: a * 2, in_shardings=P_(), out_shardings=P_("x"))(
        _a(4, 2)), _one_device_mesh(L)),
    # shard_map's values: collectives over mesh axes in f
    "psum_y": lambda L, jnp: _smap(L, lambda b: L.lax.psum(b, "y"), P_("x", "y"), P_("x"))(_a(8, 8)),
    "psum_both_scalar": lambda L, jnp: _smap(L, lambda b: L.lax.psum(b.sum(), ("x", "y")), P_("x", "y"), P_())(
        _a(8, 8)),
    "all_gather_tiled": lambda L, jnp: _smap(L, lambda b: L.lax.all_gather(b, "y", axis=1, tiled=True),
                                            P_("x", "y"), P_("x", "y"))(_a(8, 8)),
    "ppermute_x": lambda L, jnp: _smap(L, lambda b: L.lax.ppermute(b, "x", [(0, 1), (1, 0)]), P_("x", "y"),
                                      P_("x", "y"))(_a(8, 8)),
    "axis_index": lambda L, jnp: _smap(L, lambda b: b + 10 * L.lax.axis_index("x") + L.lax.axis_index("y"),
                                      P_("x", "y"), P_("x", "y"))(_a(8, 8)),
    "two_axes_one_dim": lambda L, jnp: _smap(L, lambda b: b * (1 + L.lax.axis_index("y")), P_(("y", "x")),
                                            P_(("x", "y")))(_a(8, 8)),
    "replicated_argument": lambda L, jnp: _smap(L, lambda a, w: a @ w, (P_("x"), P_()), P_("x"))(_a(8, 8), _a(8, 2)),
    "pytrees": lambda L, jnp: _smap(L, lambda d: {"s": d["a"] + d["b"], "t": L.lax.pmean(d["a"], "x")},
                                   ({"a": P_("x", "y"), "b": P_(None, "y")},), {"s": P_("x", "y"), "t": P_(None, "y")})(
        {"a": _a(8, 8), "b": _a(4, 8)}),
    "check_vma_false_first_block": lambda L, jnp: _smap(L, lambda b: b * 2, P_("x"), P_(), check_vma=False)(_a(8, 8)),
    "axis_names_subset_jit": lambda L, jnp: L.jit(L.shard_map(
        lambda b: L.lax.psum(b, "x"), mesh=_mesh(L), in_specs=P_("x"), out_specs=P_(), axis_names={"x"}))(_a(8, 8)),
    "context_mesh": lambda L, jnp: _with_mesh(L, lambda: L.shard_map(lambda b: L.lax.psum(b, "x"), in_specs=P_("x"),
                                                                      out_specs=P_())(_a(8, 8))),
    "decorator": lambda L, jnp: L.shard_map(mesh=_mesh(L), in_specs=P_("x"), out_specs=P_("x"))(lambda b: b[::-1])(
        _a(8, 8)),
    # shard_map under jit, grad and vmap
    "jit": lambda L, jnp: L.jit(_smap(L, lambda b: L.lax.psum(b, "y") * b, P_("x", "y"), P_("x", "y")))(_a(8, 8)),
    "grad_psum": lambda L, jnp: L.grad(lambda a: _smap(L, lambda b: L.lax.psum((b * b).sum(), ("x", "y")),
                                                       P_("x", "y"), P_())(a))(_a(8, 8)),
    "grad_all_gather": lambda L, jnp: L.grad(lambda a: jnp.sin(_smap(
        L, lambda b: L.lax.all_gather(b, "y", axis=1, tiled=True), P_("x", "y"), P_("x", "y"))(a)).sum())(_a(8, 8)),
    "jit_grad_ppermute": lambda L, jnp: L.jit(L.grad(lambda a: (_smap(
        L, lambda b: L.lax.ppermute(b, "x", [(0, 1), (1, 0)]) * b, P_("x", "y"), P_("x", "y"))(a)).sum()))(_a(8, 8)),
    "vmap": lambda L, jnp: L.vmap(_smap(L, lambda b: L.lax.psum(b, "x"), P_("x"), P_()))(
        np.stack([_a(8, 8), -_a(8, 8)])),
    # shard_map's errors
    "in_indivisible": lambda L, jnp: _smap(L, lambda b: b, P_(None, "y"), P_())(_a(8, 2)),
    "in_indivisible_tuple": lambda L, jnp: _smap(L, lambda a, b: a, (P_(), P_(("x", "y"))), P_())(1.0, (_a(6),)),
    "in_too_long": lambda L, jnp: _smap(L, lambda b: b, P_(None, None, "y"), P_())(_a(8, 2)),
    "in_scalar": lambda L, jnp: _smap(L, lambda b: b, P_("x"), P_("x"))(np.float32(3)),
    "in_unknown_axis": lambda L, jnp: _smap(L, lambda b: b, P_("z"), P_())(_a(8, 2)),
    "in_duplicate": lambda L, jnp: _smap(L, lambda b: b, P_("x", "x"), P_())(_a(8, 2)),
    "in_not_a_spec": lambda L, jnp: _smap(L, lambda b: b, ("x",), P_())(_a(8, 2)),
    "out_too_long": lambda L, jnp: _smap(L, lambda b: {"k": b}, P_(), {"k": P_(None, None, "x")})(_a(8, 2)),
    "out_unknown_axis": lambda L, jnp: _smap(L, lambda b: b, P_("x"), P_("z"))(_a(8, 2)),
    "no_mesh": lambda L, jnp: L.shard_map(lambda b: b, in_specs=P_(), out_specs=P_())(_a(8, 2)),
    # with_sharding_constraint: values unchanged, JAX's checks
    "wsc_jit": lambda L, jnp: L.jit(lambda v: L.lax.with_sharding_constraint(v, _named(L, P_("x"))) * 2)(_a(8, 2)),
    "wsc_pytree_context": lambda L, jnp: _with_mesh(L, lambda: L.lax.with_sharding_constraint(
        (_a(8, 2), {"b": _a(4)}), (P_("x"), {"b": _named(L, P_("y"))}))),
    "wsc_no_mesh": lambda L, jnp: L.lax.with_sharding_constraint(_a(8, 2), P_("x")),
    "wsc_rank": lambda L, jnp: L.lax.with_sharding_constraint(_a(8, 2), _named(L, P_("x", None, None))),
    "wsc_unknown_axis": lambda L, jnp: _with_mesh(L, lambda: L.lax.with_sharding_constraint(_a(8, 2), P_("z"))),
    "wsc_explicit": lambda L, jnp: L.lax.with_sharding_constraint(
        _a(8, 2), L.sharding.NamedSharding(L.make_mesh((2, 4), ("x", "y")), P_("y"))),
    "wsc_explicit_context": lambda L, jnp: _with_mesh(
        L, lambda: L.lax.with_sharding_constraint(_a(8, 2), P_("x")), L.make_mesh((2, 4), ("x", "y"))),
    # reshard: values unchanged, JAX's checks (over Explicit axes)
    "reshard": lambda L, jnp: _with_mesh(L, lambda: L.reshard(
        (_a(8, 2), _a(4)), (P_("x"), L.sharding.NamedSharding(L.make_mesh((2, 4), ("x", "y")), P_("y")))),
        L.make_mesh((2, 4), ("x", "y"))),
    "reshard_no_mesh": lambda L, jnp: L.reshard(_a(8, 2), P_("x")),
    "reshard_auto_axis": lambda L, jnp: L.reshard(_a(8, 2), _named(L, P_("x"))),
    "reshard_indivisible": lambda L, jnp: L.reshard(
        _a(3), L.sharding.NamedSharding(L.make_mesh((2, 4), ("x", "y")), P_("x"))),
}


def _with_mesh(L, thunk, mesh=None):
    with L.set_mesh(_mesh(L) if mesh is None else mesh):
        return thunk()


def _run(library):
    global P_
    if library == "jax":
        import jax as L
        import jax.numpy as jnp_
        L.config.update("jax_platforms", "cpu")
        L.config.update("jax_num_cpu_devices", 8)
    else:
        import irax as L
        import irax.numpy as jnp_
    P_ = L.sharding.PartitionSpec
    warnings.simplefilter("ignore", DeprecationWarning)
    results = {name: encoded(lambda: case(L, jnp_)) for name, case in CASES.items()}
    results["objects"] = _objects(L)
    print(json.dumps(results, default=repr))


@pytest.fixture(scope="module")
def irax_results():
    return child_results(__file__, "irax", {"IRAX_CPU_DEVICES": "8", "IRAX_PLATFORMS": "cpu"})


@pytest.fixture(scope="module")
def jax_results():
    pytest.importorskip("jax")
    return child_results(__file__, "jax", {"JAX_PLATFORMS": "cpu"})


def _words(message):
    """An error's words, less what differs between the libraries and runs:
    the order a frozenset prints its names in, JAX's AbstractMesh's extra fields,
    the line JAX names as the error's source, the library's name."""
    message = re.sub(r"frozenset\(\{[^}]*\}\)", "frozenset(...)", message).replace("irax.", "jax.")
    message = re.sub(r" This error occurs at source: .*", "", message, flags=re.S)
    return re.sub(r"AbstractMesh\((.*?), device_kind=[^)]*\)", r"Mesh(\1)", message)


@pytest.mark.parametrize("name", list(CASES))
def test_case_as_jax(name, irax_results, jax_results):
    got, expected = irax_results[name], jax_results[name]
    if "error" in expected:
        assert "error" in got, f"irax gave {got}, JAX raised {expected['error']}: {expected['message'][:300]}"
        assert got["error"] == expected["error"]
        assert _words(got["message"]) == _words(expected["message"])
        return
    assert "error" not in got, got
    assert len(got["leaves"]) == len(expected["leaves"])
    for g, e in zip(got["leaves"], expected["leaves"]):
        assert (g["shape"], g["dtype"]) == (e["shape"], e["dtype"])
        np.testing.assert_allclose(np.asarray(g["value"], float), np.asarray(e["value"], float), rtol=2e-5, atol=1e-5)


def test_objects_as_jax(irax_results, jax_results):
    got, expected = irax_results["objects"], jax_results["objects"]
    assert got.keys() == expected.keys()
    for key in got:
        assert got[key] == expected[key], key


def test_shard_map_values_against_numpy(irax_results):
    """The blocks as NumPy cuts them: psum over y of the (4, 2) blocks of a (8, 8)
    is, per row block, the sum of its four column blocks, tiled along the row."""
    a = _a(8, 8)
    blocks = a.reshape(8, 4, 2).sum(1)
    np.testing.assert_array_equal(np.asarray(irax_results["psum_y"]["leaves"][0]["value"]), blocks)
    first_block = 2 * a[:4]
    np.testing.assert_array_equal(np.asarray(irax_results["check_vma_false_first_block"]["leaves"][0]["value"]),
                                  first_block)


def test_mesh_of_several_devices_in_device_put_and_jit_says_what_to_do():
    """A NamedSharding over several devices would cut the array: irax's
    device_put and jit name what to use instead (the mesh needs no 8 devices
    of this process: a Mesh of one device twice over names two)."""
    d = irax.devices()[0]
    spread = NamedSharding(Mesh(np.array([d, d], dtype=object), ("x",)), PartitionSpec("x"))
    with pytest.raises(ValueError, match=r"whole on one device.*irax\.shard_map.*mesh of one device"):
        irax.device_put(np.zeros(4, np.float32), spread)
    with pytest.raises(NotImplementedError, match=r"irax\.shard_map.*mesh of one device"):
        irax.jit(lambda a: a, in_shardings=spread)


def test_shard_map_on_a_mesh_of_one_device_in_this_process():
    """A mesh of one device needs no child: the map is one block, collectives of one member."""
    mesh = irax.make_mesh((1,), ("i",), devices=irax.devices()[:1])
    f = irax.shard_map(lambda b: irax.lax.psum(b, "i") + irax.lax.axis_index("i"), mesh=mesh,
                       in_specs=PartitionSpec("i"), out_specs=PartitionSpec("i"))
    a = _a(4, 2)
    np.testing.assert_array_equal(np.asarray(f(a)), a)
    np.testing.assert_array_equal(np.asarray(irax.grad(lambda x: f(x).sum())(a)), np.ones_like(a))


def test_experimental_shard_map_is_the_older_signature():
    from irax.experimental.shard_map import shard_map
    mesh = irax.make_mesh((1,), ("i",), devices=irax.devices()[:1])
    with pytest.warns(DeprecationWarning, match="jax.shard_map"):
        f = shard_map(lambda b: b * 3, mesh, PartitionSpec("i"), PartitionSpec("i"), check_rep=False)
    np.testing.assert_array_equal(np.asarray(f(jnp.ones(2))), [3.0, 3.0])


def test_exports_are_jax_names():
    import jax
    for name in ["NamedSharding", "P", "make_mesh", "reshard", "set_mesh", "shard_map"]:
        assert hasattr(jax, name) and hasattr(irax, name), name
    for name in irax.sharding.__all__:
        assert hasattr(jax.sharding, name), name
    assert irax.P is irax.sharding.PartitionSpec and irax.NamedSharding is irax.sharding.NamedSharding
    assert irax.lax.with_sharding_constraint.__module__ == "irax.frontend.sharding"


if __name__ == "__main__":
    _run(sys.argv[1])


def test_arrays_made_from_per_device_data_as_jax():
    """jax.make_array_from_callback, _from_single_device_arrays and
    _from_process_local_data (data loaders' calls) over a sharding of one
    device, and jax.Array.addressable_shards: values, the index the
    callback gets, and JAX's errors, in words. They were missing."""
    jax = pytest.importorskip("jax")
    a = _a(3, 4)
    results = []
    for L, numpy in ((irax, jnp), (jax, jax.numpy)):
        one = L.sharding.SingleDeviceSharding(L.devices()[0])
        indices = []
        made = [L.make_array_from_callback((3, 4), one, lambda index: (indices.append(index), a[index])[1]),
                L.make_array_from_single_device_arrays((3, 4), one, [numpy.asarray(a)]),
                L.make_array_from_process_local_data(one, a)]
        shard = made[0].addressable_shards[0]
        errors = []
        for bad in (lambda: L.make_array_from_callback((3, 4), one, lambda index: np.ones((3, 5), np.float32)),
                    lambda: L.make_array_from_single_device_arrays((3, 4), one, [numpy.ones((3, 4))] * 2),
                    lambda: L.make_array_from_process_local_data(one, a, (3, 5)),
                    lambda: L.make_array_from_callback((3, 4), one, lambda index: a, dtype=np.int32)):
            with pytest.raises(ValueError) as error:
                bad()
            errors.append(_words(str(error.value)).replace("Cpu", "cpu"))
        results.append(([np.asarray(x) for x in made], indices, (shard.index, shard.replica_id), errors))
    (ours, our_indices, our_shard, our_errors), (theirs, their_indices, their_shard, their_errors) = results
    for x, y in zip(ours, theirs):
        np.testing.assert_array_equal(x, y, strict=True)
    assert our_indices == their_indices and our_shard == their_shard
    assert [e.split(" with sharding")[0] for e in our_errors] == [e.split(" with sharding")[0] for e in their_errors]
