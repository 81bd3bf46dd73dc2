"""How an array's elements lie on devices (`jax.sharding`), for irax's arrays:
each lies whole on one device, so its sharding is a SingleDeviceSharding.

    x.sharding                                  SingleDeviceSharding(device=CpuDevice(id=0), memory_kind=device)
    irax.device_put(x, SingleDeviceSharding(d)) x on d, as device_put(x, d)
    mesh = irax.make_mesh((2, 4), ("x", "y"))   8 devices in a grid with named axes (Mesh)
    NamedSharding(mesh, P("x", None))           dimension 0 cut over axis x, dimension 1 whole

Meshes, PartitionSpecs and NamedShardings are JAX's objects (attributes,
reprs, errors), but an array is never cut over devices: device_put and jit
take a NamedSharding only over a mesh of one device. Work spreads over a
mesh's positions with `shard_map` (frontend/shard_map.py: a named vmap per
mesh axis, on one device) and over devices with `pmap`. Each device has one
memory space, `memory_kind` "device".
"""
from __future__ import annotations

import collections
import enum
import math
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from irax import tree_util
from irax.plugins.registry import devices as device_list


class Sharding:
    """What every sharding says: its devices and how a global shape is cut."""

    memory_kind = "device"

    @property
    def device_set(self) -> set:
        return set(self._device_assignment)

    @property
    def addressable_devices(self) -> set:
        return self.device_set

    @property
    def num_devices(self) -> int:
        return len(self._device_assignment)

    is_fully_addressable = True
    has_addressable_devices = True

    def addressable_devices_indices_map(self, global_shape: tuple) -> dict:
        return self.devices_indices_map(global_shape)


class SingleDeviceSharding(Sharding):
    """The whole array on one device (jax.sharding.SingleDeviceSharding)."""

    is_fully_replicated = True

    def __init__(self, device: Any, *, memory_kind: str | None = None):
        if memory_kind not in (None, "device"):
            raise ValueError(f"irax's devices have one memory space, 'device'; got memory_kind={memory_kind!r}.")
        self._device = device

    @property
    def _device_assignment(self) -> tuple:
        return (self._device,)

    def shard_shape(self, global_shape: tuple) -> tuple:
        return tuple(global_shape)

    def devices_indices_map(self, global_shape: tuple) -> dict:
        return {self._device: (slice(None),) * len(global_shape)}

    def with_memory_kind(self, kind: str) -> SingleDeviceSharding:
        return SingleDeviceSharding(self._device, memory_kind=kind)

    def is_equivalent_to(self, other: Any, ndim: int) -> bool:
        return self == other

    def __eq__(self, other):
        return isinstance(other, SingleDeviceSharding) and other._device is self._device

    def __hash__(self):
        return hash(("SingleDeviceSharding", id(self._device)))

    def __repr__(self):
        return f"SingleDeviceSharding(device={self._device!r}, memory_kind={self.memory_kind})"


class Shard:
    """One device's part of an array (jax.Shard): `data` on `device`, at
    `index` (slices) of the global shape, as `sharding` lays it out."""

    def __init__(self, device: Any, sharding: Sharding, global_shape: tuple, data: Any = None):
        self.device, self.sharding, self.global_shape, self.data = device, sharding, tuple(global_shape), data

    @property
    def index(self) -> tuple:
        return self.sharding.devices_indices_map(self.global_shape)[self.device]

    @property
    def replica_id(self) -> int:
        return 0  # (each of irax's arrays lies once, on one device)

    def __repr__(self):
        return f"Shard(device={self.device!r}, index={self.index}, replica_id={self.replica_id}, data={self.data})"


class DuplicateSpecError(Exception):
    """A PartitionSpec names one mesh axis for two dimensions (JAX's error of that name)."""


class IndivisibleError(ValueError):
    """A sharding cuts a dimension into parts that do not divide it (JAX's error of that name)."""


class AxisType(enum.Enum):
    """How a mesh axis is partitioned (jax.sharding.AxisType). irax keeps every
    array whole on one device, so the three mean the same to it; they are kept,
    printed and compared as JAX's."""
    Auto = enum.auto()
    Explicit = enum.auto()
    Manual = enum.auto()

    def __repr__(self):
        return self.name


class _Unconstrained:
    """P.UNCONSTRAINED, a dimension JAX's partitioner may cut as it likes: to irax, not cut."""

    def __repr__(self):
        return "UNCONSTRAINED"


