"""`shard_map`, as jax.shard_map, computed on one device:

    mesh = irax.make_mesh((2, 4), ("x", "y"))
    f = irax.shard_map(lambda b: lax.psum(b.sum(1), "y"), mesh=mesh, in_specs=P("x", "y"), out_specs=P("x"))
    f(a)   # a: (8, 8), in blocks a[4i:4i+4, 2j:2j+2]; each x's (4,) row sums joined: a.sum(1)

JAX runs f once per device of the mesh, on that device's block. irax keeps an
array whole on one device (frontend/sharding.py), so the blocks are a
reshape of the argument: each dimension that `in_specs` cuts over mesh axes
(a tuple of axes: the first major) becomes a leading axis per mesh axis, in
the mesh's order, and f runs on every block through a named vmap per mesh
axis (`vmap(..., axis_name="x")`), the outermost first; an argument a mesh
axis does not cut is not mapped by that axis's vmap (in_axes None), the same
for each of its blocks. So collectives over mesh axes inside f (psum,
all_gather, ppermute, axis_index, ...: frontend/collectives.py) combine the
blocks as JAX's combine devices, and jit, grad and vmap of a shard_map are
those of vmap. The outputs are joined back along the dimensions `out_specs`
names; over a mesh axis it does not name, the output is taken from the
first block, as JAX's shard_map with check_vma=False does (JAX, with its
checks on, rejects an output that may differ between those blocks; irax
does not track which values do).

A program is traced and compiled once per mesh and argument signature: the
reshapes, the blocks' work and the join are one jitted program.
"""
from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Set
from typing import Any

from irax import tree_util
from irax.frontend import core
from irax.frontend.jit import jit
from irax.frontend.sharding import Mesh, PartitionSpec, check_spec, get_mesh
from irax.frontend.vmap import vmap


def shard_map(f: Callable | None = None, /, *, out_specs: Any, in_specs: Any = None, mesh: Mesh | None = None,
              axis_names: Set = frozenset(), check_vma: bool = True) -> Callable:
    """`f` run on every block of its arguments over the axes of `mesh` (the
    context mesh of irax.set_mesh when None), as jax.shard_map: `in_specs` and
    `out_specs` are pytree prefixes of the arguments and the result whose
    leaves are PartitionSpecs (`in_specs` None: every argument whole in every
    block, as JAX infers it for arrays that are not cut over devices).
    `axis_names`: the mesh axes f is mapped over (all of them when empty).
    `check_vma` is accepted; irax takes an output that `out_specs` does not
    cut over a mesh axis from the first block along it (see the module's
    docstring). With `f` None, a decorator."""
    if f is None:
        return functools.partial(shard_map, out_specs=out_specs, in_specs=in_specs, mesh=mesh, axis_names=axis_names,
                                 check_vma=check_vma)
    programs = {}  # (mesh, mapped axes) -> the jitted program, so that calls reuse its compiles

    @functools.wraps(f)
    def mapped(*args):
        the_mesh = get_mesh() if mesh is None else mesh
        if the_mesh.empty:
            raise ValueError("The context mesh cannot be empty. Use `jax.set_mesh(mesh)` to enter into a mesh context")
        manual = tuple(name for name in the_mesh.axis_names if not axis_names or name in axis_names)
        key = (the_mesh, manual)
        if key not in programs:
            programs[key] = jit(functools.partial(_on_blocks, f, the_mesh, manual, in_specs, out_specs))
        return programs[key](*args)

    return mapped


