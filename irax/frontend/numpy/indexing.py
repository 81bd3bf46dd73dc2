"""Indexing: `x[idx]`, `x.at[idx].set(v)` and friends, `take`, `take_along_axis`.

An index is read in two steps (NumPy's rules, JAX's choices where they differ):

1. `_resolve` turns it into one entry per index item, Ellipsis expanded and
   boolean masks replaced by their integer indices (np.nonzero on the host):

       ("new",)                       None: a new unit axis
       ("slice", dim, start, size, step)
       ("int", dim, i)                a static integer, wrapped and in bounds
       ("array", dim, idx)            an integer index array
       ("bool", b)                    a scalar True/False: an index array of
                                      shape (1,) or (0,) along no axis of x

2. Without index arrays it is *basic*: a slice (`static_slice`,
   `update_slice`). Otherwise it is *advanced* (`gather`, `scatter`): the
   index arrays broadcast to one shape B and integers count as 0-d index
   arrays. Traced, an update whose index arrays are all 0-d and whose slices
   step forward (x.at[i, 2:4].set(v), i traced) is still a slice:
   `update_slice` at dynamic offsets, in place where x is donated. B's dims
   replace the indexed axes where the advanced items are adjacent, else they
   go first: for x of shape (2, 3, 4),

       x[:, [0, 1], [1, 2]]  ->  (2, 2)       adjacent: B stays in place
       x[[0, 1], :, [1, 2]]  ->  (2, 3)       split by a slice: B goes first

Out of bounds, indices follow JAX: gathers clip, updates are dropped (see
`mode`). A static integer out of bounds is clamped into its axis where the
mode clips (x[i], x.at[i].get(), updates with mode="clip": x[10] of 10
elements is x[9], x[-11] is x[0]); an update that drops it is dropped whole
before anything runs; a gather that fills gets it as a 0-d index array. On an
axis of length 0 it raises IndexError, as in JAX. A read's default mode,
"promise_in_bounds", clips values like "clip", but as in JAX only where the
index is a dynamic slice (ints, 0-d index arrays, slices of step 1 or -1:
x[7], x[i, 2:4]) does the derivative clip too: the derivative of any other
read (x[idx] with idx an array of indices) is 0 at an index out of bounds,
as JAX's gather transposes to a scatter that drops it.

Outside a trace every Python integer of the index reaches the primitive as
a 0-d index operand, not as a param: eager kernels are cached by their
params, and x[i] for each i of a loop would otherwise compile a kernel for
each. So do the slice starts (but of a whole axis, and of an update's
slices of other steps than 1): only the result's shape (slice sizes and
steps) stays in the params, and `x.at[k:k + 3].add(v)` for each k of a
loop is one kernel. Under a trace ints stay static: a constant offset is
what IREE optimizes best.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from irax.frontend import core, dtypes, eager, extended
from irax.frontend.numpy import creation, ufuncs
from irax.frontend.numpy.util import asarray, canonicalize_axis, check_arraylike, is_array
from irax.frontend.primitives.indexing import check_update, gather, scatter, static_slice, update_slice
from irax.frontend.primitives.shape import reshape
from irax.typing import Array, ArrayLike

__all__ = ["take", "take_along_axis"]


class NonConcreteBooleanIndexError(IndexError):
    """A boolean mask whose values are not known while tracing: the shape of
    `x[mask]` depends on them."""


class _Dropped(Exception):
    """An update (mode "drop") at a static int out of bounds: it changes nothing."""


_NEW = ("new",)

# `.at[]` modes -> the mode of the gather (get) or the scatter (updates).
_GET_MODES = {None: "promise_in_bounds", "promise_in_bounds": "promise_in_bounds", "clip": "clip", "fill": "fill",
              "drop": "fill"}
_UPDATE_MODES = {None: "drop", "promise_in_bounds": "drop", "drop": "drop", "fill": "drop", "clip": "clip"}


def _mode(table, mode):
    if mode not in table:
        raise ValueError(f'Unknown gather mode "{mode}"')
    return table[mode]


# ---------------------------------------------------------------------------
# Step 1: the index as a list of entries.

def _index_items(index):
    if isinstance(index, tuple):
        return list(index)
    if isinstance(index, list):
        raise TypeError(
            "Using a non-tuple sequence for multidimensional indexing is not allowed; use "
            "`arr[array(seq)]` instead of `arr[seq]`. See https://github.com/jax-ml/jax/issues/4564 "
            "for more information."
        )
    return [index]


def _classify(item):
    """One index item as (kind, value): kinds new, ellipsis, slice, int, bool,
    array (irax or NumPy integer array), mask (NumPy bool array)."""
    if item is None:
        return _NEW
    if item is Ellipsis:
        return ("ellipsis",)
    if isinstance(item, slice):
        return ("slice", item)
    if isinstance(item, (bool, np.bool_)):
        return ("bool", bool(item))
    if isinstance(item, (int, np.integer)):
        return ("int", int(item))
    if isinstance(item, str):
        raise TypeError(f"irax does not support string indexing; got idx={item!r}")
    if is_array(item) and dtypes.is_bool(item.dtype):
        if isinstance(item, core.Tracer):
            raise NonConcreteBooleanIndexError(
                f"Array boolean indices must be concrete; got {item.aval.str_short()}. "
                "Under jit the shape of x[mask] would depend on the mask's values: "
                "use jnp.where(mask, x, fill) instead."
            )
        item = np.asarray(item)
    if not is_array(item):
        from_list = isinstance(item, (list, tuple))
        item = np.asarray(item)
        if from_list and item.size == 0:  # [] is an empty integer index, not a float one
            item = item.astype(np.int32)
    if dtypes.is_bool(item.dtype):
        return ("bool", bool(item)) if item.ndim == 0 else ("mask", item)
    if not dtypes.is_int(item.dtype):
        raise TypeError(f"Indexer must have integer or boolean type, got indexer with type {item.dtype}")
    if isinstance(item, np.ndarray) and item.ndim == 0:
        return ("int", int(item))
    return ("array", item)


def _slice_entry(s, n, position):
    """(start, size, step) of slice `s` on an axis of length n."""
    parts = []
    for part in (s.start, s.stop, s.step):
        if isinstance(part, core.Tracer):
            raise IndexError(f"Slice entries must be static integers. Got {s} at position {position}")
        parts.append(None if part is None else operator.index(part))
    start, stop, step = slice(*parts).indices(n)
    return start, len(range(start, stop, step)), step


def _resolve(shape, index, *, mode, wrap=True):
    """The entries of `index` on an array of `shape`. A static int out of
    bounds (negative ones too when not `wrap`) is clamped into its axis
    (mode "clip"), raises _Dropped ("drop") or becomes a 0-d index array
    ("fill"), so that the gather fills."""
    items = [_classify(i) for i in _index_items(index)]
    consumed = {"new": 0, "ellipsis": 0, "bool": 0, "slice": 1, "int": 1, "array": 1}
    used = sum(item[1].ndim if item[0] == "mask" else consumed[item[0]] for item in items)
    if sum(item[0] == "ellipsis" for item in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if used > len(shape):
        raise IndexError(f"Too many indices: array is {len(shape)}-dimensional, but {used} were indexed")
    fill = [("slice", slice(None))] * (len(shape) - used)
    if ("ellipsis",) in items:
        at = items.index(("ellipsis",))
        items[at:at + 1] = fill
    else:
        items += fill

    entries, dim = [], 0
    for position, item in enumerate(items):
        kind = item[0]
        if kind in ("new", "bool"):
            entries.append(item)
            continue
        if kind == "mask":
            mask = item[1]
            if mask.shape != tuple(shape[dim:dim + mask.ndim]):
                raise IndexError(
                    f"boolean index did not match shape of indexed array in index {position}: "
                    f"got {mask.shape}, expected {list(shape[dim:dim + mask.ndim])}"
                )
            for nz in np.nonzero(mask):
                entries.append(("array", dim, nz.astype(dtypes.default_int_dtype())))
                dim += 1
            continue
        n = shape[dim]
        if kind == "slice":
            entries.append(("slice", dim, *_slice_entry(item[1], n, position)))
        elif kind == "array":
            entries.append(("array", dim, item[1]))
        else:
            if n == 0:
                raise IndexError(f"index is out of bounds for axis {dim} with size 0")
            i = item[1] + n if item[1] < 0 and wrap else item[1]
            if 0 <= i < n or mode in ("clip", "promise_in_bounds"):
                entries.append(("int", dim, min(max(i, 0), n - 1)))
            elif mode == "drop":
                raise _Dropped
            else:
                clamped = np.clip(item[1], np.iinfo(np.int32).min, np.iinfo(np.int32).max)
                entries.append(("array", dim, np.asarray(clamped, np.int32)))
        dim += 1
    return entries


# ---------------------------------------------------------------------------
# Step 2: basic or advanced.

@dataclass(frozen=True)
class _Basic:
    """A slice: the params of static_slice/update_slice. Starts may be None,
    each taken from the next of `arrays` (0-d, or a Python int)."""

    starts: tuple
    sizes: tuple
    steps: tuple
    out_dims: tuple
    arrays: tuple = ()

    def params(self):
        return dict(starts=self.starts, sizes=self.sizes, steps=self.steps, out_dims=self.out_dims)

    def shape(self, x_shape):
        return tuple(1 if j is None else self.sizes[j] for j in self.out_dims)

    def only_adds_axes(self, x_shape):
        """Whether the slice is all of x, in order, with new axes of size 1
        at most (x[...], x[:], x[:, None]): a reshape, not a copy."""
        whole = self.sizes == tuple(x_shape) and set(self.starts) <= {0} and set(self.steps) <= {1}
        return whole and tuple(j for j in self.out_dims if j is not None) == tuple(range(len(self.sizes)))


@dataclass(frozen=True)
class _Advanced:
    """A gather/scatter: its index operands and coordinate rules."""

    arrays: tuple
    coords: tuple
    out_rank: int
    array_offset: int
    index_shape: tuple  # B, the broadcast shape of the index arrays

    def params(self):
        return dict(coords=self.coords, out_rank=self.out_rank, array_offset=self.array_offset)

    def is_a_dynamic_slice(self):
        """Whether JAX reads this index as a dynamic_slice (0-d index arrays,
        slices of step 1 or -1), whose derivative clamps out-of-bounds indices
        as its value does; other gathers drop their derivative."""
        return all(np.ndim(a) == 0 for a in self.arrays) and all(
            rule[0] != "slice" or rule[3] in (1, -1) for rule in self.coords)

    def shape(self, x_shape):
        out = [1] * self.out_rank
        out[self.array_offset:self.array_offset + len(self.index_shape)] = self.index_shape
        for j, rule in enumerate(self.coords):
            if rule[0] == "slice":
                out[rule[1]] = x_shape[j] if rule[4] is None else rule[4]
        return tuple(out)


def _broadcast_indices(arrays):
    shapes = [tuple(np.shape(a)) for a in arrays]
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: shapes={shapes}") from None


def _basic_plan(shape, entries, run_time_starts, update=False):
    """The slice of `entries`; `run_time_starts`: with the starts of ints and
    partial slices as operands (an `update`'s slices of step 1 only)."""
    starts, sizes, steps = [0] * len(shape), list(shape), [1] * len(shape)
    out_dims, arrays = [], []
    for e in entries:
        if e[0] == "new":
            out_dims.append(None)
            continue
        if e[0] == "slice":
            _, j, start, sizes[j], steps[j] = e
            out_dims.append(j)
        else:  # an int, or a 0-d index array (a start known at run time)
            j, start, sizes[j] = e[1], e[2], 1
        # (a whole axis or an empty slice has one start that matters)
        static = e[0] != "array" and (not run_time_starts or e[0] == "slice" and (
            sizes[j] in (0, shape[j]) or update and steps[j] != 1))
        starts[j] = (start if sizes[j] else 0) if static else None
        if not static:
            arrays.append(start)
    return _Basic(tuple(starts), tuple(sizes), tuple(steps), tuple(out_dims), tuple(arrays))


def _is_dynamic_slice(entries) -> bool:
    """Whether an update at `entries` is a slice at run-time offsets: 0-d index arrays, forward slices."""
    return all(e[0] in ("new", "int") or e[0] == "array" and np.ndim(e[2]) == 0 or e[0] == "slice" and e[4] > 0
               for e in entries)


def _advanced_plan(shape, entries):
    # The operands: index arrays, and for each scalar bool a (1,) or (0,) one
    # that only shapes B (no coordinate rule reads it).
    arrays = [e[2] if e[0] == "array" else np.zeros(int(e[1]), np.int32) for e in entries if e[0] in ("array", "bool")]
    index_shape = _broadcast_indices(arrays)
    advanced = [k for k, e in enumerate(entries) if e[0] in ("array", "bool", "int")]
    adjacent = advanced == list(range(advanced[0], advanced[-1] + 1))
    coords = [None] * len(shape)
    out_dim, array_offset, operand = (0 if adjacent else len(index_shape)), 0, 0
    for position, e in enumerate(entries):
        if adjacent and position == advanced[0]:
            array_offset, out_dim = out_dim, out_dim + len(index_shape)
        if e[0] == "new":
            out_dim += 1
        elif e[0] == "slice":
            _, j, start, size, step = e
            whole = start == 0 and step == 1 and size == shape[j]  # kept generic: one kernel for every size
            coords[j] = ("slice", out_dim, 0, 1, None) if whole else ("slice", out_dim, start, step, size)
            out_dim += 1
        elif e[0] == "int":
            coords[e[1]] = ("int", e[2])
        else:
            if e[0] == "array":
                coords[e[1]] = ("array", operand)
            operand += 1
    return _Advanced(tuple(arrays), tuple(coords), out_dim, array_offset, index_shape)


def _plan(shape, index, *, mode, wrap, update=False):
    """The slice or the gather/scatter (of `mode`) that `index` stands for
    (for an `update`, maybe a slice at run-time offsets). Outside a trace an
    int is an operand (see the module docstring): a 0-d index array where it
    is one anyway (updates, gathers), else a read's run-time start."""
    entries = _resolve(shape, index, mode=mode, wrap=wrap)
    eager = core.current_trace() is None
    if eager:
        as_arrays = [("array", *e[1:]) if e[0] == "int" else e for e in entries]
        entries = as_arrays if update else entries
    if any(e[0] in ("array", "bool") for e in entries) and not (update and _is_dynamic_slice(entries)):
        return _advanced_plan(shape, as_arrays if eager else entries)
    # (an update reads and writes at run-time starts forward only, as _is_dynamic_slice)
    forward = not update or all(e[0] != "slice" or e[4] > 0 for e in entries)
    return _basic_plan(shape, entries, run_time_starts=eager and forward, update=update)


def _index_operands(arrays, x):
    """The index operands: NumPy arrays put on the default device, Python
    ints (eager only) on x's."""
    return [eager.index_operand(a, x.device) if type(a) is int else a if is_array(a) else asarray(a) for a in arrays]


def _fill_value(value, dtype):
    """A gather's fill value as a Python scalar of `dtype`, or None for the
    default. NaN is the float default: None also keeps it out of the kernel
    cache key, where NaN != NaN would miss every time."""
    if value is None:
        return None
    value = np.asarray(value).astype(dtype).item()
    return None if isinstance(value, float) and np.isnan(value) else value


def _gather(x, plan, *, mode, fill_value=None, wrap=True):
    return gather.bind(x, *_index_operands(plan.arrays, x), **plan.params(), mode=mode,
                       fill_value=_fill_value(fill_value, x.dtype), wrap=wrap, ravel=False)


def _read(x, index, *, mode, fill_value=None, wrap=True):
    plan = _plan(x.shape, index, mode=mode, wrap=wrap)
    if isinstance(plan, _Advanced):
        if mode == "promise_in_bounds" and plan.is_a_dynamic_slice():
            mode = "clip"
        return _gather(x, plan, mode=mode, fill_value=fill_value, wrap=wrap)
    if plan.only_adds_axes(x.shape):  # arrays are immutable, so x itself will do, or a view of it
        shape = plan.shape(x.shape)
        return x if shape == x.shape else reshape.bind(x, new_shape=shape)
    return static_slice.bind(x, *_index_operands(plan.arrays, x), **plan.params())


def getitem(x, index):
    """x[index] with NumPy's basic and advanced indexing (see the module docstring)."""
    return _read(x, index, mode="promise_in_bounds")


# ---------------------------------------------------------------------------
# x.at[index]

def _update_value(x, values):
    """The update as an array. A Python int that fits x's integer dtype takes
    that dtype (JAX), so `uint8_array.at[0].set(200)` needs no promotion."""
    if type(values) is int and dtypes.is_int(x.dtype):
        info = np.iinfo(x.dtype)
        if info.min <= values <= info.max:
            return asarray(values, x.dtype)
    check_arraylike("at", values)
    return asarray(values)


def _update(x, index, values, op, *, mode, wrap):
    """x with `op(x[index], values)` written at `index`: computed in the promoted
    dtype of x and values, cast back to x's dtype (JAX's scatter rules)."""
    mode = _mode(_UPDATE_MODES, mode)
    values = _update_value(x, values)
    compute_dtype, _ = dtypes.lattice_result_type(x, values)
    try:
        plan = _plan(x.shape, index, mode=mode, wrap=wrap, update=True)
    except _Dropped:  # JAX checks the values all the same, against the shape of the index clamped
        shape = _plan(x.shape, index, mode="clip", wrap=wrap, update=True).shape(x.shape)
        if 0 not in shape:
            check_update(op, compute_dtype, values.shape, shape)
        return x
    if 0 in plan.shape(x.shape):  # nothing to update (JAX returns x before checking values)
        return x
    if isinstance(plan, _Basic):
        return update_slice.bind(x, values, *_index_operands(plan.arrays, x), **plan.params(), op=op,
                                 dtype=compute_dtype, mode=mode, wrap=wrap)
    return scatter.bind(
        x, values, *_index_operands(plan.arrays, x), **plan.params(), op=op, dtype=compute_dtype, mode=mode, wrap=wrap
    )


class IndexUpdateHelper:
    """`x.at`: `x.at[index]` names the elements that an update method replaces.

    Every method returns a new array; x itself never changes:

        x.at[idx].set(v)        x[idx] = v
        x.at[idx].add(v)        x[idx] += v   (repeated indices all add, unlike NumPy)
        x.at[idx].subtract(v)   x[idx] -= v
        x.at[idx].multiply(v)   x[idx] *= v   (alias: mul)
        x.at[idx].divide(v)     x[idx] /= v
        x.at[idx].power(v)      x[idx] **= v
        x.at[idx].min(v)        x[idx] = minimum(x[idx], v)
        x.at[idx].max(v)        x[idx] = maximum(x[idx], v)
        x.at[idx].get()         x[idx]

    Keywords as JAX: `mode` says what out-of-bounds index arrays (and static
    integers) do: for updates "drop" (the default, also "fill" and
    "promise_in_bounds") skips them and "clip" clamps them; for get "clip"
    clamps, "promise_in_bounds" (the default) clamps too but drops the
    derivative of an index array's out-of-bounds indices (see the module
    docstring), and "fill" (or "drop") returns `fill_value` (default NaN, the smallest signed or largest
    unsigned integer, True). `wrap_negative_indices=False` makes negative
    indices out of bounds. `indices_are_sorted` and `unique_indices` are
    accepted and ignored: they are promises that only enable optimizations.
    """

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)

    def __repr__(self):
        return f"_IndexUpdateHelper({self.array!r})"