class PartitionSpec:
    """How each dimension of an array is cut over mesh axes (jax.P): an entry per
    leading dimension, None (not cut), a mesh axis name, or a tuple of names
    (cut over their product, the first name major). As in JAX 0.10 it is not a
    tuple (P('x') != ('x',)) but indexes, iterates and adds like one; a tuple
    of one name is that name."""

    UNCONSTRAINED = _Unconstrained()

    def __init__(self, *partitions: Any):
        self._partitions = tuple(_one_entry(p) for p in partitions)

    def __getitem__(self, i):
        return self._partitions[i]

    def __len__(self):
        return len(self._partitions)

    def __iter__(self):
        return iter(self._partitions)

    def __add__(self, other):
        return PartitionSpec(*self._partitions, *other)

    def __radd__(self, other):
        return PartitionSpec(*other, *self._partitions)

    def count(self, value: Any) -> int:
        return self._partitions.count(value)

    def index(self, value: Any) -> int:
        return self._partitions.index(value)

    def __eq__(self, other):
        return isinstance(other, PartitionSpec) and other._partitions == self._partitions

    def __hash__(self):
        return hash(("PartitionSpec", self._partitions))

    def __repr__(self):
        return f"P{self._partitions!r}"

    def axis_names_of(self, dim: int) -> tuple:
        """The mesh axes dimension `dim` is cut over, major first (none past the spec)."""
        entry = self._partitions[dim] if dim < len(self._partitions) else None
        if entry is None or entry is PartitionSpec.UNCONSTRAINED:
            return ()
        return entry if isinstance(entry, tuple) else (entry,)

    def named_axes(self) -> list:
        """Every mesh axis the spec names, in the order it names them."""
        return [name for dim in range(len(self)) for name in self.axis_names_of(dim)]


P = PartitionSpec


def _one_entry(entry):
    """JAX's normal form of a spec's entry: a list or tuple of names a tuple, one name alone."""
    if isinstance(entry, (list, tuple)):
        entry = tuple(entry)
        return entry[0] if len(entry) == 1 else entry
    return entry


class Mesh:
    """Devices in an array with a name for each axis (jax.sharding.Mesh), as
    shard_map and NamedSharding use it: shard_map runs its function once per
    position of the mesh (a named vmap per axis, on one device); a NamedSharding
    over a mesh of one device places arrays there."""

    def __init__(self, devices: Any, axis_names: Any, axis_types: tuple | None = None):
        axis_names = (axis_names,) if isinstance(axis_names, str) else tuple(axis_names)
        grid = np.empty(np.shape(devices) if isinstance(devices, np.ndarray) else (len(devices),), dtype=object)
        for index, device in zip(np.ndindex(grid.shape), np.asarray(devices, dtype=object).reshape(-1)):
            grid[index] = device
        if grid.ndim != len(axis_names):
            raise ValueError(
                "Mesh requires the ndim of its first argument (`devices`) to equal the length of its second argument "
                f"(`axis_names`), but got devices.ndim == {grid.ndim} and len(axis_names) == {len(axis_names)}.")
        axis_types = (AxisType.Auto,) * len(axis_names) if axis_types is None else tuple(axis_types)
        if len(axis_types) != len(axis_names):
            raise ValueError("Number of axis names should match the number of axis_types. "
                             f"Got axis_names={axis_names} and axis_types={axis_types}")
        grid.flags.writeable = False
        self.devices, self.axis_names, self.axis_types = grid, axis_names, axis_types

    @property
    def shape(self) -> collections.OrderedDict:
        return collections.OrderedDict(zip(self.axis_names, self.devices.shape))

    @property
    def shape_tuple(self) -> tuple:
        return tuple(self.shape.items())

    @property
    def axis_sizes(self) -> tuple:
        return self.devices.shape

    @property
    def size(self) -> int:
        return self.devices.size

    @property
    def empty(self) -> bool:
        return not self.axis_names

    @property
    def device_ids(self) -> np.ndarray:
        return np.vectorize(lambda device: device.id, otypes=[int])(self.devices)

    @property
    def local_devices(self) -> list:
        return list(self.devices.flat)

    is_multi_process = False

    def _axes_of_type(self, axis_type):
        return tuple(name for name, kind in zip(self.axis_names, self.axis_types) if kind is axis_type)

    @property
    def auto_axes(self) -> tuple:
        return self._axes_of_type(AxisType.Auto)

    @property
    def explicit_axes(self) -> tuple:
        return self._axes_of_type(AxisType.Explicit)

    @property
    def manual_axes(self) -> tuple:
        return self._axes_of_type(AxisType.Manual)

    def __enter__(self):  # JAX's `with mesh:` (deprecated there for `with jax.set_mesh(mesh):`)
        warnings.warn("`with mesh:` context manager has been deprecated. Please use `with jax.set_mesh(mesh):` "
                      "instead.", DeprecationWarning, stacklevel=2)
        _context.meshes.append(self)
        return self

    def __exit__(self, *exc):
        _context.meshes.pop()

    def _key(self):
        return (tuple(id(d) for d in self.devices.flat), self.devices.shape, self.axis_names, self.axis_types)

    def __eq__(self, other):
        return isinstance(other, Mesh) and other._key() == self._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        if self.empty:
            return "Mesh(axis_sizes=(), axis_names=())"
        return f"Mesh(axis_sizes={self.axis_sizes}, axis_names={self.axis_names}, axis_types={self.axis_types})"

    def __str__(self):
        if self.empty:
            return "Mesh()"
        sizes = ", ".join(f"{name!r}: {size}" for name, size in self.shape.items())
        return f"Mesh({sizes}, axis_types={self.axis_types})"