def _on_blocks(f, mesh, manual, in_specs, out_specs, *args):
    """f's results over the blocks of `args`, joined (traced once by shard_map's jit)."""
    in_specs = tuple(PartitionSpec() for _ in args) if in_specs is None else in_specs
    specs, spec_paths = _specs_for("in_specs", in_specs, args, manual)
    pairs, args_tree = tree_util.tree_flatten_with_path(args)
    for (path, x), spec, spec_path in zip(pairs, specs, spec_paths):
        _check_fits_input(f, mesh, spec, spec_path, path, core.aval_of(x))
    leaves = [_split(x, spec, mesh, manual) for (_, x), spec in zip(pairs, specs)]
    results = {}  # what the innermost call saw of f's output: its specs, set during tracing

    def on_block(*block_leaves):
        out = f(*tree_util.tree_unflatten(args_tree, block_leaves))
        out_leaves, results["tree"] = tree_util.tree_flatten(out)
        results["specs"], out_spec_paths = _specs_for("out_specs", out_specs, out, manual)
        _check_fits_outputs(f, results["specs"], out_spec_paths, tree_util.tree_flatten_with_path(out)[0])
        return out_leaves

    on_all = on_block
    for name in reversed(manual):  # the outermost vmap is the mesh's first axis, as the blocks' leading axes
        in_axes = tuple(0 if name in spec.named_axes() else None for spec in specs)
        on_all = vmap(on_all, in_axes=in_axes, out_axes=0, axis_name=name, axis_size=mesh.shape[name])
    out_leaves = on_all(*leaves)
    joined = [_join(y, spec, mesh, manual) for y, spec in zip(out_leaves, results["specs"])]
    return tree_util.tree_unflatten(results["tree"], joined)


def _split(x, spec: PartitionSpec, mesh: Mesh, manual: tuple):
    """x with each dimension `spec` cuts split into one axis per mesh axis and
    the block's own, the mesh axes moved to the front in the mesh's order."""
    if not spec.named_axes():
        return x
    shape, position = [], {}
    for dim, size in enumerate(x.shape):
        names = spec.axis_names_of(dim)
        for name in names:
            position[name] = len(shape)
            shape.append(mesh.shape[name])
        shape.append(size // math.prod(mesh.shape[name] for name in names))
    front = [position[name] for name in manual if name in position]
    return x.reshape(shape).transpose(front + [axis for axis in range(len(shape)) if axis not in front])


def _join(y, spec: PartitionSpec, mesh: Mesh, manual: tuple):
    """The blocks y (a leading axis per mapped mesh axis) put together along
    the dimensions `spec` cuts; over a mesh axis it does not cut, the first block."""
    named = spec.named_axes()
    y = y[tuple(slice(None) if name in named else 0 for name in manual)]
    lead = [name for name in manual if name in named]
    order, shape = [], []
    for dim, size in enumerate(y.shape[len(lead):]):
        names = spec.axis_names_of(dim)
        order += [lead.index(name) for name in names] + [len(lead) + dim]
        shape.append(size * math.prod(mesh.shape[name] for name in names))
    return y.transpose(order).reshape(shape) if lead else y


class _Located:
    """A spec and where in in_specs/out_specs it is: a leaf of a pytree, where a
    PartitionSpec and a tuple of them are not."""

    def __init__(self, where: str, spec: Any):
        self.where, self.spec = where, spec


def _specs_for(what: str, specs: Any, tree: Any, manual: tuple) -> tuple[list, list]:
    """The PartitionSpec of each leaf of `tree` (`specs` a prefix of it), and
    where in `specs` each is (JAX's key path words), after JAX's checks of
    the specs themselves."""
    def is_located(s):
        return isinstance(s, _Located)

    located = tree_util.tree_map_with_path(lambda path, spec: _Located(what + tree_util.keystr(path), spec), specs,
                                           is_leaf=lambda s: isinstance(s, PartitionSpec))
    for spec in tree_util.tree_leaves(located, is_leaf=is_located):
        if not isinstance(spec.spec, PartitionSpec):
            raise TypeError(f"shard_map {what} argument must be a pytree of `jax.sharding.PartitionSpec` instances, "
                            f"but:\n\n  {spec.where} is {spec.spec} of type {type(spec.spec).__name__}, \n\n"
                            f"Check the {what} values passed to shard_map.")
        check_spec(spec.spec, _Manual(manual), what=lambda name: (
            f"shard_map {what} argument must refer to an axis marked as manual ({frozenset(manual)}), but:\n\n"
            f"  {what} refers to {name!r}\n\nCheck the {what} values passed to shard_map."))
    each = tree_util.tree_leaves(tree_util.tree_broadcast(located, tree, is_leaf=is_located), is_leaf=is_located)
    return [s.spec for s in each], [s.where for s in each]


class _Manual:
    """The mapped axes, as check_spec reads a mesh (which names it has)."""

    def __init__(self, manual: tuple):
        self.shape = dict.fromkeys(manual)


def _function_name(f) -> str:
    return getattr(f, "__name__", repr(f))


def _argument(f, path) -> tuple[str, str]:
    """JAX's words for an argument, and for its parameter when f has one for it:
    ("args[0]['a']", ", where args[0] is bound to f's parameter 'b'")."""
    where = "args" + tree_util.keystr(path)
    try:
        parameters = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return where, ""
    index = path[0].idx
    if index < len(parameters) and parameters[index].kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                             inspect.Parameter.POSITIONAL_OR_KEYWORD):
        return where, f", where args[{index}] is bound to {_function_name(f)}'s parameter '{parameters[index].name}'"
    return where, ""