class _IndexUpdateRef:
    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array = array
        self.index = index

    def __repr__(self):
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None, wrap_negative_indices=True):
        """x[index]; out-of-bounds indices clip, or give `fill_value` with mode="fill"."""
        return _read(self.array, self.index, mode=_mode(_GET_MODES, mode), fill_value=fill_value,
                     wrap=wrap_negative_indices)

    def _apply(self, op, values, mode, wrap_negative_indices):
        return _update(self.array, self.index, values, op, mode=mode, wrap=wrap_negative_indices)

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None, wrap_negative_indices=True):
        """x[index] = values; with repeated indices the last update wins."""
        return self._apply("set", values, mode, wrap_negative_indices)

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None, wrap_negative_indices=True):
        """x[index] += values; repeated indices accumulate (np.add.at)."""
        return self._apply("add", values, mode, wrap_negative_indices)

    def subtract(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None, wrap_negative_indices=True):
        """x[index] -= values; repeated indices accumulate (np.subtract.at)."""
        return self._apply("sub", values, mode, wrap_negative_indices)

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None, wrap_negative_indices=True):
        """x[index] *= values; repeated indices accumulate (np.multiply.at)."""
        return self._apply("mul", values, mode, wrap_negative_indices)

    mul = multiply

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None, wrap_negative_indices=True):
        """x[index] = minimum(x[index], values) (np.minimum.at)."""
        return self._apply("min", values, mode, wrap_negative_indices)

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None, wrap_negative_indices=True):
        """x[index] = maximum(x[index], values) (np.maximum.at)."""
        return self._apply("max", values, mode, wrap_negative_indices)

    def apply(self, func, *, indices_are_sorted=False, unique_indices=False, mode=None, wrap_negative_indices=True):
        """x[index] = func(x[index]) for an elementwise `func` (a unary ufunc's
        `func.at(x, index)`): an index given k times gets func applied k times."""
        x = self.array
        counts = _update(creation.zeros_like(x, np.int32), self.index, 1, "add", mode=mode,
                         wrap=wrap_negative_indices)
        applied = lambda k, y: ufuncs.where(counts > k, asarray(func(y), x.dtype), y)
        if unique_indices:
            return applied(0, x)
        if isinstance(counts, core.Tracer):  # how many times is data: a loop of the program
            from irax.frontend.control_flow import while_loop  # (tests/test_layering.py ALLOWED says why)
            return while_loop(lambda state: state[0] < counts.max(),
                              lambda state: (state[0] + 1, applied(state[0], state[1])), (0, x))[1]
        for k in range(int(counts.max()) if counts.size else 0):
            x = applied(k, x)
        return x

    def _factor(self, values, mode, wrap_negative_indices):
        """ones_like(x) with the product of `values` at index: JAX divides and
        raises to powers through it, so int arrays give float results."""
        ones = creation.ones_like(self.array)
        return _update(ones, self.index, values, "mul", mode=mode, wrap=wrap_negative_indices)

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None, wrap_negative_indices=True):
        """x[index] /= values, as x / (ones with the values at index): true division."""
        return ufuncs.true_divide(self.array, self._factor(values, mode, wrap_negative_indices))

    def power(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None, wrap_negative_indices=True):
        """x[index] **= values, as x ** (ones with the values at index)."""
        return ufuncs.power(self.array, self._factor(values, mode, wrap_negative_indices))