_EMPTY_MESH = Mesh(np.empty((), dtype=object), ())  # get_mesh() where none is set, as JAX's Mesh()


class _MeshContext(threading.local):
    def __init__(self):
        self.meshes = []  # the innermost last: set_mesh and `with mesh:`


_context = _MeshContext()


def get_mesh() -> Mesh:
    """The mesh set by set_mesh (or `with mesh:`); an empty Mesh when none is (jax.sharding.get_mesh)."""
    return _context.meshes[-1] if _context.meshes else _EMPTY_MESH


def over_context_mesh(spec: PartitionSpec, error: Exception) -> NamedSharding:
    """A PartitionSpec given where a sharding goes (device_put, jit's
    shardings): a NamedSharding over the context mesh; `error` where none is set."""
    mesh = get_mesh()
    if mesh.empty:
        raise error
    return NamedSharding(mesh, spec)


def get_abstract_mesh() -> Mesh:
    """The context mesh (jax.sharding.get_abstract_mesh). irax has no abstract
    meshes apart from its meshes of devices: this is get_mesh()."""
    return get_mesh()


class set_mesh:  # noqa: N801 (a class, as JAX 0.10's, that works as a call and as a context manager)
    """Make `mesh` the context mesh, for shard_map without `mesh=`, and for
    PartitionSpecs given to with_sharding_constraint (jax.set_mesh): called,
    for good; in a `with`, until its end."""

    def __init__(self, mesh: Mesh):
        if not isinstance(mesh, Mesh):
            raise ValueError(f"Expected mesh of type `jax.sharding.Mesh`. Got {type(mesh)}")
        self.prev_mesh = list(_context.meshes)
        _context.meshes.append(mesh)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        _context.meshes[:] = self.prev_mesh


def make_mesh(axis_shapes: Sequence[int], axis_names: Sequence[str], axis_types: tuple | None = None, *,
              devices: Sequence[Any] | None = None) -> Mesh:
    """A mesh of the first prod(axis_shapes) devices (irax.devices() unless
    given), axes Explicit unless axis_types says otherwise (jax.make_mesh)."""
    devices = list(device_list() if devices is None else devices)
    wanted = math.prod(axis_shapes)
    if wanted > len(devices):
        raise ValueError(f"Number of devices {len(devices)} must be >= the product of mesh_shape {tuple(axis_shapes)}")
    axis_types = (AxisType.Explicit,) * len(axis_names) if axis_types is None else axis_types
    grid = np.empty((wanted,), dtype=object)
    grid[:] = devices[:wanted]
    return Mesh(grid.reshape(tuple(axis_shapes)), tuple(axis_names), axis_types)


def check_spec(spec: PartitionSpec, mesh: Mesh, *, what: Callable[[str], str] | None = None) -> None:
    """`spec`'s names are axes of `mesh` (ValueError, or the words `what(name)`
    gives), each named once (DuplicateSpecError), as JAX checks them."""
    names = spec.named_axes()
    for name in names:
        if name not in mesh.shape:
            raise ValueError(what(name) if what else f"Resource axis: {name} of {spec} is not found in mesh: "
                                                     f"{mesh.axis_names}.")
    repeated = sorted({name for name in names if names.count(name) > 1}, key=names.index)
    if repeated:
        raise DuplicateSpecError(
            "A single NamedSharding spec specification can map every mesh axis to at most one positional dimension, "
            f"but {spec} has duplicate entries for `{repeated[0]}`")