def _too_long(spec: PartitionSpec, where: str, value: str, aval) -> str:
    return (f"{where} is {spec} which has length {len(spec)}, but {value} has shape {aval.str_short()}, which has rank "
            f"{len(aval.shape)} (and {len(aval.shape)} < {len(spec)})")


def _too_long_message(what: str, f, listed: str, scalar: bool) -> str:
    name = _function_name(f)
    value, noun = ("input", "inputs") if what == "in_specs" else ("output", "outputs")
    message = (f"shard_map applied to the function '{name}' was given an {what} entry which is too long to be "
               f"compatible with the corresponding {value} value from the function:\n\n{listed}\n\nEntries in {what} "
               f"must be of length no greater than the number of axes in the corresponding {value} value.\n\n"
               f"Either revise the spec to be shorter, or modify '{name}' so that its {noun} have sufficient rank.")
    if scalar:
        message += (f"\n\nFor scalar values (rank 0), consider using an {what} entry of `P()`, where "
                    "`P = jax.sharding.PartitionSpec`.")
    return message


def _check_fits_input(f, mesh: Mesh, spec: PartitionSpec, spec_path: str, path, aval) -> None:
    """JAX's errors for an argument `spec` does not fit: longer than its rank,
    or a dimension its mesh axes do not divide."""
    where, bound = _argument(f, path)
    if len(spec) > len(aval.shape):
        passed = f"the passed {where}{bound}{',' if bound else ''}"
        raise ValueError(_too_long_message("in_specs", f, _too_long(spec, spec_path, passed, aval), not aval.shape))
    for dim, size in enumerate(aval.shape):
        names = spec.axis_names_of(dim)
        parts = math.prod(mesh.shape[n] for n in names)
        if size % parts:
            axes = (f"mesh axis {names[0]!r} (of size {parts})" if len(names) == 1
                    else f"mesh axes {names} (of total size {parts})")
            name = _function_name(f)
            raise ValueError(
                f"shard_map applied to the function '{name}' was given argument arrays with axis sizes that are not "
                f"evenly divisible by the corresponding mesh axis sizes:\n\nThe mesh given has shape "
                f"{mesh.axis_sizes} with corresponding axis names {mesh.axis_names}.\n\nthe passed {where} of shape "
                f"{aval.str_short()}{bound}, corresponds to {spec_path} of value {spec}, which maps array axis {dim} "
                f"(of size {size}) to {axes}, but {parts} does not evenly divide {size}\n\nArray arguments' axis "
                "sizes must be evenly divisible by the mesh axis or axes indicated by the corresponding elements of "
                "the argument's in_specs entry. Consider checking that in_specs are correct, and if so consider "
                f"changing the mesh axis sizes or else padding the input and adapting '{name}' appropriately.")


def _check_fits_outputs(f, specs: list, spec_paths: list, pairs: list) -> None:
    """JAX's error for outputs whose out_specs are longer than their rank (every such output listed)."""
    avals = [core.aval_of(y) for _, y in pairs]
    too_long = [_too_long(spec, where, f"{_function_name(f)}(*args){tree_util.keystr(path)}", aval)
                for spec, where, (path, _), aval in zip(specs, spec_paths, pairs, avals) if len(spec) > len(aval.shape)]
    if too_long:
        listed = too_long[0] if len(too_long) == 1 else "\n\n".join("* " + line for line in too_long)
        raise ValueError(_too_long_message("out_specs", f, listed, any(not aval.shape for aval in avals)))