# ---------------------------------------------------------------------------
# take and take_along_axis

_TAKE_MODES = {None: "fill", "fill": "fill", "clip": "clip", "wrap": "wrap"}


def _take_mode(mode):
    if mode == "raise":
        raise NotImplementedError("The 'raise' mode to jnp.take is not supported.")
    if mode not in _TAKE_MODES:
        raise ValueError(f"Invalid mode '{mode}' for np.take")
    return _TAKE_MODES[mode]


# jnp.take_along_axis's modes are lax.gather's: (gather mode, whether negative
# indices count from the end first). "promise_in_bounds" does not wrap them,
# as in JAX: the gather clamps -1 to 0.
_TAKE_ALONG_MODES = {None: ("fill", True), "fill": ("fill", True), "drop": ("fill", True), "clip": ("clip", True),
                     "promise_in_bounds": ("promise_in_bounds", False)}


def _take_along_mode(mode):
    if mode not in _TAKE_ALONG_MODES:
        raise ValueError(f'Unknown gather mode "{mode}"')
    return _TAKE_ALONG_MODES[mode]


def _index_array(fn_name, indices):
    check_arraylike(fn_name, indices)
    return indices if is_array(indices) else asarray(indices)


def take(a: ArrayLike, indices: ArrayLike, axis: int | None = None, out: None = None, mode: str | None = None,
         unique_indices: bool = False, indices_are_sorted: bool = False, fill_value: ArrayLike | None = None) -> Array:
    """Elements of `a` at `indices` along `axis` (of the flattened `a` when axis
    is None): out[i..., j..., k...] = a[i..., indices[j...], k...].

    mode: "fill" (default) gives `fill_value` (NaN, the smallest signed or
    largest unsigned integer, True) for indices out of bounds, after negative
    ones count from the end; "clip" clamps them (negative ones to 0, as in
    NumPy and JAX); "wrap" takes them modulo the axis length."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.take is not supported.")
    if extended.is_extended(a):  # typed keys: take whole keys from their data, along a leading axis
        a = a.ravel() if axis is None else a
        axis = canonicalize_axis("take", 0 if axis is None else axis, a.ndim)
        return a._wrap(take(a._data, indices, axis, mode=mode, unique_indices=unique_indices,
                            indices_are_sorted=indices_are_sorted, fill_value=fill_value))
    check_arraylike("take", a)
    a = asarray(a)
    indices = _index_array("take", indices)
    if dtypes.is_bool(indices.dtype):  # (positions 0 and 1, as to NumPy and JAX: not a mask)
        indices = indices.astype(np.int32)
    if not dtypes.is_int(indices.dtype):
        raise ValueError("indices must have an integer type")
    mode = _take_mode(mode)
    ravel = axis is None
    shape = (a.size,) if ravel else a.shape
    axis = 0 if ravel else canonicalize_axis("take", axis, a.ndim)
    if shape[axis] == 0 and indices.size:
        raise IndexError("Cannot do a non-empty jnp.take() from an empty axis.")
    coords = []
    for j in range(len(shape)):
        out_dim = j if j < axis else j - 1 + indices.ndim
        coords.append(("array", 0) if j == axis else ("slice", out_dim, 0, 1, None))
    return gather.bind(a, indices, coords=tuple(coords), out_rank=len(shape) - 1 + indices.ndim, array_offset=axis,
                       mode=mode, fill_value=_fill_value(fill_value, a.dtype), wrap=mode != "clip", ravel=ravel)


def take_along_axis(arr: ArrayLike, indices: ArrayLike, axis: int | None = -1, mode: str | None = None,
                    fill_value: ArrayLike | None = None) -> Array:
    """out[..., j, ...] = arr[..., indices[..., j, ...], ...] along `axis`; the
    other axes of arr and indices broadcast. With axis=None, arr is flattened
    and indices must be 1-D. Out-of-bounds indices as lax.gather's `mode`
    says ("fill" by default; "clip", "promise_in_bounds"), not take's "wrap"."""
    if not extended.is_extended(arr):
        check_arraylike("take_along_axis", arr)
        arr = asarray(arr)
    indices = _index_array("take_along_axis", indices)
    if not dtypes.is_int(indices.dtype):
        raise TypeError(f"take_along_axis indices must be of integer type, got {indices.dtype.name}")
    gather_mode, wrap = _take_along_mode(mode)
    ravel = axis is None
    if ravel:
        if indices.ndim != 1:
            raise ValueError(f"take_along_axis indices must be 1D if axis=None, got shape {indices.shape}")
        shape, axis = (arr.size,), 0
    else:
        shape = arr.shape
        if indices.ndim != arr.ndim:
            raise ValueError(
                f"indices and arr must have the same number of dimensions; {indices.ndim} vs. {arr.ndim}"
            )
        axis = canonicalize_axis("take_along_axis", axis, arr.ndim)
    for j, (n, m) in enumerate(zip(shape, indices.shape)):
        if j != axis and n != m and 1 not in (n, m):
            raise ValueError(f"Incompatible shapes for broadcasting: shapes={[arr.shape, indices.shape]}")
    if extended.is_extended(arr):  # typed keys: whole keys from their data, indices broadcast over each key's words
        data = (arr.ravel() if ravel else arr)._data
        return arr._wrap(take_along_axis(data, extended.expand_trailing(type(arr), indices), axis, mode, fill_value))
    # Along the other axes the output position is also arr's (or 0 where arr
    # has a unit axis that indices broadcast).
    coords = tuple(
        ("array", 0) if j == axis else ("int", 0) if n == 1 else ("slice", j, 0, 1, None) for j, n in enumerate(shape)
    )
    return gather.bind(arr, indices, coords=coords, out_rank=len(shape), array_offset=0, mode=gather_mode,
                       fill_value=_fill_value(fill_value, arr.dtype), wrap=wrap, ravel=ravel)