class NamedSharding(Sharding):
    """An array's dimensions cut over the axes of a mesh (jax.sharding.NamedSharding).
    irax lays an array whole on one device, so device_put and jit take one only
    over a mesh of one device; shard_map takes the cut from its specs."""

    def __init__(self, mesh: Mesh, spec: PartitionSpec, *, memory_kind: str | None = None):
        if not isinstance(spec, PartitionSpec):
            raise TypeError(f"NamedSharding's spec must be a PartitionSpec (jax.P); got {spec!r}.")
        if memory_kind not in (None, "device"):
            raise ValueError(f"irax's devices have one memory space, 'device'; got memory_kind={memory_kind!r}.")
        check_spec(spec, mesh)
        self.mesh, self.spec = mesh, spec

    @property
    def _device_assignment(self) -> tuple:
        return tuple(self.mesh.devices.flat)

    @property
    def replicated_axes(self) -> frozenset:
        return frozenset(self.mesh.axis_names) - set(self.spec.named_axes())

    @property
    def is_fully_replicated(self) -> bool:
        return math.prod(self.mesh.shape[name] for name in self.spec.named_axes()) == 1

    def _tiling(self, global_shape: tuple) -> list:
        """How many blocks each dimension is cut into (JAX's errors where the spec does not fit)."""
        if len(self.spec) > len(global_shape):
            raise ValueError(f"Sharding {self} is only valid for values of rank at least {len(self.spec)}, but was "
                             f"applied to a value of rank {len(global_shape)}.")
        tiling = [math.prod(self.mesh.shape[name] for name in self.spec.axis_names_of(dim))
                  for dim in range(len(global_shape))]
        for dim, (size, parts) in enumerate(zip(global_shape, tiling)):
            if size % parts:
                raise IndivisibleError(
                    f"Sharding {self} implies that array axis {dim} is partitioned {parts} times, but the dimension "
                    f"size is {size} (full shape: {tuple(global_shape)}, per-dimension tiling factors: {tiling} "
                    "should evenly divide the shape)")
        return tiling

    def shard_shape(self, global_shape: tuple) -> tuple:
        return tuple(size // parts for size, parts in zip(global_shape, self._tiling(global_shape)))

    def devices_indices_map(self, global_shape: tuple) -> dict:
        block = self.shard_shape(global_shape)
        indices = {}
        for position in np.ndindex(self.mesh.devices.shape):
            where = dict(zip(self.mesh.axis_names, position))
            slices = []
            for dim, size in enumerate(block):
                names = self.spec.axis_names_of(dim)
                k = 0
                for name in names:  # the block's number along this dimension, the first name major
                    k = k * self.mesh.shape[name] + where[name]
                slices.append(slice(k * size, (k + 1) * size) if names else slice(None))
            indices[self.mesh.devices[position]] = tuple(slices)
        return indices

    def with_memory_kind(self, kind: str) -> NamedSharding:
        return NamedSharding(self.mesh, self.spec, memory_kind=kind)

    def is_equivalent_to(self, other: Any, ndim: int) -> bool:
        return self == other

    def __eq__(self, other):
        return isinstance(other, NamedSharding) and (other.mesh, other.spec) == (self.mesh, self.spec)

    def __hash__(self):
        return hash(("NamedSharding", self.mesh, self.spec))

    def __repr__(self):
        return f"NamedSharding(mesh={self.mesh}, spec={self.spec}, memory_kind={self.memory_kind})"


def _is_sharding(s) -> bool:
    return isinstance(s, (Sharding, PartitionSpec))


def with_sharding_constraint(x: Any, shardings: Any) -> Any:
    """`x` unchanged, after JAX's checks of `shardings` (a pytree prefix of x of
    NamedShardings, or PartitionSpecs of the context mesh of set_mesh), as
    jax.lax.with_sharding_constraint: in JAX it tells the partitioner how to
    cut a value over devices; irax keeps every value whole on one device."""
    wanted = tree_util.tree_leaves(tree_util.tree_broadcast(shardings, x, is_leaf=_is_sharding), is_leaf=_is_sharding)
    for leaf, sharding in zip(tree_util.tree_leaves(x), wanted):
        rank = np.ndim(leaf)
        if isinstance(sharding, PartitionSpec):
            _check_spec_of_context_mesh(sharding, rank)
        elif isinstance(sharding, NamedSharding):
            _check_named_sharding(sharding, rank)
    return x


def _check_spec_of_context_mesh(spec: PartitionSpec, rank: int) -> None:
    mesh = get_mesh()
    if mesh.empty:
        raise RuntimeError(
            "with_sharding_constraint requires a non-empty mesh in context if you are passing `PartitionSpec`s to "
            "shardings. You can define a context mesh via `jax.set_mesh(mesh)`. Alternatively, provide `Sharding`s "
            "to shardings and then the mesh context manager is not required.")
    check_spec(spec, mesh)
    if mesh.axis_types and all(kind is AxisType.Explicit for kind in mesh.axis_types) and spec.named_axes():
        # JAX checks the value's own sharding against the spec there, and an irax value is cut over no axis
        padded = PartitionSpec(*spec, *[None] * (rank - len(spec)))
        raise AssertionError(
            "`with_sharding_constraint` acts as an assert when all axes of mesh are of type `Explicit`. The array "
            f"sharding: {PartitionSpec(*[None] * rank)} did not match the sharding provided: {padded}. Please use "
            "`jax.sharding.reshard` to shard your input to the sharding you want.")
    _check_named_sharding(NamedSharding(mesh, spec), rank)


def _check_named_sharding(sharding: NamedSharding, rank: int) -> None:
    if len(sharding.spec) > rank:
        raise ValueError(
            f"One of with_sharding_constraint arguments is incompatible with its sharding annotation {sharding}: "
            f"Sharding {sharding} is only valid for values of rank at least {len(sharding.spec)}, but was applied to "
            f"a value of rank {rank}.")
    explicit = [name for name in sharding.spec.named_axes()
                if sharding.mesh.axis_types[sharding.mesh.axis_names.index(name)] is not AxisType.Auto]
    if explicit:
        raise ValueError(
            "The spec of NamedSharding passed to with_sharding_constraint can only refer to Auto axes of the mesh. "
            f"Got spec={sharding.spec} and mesh={sharding.mesh}. You probably meant to use `reshard` API?")


def reshard(xs: Any, out_shardings: Any) -> Any:
    """`xs` unchanged, after JAX's checks of `out_shardings` (NamedShardings
    or PartitionSpecs of the context mesh, over its Explicit axes), as
    jax.reshard: JAX moves the values to lie cut as they say; irax keeps
    every value whole on one device."""
    wanted = tree_util.tree_leaves(tree_util.tree_broadcast(out_shardings, xs, is_leaf=_is_sharding),
                                   is_leaf=_is_sharding)
    for leaf, sharding in zip(tree_util.tree_leaves(xs), wanted):
        if isinstance(sharding, PartitionSpec):
            if get_mesh().empty:
                raise ValueError("Using PartitionSpec when you are not under a mesh context is not allowed. Please "
                                 "pass a NamedSharding instance or enter into a mesh context via `jax.set_mesh`. "
                                 f"Got {sharding}")
            sharding = NamedSharding(get_mesh(), sharding)
        if isinstance(sharding, NamedSharding):
            _check_reshard(sharding, np.shape(leaf))
    return xs


def _check_reshard(sharding: NamedSharding, shape: tuple) -> None:
    mesh, spec = sharding.mesh, sharding.spec
    for name in spec.named_axes():
        kind = mesh.axis_types[mesh.axis_names.index(name)]
        if kind is not AxisType.Explicit:
            raise ValueError(f"PartitionSpec passed to reshard cannot contain axis names that are of type Auto or "
                             f"Manual. Got PartitionSpec: {spec} with axis name: {name} of type: {kind}.")
    for dim, size in enumerate(shape[:len(spec)]):
        parts = math.prod(mesh.shape[name] for name in spec.axis_names_of(dim))
        if size % parts:
            raise ValueError(f"Sharding spec {tuple(spec)} implies that array axis {dim} is partitioned {parts} times, "
                             f"but does not evenly divide the dimension size {size}. Got shape: {tuple(shape)} and "
                             f"sharding NamedSharding(mesh={mesh}, spec={spec})")
