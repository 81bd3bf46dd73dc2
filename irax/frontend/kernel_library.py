"""The eager kernel library: the common eager kernels, compiled ahead, many to a module.

An eager op's first call traces its one-op kernel and compiles it (eager.py),
~0.3 s however small. The library holds the common kernels prebuilt, so a
fresh process runs them at once (~1 ms for the first op of a kind: a read
of the cache entry and a load):

  forms     a call is brought to a canonical kernel by viewing its buffers at
            other shapes (runtime.reshaped: no copy). An elementwise op whose
            operands have the result's size n or size 1 runs on rank 1 (`v`,
            n elements) and rank 0 (`s`, a broadcast scalar), so one kernel per
            (op, dtypes, pattern) serves every shape: `x * 2 + y` of (3, 4)
            arrays is mul(v, s) and add(v, v) on 12 elements. Operands that
            broadcast along rows or columns see the result as a (p, q) matrix.
            A reduction over all axes runs on x flattened to (n,); over a
            block of adjacent axes on x viewed as (before, block, after),
            reducing the middle. Matmuls and transposes take their operands as
            they are. A reshape runs no kernel: it is a view (runtime.Reshape).
  shards    the kernels of one primitive (each dtype and pattern in the
            catalogue below) are the functions of one module, named by what
            they compute (`entry_name`). Packed, k kernels compile in ~0.1 s
            + ~0.1-0.2 s each (on a busy 2-core machine) instead of ~0.3-0.5 s
            each alone; a module loads in ~0.1 ms.
  keys      a shard is kept in the compile cache under a key named by the
            primitive, a stamp of irax's sources (their sizes and times), the
            pass pipeline and the 64-bit mode (cache.named_key; the backend's
            target and flags and the IREE version are in every key), so a
            process finds it without tracing, and an edit of irax builds anew.
  building  `irax cache warm` builds every shard (threads, a progress bar);
            IRAX_KERNEL_LIBRARY_BACKGROUND=1 makes a process build, in a
            background thread, the shard of each op it runs that has none.

A call the library does not cover (another op, dtype or broadcast pattern,
an empty array, a backend that is not an IREE one, IRAX_KERNEL_LIBRARY
leaving the op out) is traced and compiled as before. Library kernels are
the traced kernels, by the same emitters, passes and flags, compiled for
more generic shapes: the same values (a reduction may add in another order).
"""
import atexit
import concurrent.futures
import functools
import hashlib
import math
import os
import queue
import threading
import warnings
from typing import NamedTuple

import numpy as np
from iree.compiler import ir

from irax.backends import cache, runtime
from irax.config import config
from irax.frontend.core import ShapedArray
from irax.frontend.executable import Executable
from irax.ir import mlir

FORMAT = 1  # bump when a form, the catalogue or entry names change meaning

DTYPES = ("float32", "int32", "bool")

UNARY = ("neg", "abs", "sign", "floor", "ceil", "round", "trunc", "isnan", "isinf", "isfinite", "not", "exp",
         "expm1", "log", "log1p", "log2", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh", "asin",
         "acos", "atan", "erf")
BINARY = ("add", "sub", "mul", "div", "floor_divide", "rem", "pow", "max", "min", "atan2", "and", "or", "xor",
          "eq", "ne", "lt", "le", "gt", "ge")
ARITY = {**dict.fromkeys(UNARY, 1), **dict.fromkeys(BINARY, 2), "select": 3, "convert_element_type": 1}

# Operand patterns by arity: v = the result's n elements, s = one, broadcast;
# and, for float32, matrices m as they are (no views to make at each call)
# and, for binary ops, a (p, q) matrix m with a row r (q,) or a column c
# (p, 1), or an outer row-column pair. The kernel dims of each.
PATTERNS = {1: ("v", "s"), 2: ("vv", "vs", "sv", "ss"), 3: ("vvv", "vvs", "vsv", "vss", "sss")}
MATRIX_PATTERNS = {1: ("m",), 2: ("mm", "ms", "sm", "mr", "rm", "mc", "cm", "rc", "cr"), 3: ("mmm", "mms", "msm")}
PATTERN_DIMS = {"v": [None], "s": [], "m": [None, None], "r": [None], "c": [None, 1]}

# Reductions: (operand dtype, result dtype) pairs built, and the param naming
# the result dtype. Sums of bools and means (sum, then divide) of ints are
# what jnp asks for besides the plain ones.
_SAME = tuple((d, d) for d in DTYPES)
REDUCTIONS = {
    "reduce_sum": ("dtype", (("float32", "float32"), ("int32", "int32"), ("bool", "int32"), ("int32", "float32"),
                             ("bool", "float32"))),
    "reduce_prod": ("dtype", _SAME[:2]),
    "reduce_max": ("dtype", _SAME),
    "reduce_min": ("dtype", _SAME),
    "reduce_and": ("dtype", (("bool", "bool"),)),
    "reduce_or": ("dtype", (("bool", "bool"),)),
    "argmax": ("index_dtype", (("float32", "int32"), ("int32", "int32"))),
    "argmin": ("index_dtype", (("float32", "int32"), ("int32", "int32"))),
}

# Ops taken as they are (no views): (operand dtypes, ranks, params) built;
# dot_general's are those of jnp.dot / matmul / @ on vectors and matrices.
AS_IS = {
    "dot_general": [((d, d), ranks, {"dimension_numbers": (axes, ((), ()))}) for d in ("float32", "int32")
                    for ranks, axes in (((1, 1), ((0,), (0,))), ((2, 2), ((1,), (0,))), ((2, 1), ((1,), (0,))),
                                        ((2, 1), ((0,), (0,))), ((1, 2), ((0,), (1,))), ((1, 2), ((0,), (0,))))],
    "transpose": [((d,), (2,), {"permutation": (1, 0)}) for d in DTYPES],
}

OPS = tuple(ARITY) + tuple(REDUCTIONS) + tuple(AS_IS)  # every primitive the library has a shard of, by name


# ---------------------------------------------------------------------------
# Forms: (avals, params, out_avals) of a call -> the forms it can run in, the
# preferred first, each (kernel avals, kernel params, the operands' shapes for
# it, the results' shapes from it; None: as they are); [] where none applies.

def _elementwise_forms(avals, params, out_avals):
    out = out_avals[0]
    n = out.size
    if n == 0:
        return []
    if not all(a.size in (1, n) for a in avals):
        split = _matrix_split(avals, tuple(out.shape))
        return [] if split is None else [_elementwise(avals, params, out_avals, *split)]
    vector = (n,) if n > 1 else ()
    shapes = [vector if a.size == n else () for a in avals]
    flat = _elementwise(avals, params, out_avals, vector if any(shapes) else (), shapes)
    if out.ndim == 2 and n > 1 and all(a.ndim == (2 if a.size == n else 0) for a in avals):
        # Matrices as they are, where the library has them (float32): no views to make at each call.
        return [_elementwise(avals, params, out_avals, tuple(out.shape), [tuple(a.shape) for a in avals]), flat]
    return [flat]


def _elementwise(avals, params, out_avals, out_shape, shapes):
    """The form running on operands seen at `shapes`, its result at `out_shape`."""
    # A column's trailing 1 stays static in the kernel (it broadcasts); the other dims are dynamic.
    kernel_avals = tuple(ShapedArray([1 if d == 1 and s != out_shape else None for d in s], a.dtype)
                         for s, a in zip(shapes, avals))
    return kernel_avals, params, _views(avals, shapes), _views_back(out_avals, [out_shape] * len(out_avals))


def _matrix_split(avals, shape):
    """The result seen as a (p, q) matrix, and each operand's view for it:
    (p, q) for one of the result's n elements, (q,) for a row (the result's
    trailing dims, 1s before them), (p, 1) for a column (its leading dims,
    1s after), () for a scalar; None where the operands fit no one split
    of the result's dims (a broadcast in the middle, or at two places)."""
    n = math.prod(shape)
    kinds = [_broadcast_kind(a, shape, n) for a in avals]
    rows = {a.size for a, kind in zip(avals, kinds) if kind == "row"}
    columns = {a.size for a, kind in zip(avals, kinds) if kind == "column"}
    if None in kinds or len(rows) > 1 or len(columns) > 1:
        return None
    p = next(iter(columns)) if columns else n // next(iter(rows))
    q = n // p
    if rows and rows != {q}:
        return None
    views = {"full": (p, q), "scalar": (), "row": (q,), "column": (p, 1)}
    return (p, q), [views[kind] for kind in kinds]


def _broadcast_kind(aval, shape, n):
    if aval.size in (1, n):
        return "scalar" if aval.size == 1 else "full"
    dims = (1,) * (len(shape) - aval.ndim) + tuple(aval.shape)  # aligned on the right, as broadcasting does
    ones_before = next(i for i, d in enumerate(dims) if d != 1)
    ones_after = next(i for i, d in enumerate(reversed(dims)) if d != 1)
    if dims[ones_before:] == shape[ones_before:]:
        return "row"
    if dims[:len(dims) - ones_after] == shape[:len(dims) - ones_after]:
        return "column"
    return None


def _reduction_forms(avals, params, out_avals):
    (x,) = avals
    axes = tuple(sorted(params["axes"]))
    if x.size == 0 or not axes or axes != tuple(range(axes[0], axes[-1] + 1)):
        return []
    if len(axes) == x.ndim:
        shape, out_shape, kernel_axes = (x.size,), (), (0,)
    else:
        before, after = math.prod(x.shape[:axes[0]]), math.prod(x.shape[axes[-1] + 1:])
        shape, out_shape, kernel_axes = (before, x.size // (before * after), after), (before, after), (1,)
    kernel_params = {**params, "axes": kernel_axes, "keepdims": False}
    return [((ShapedArray([None] * len(shape), x.dtype),), kernel_params, _views(avals, [shape]),
             _views_back(out_avals, [out_shape]))]


def _views(avals, shapes):
    """For each aval, the kernel's shape to view its buffer at; None where it has it."""
    return tuple(None if tuple(a.shape) == s else s for a, s in zip(avals, shapes))


def _views_back(avals, shapes):
    """For each result of the kernel's `shapes`, its aval's shape to view it at; None where it has it."""
    return tuple(None if tuple(a.shape) == s else tuple(a.shape) for a, s in zip(avals, shapes))


def _as_is_forms(avals, params, out_avals):
    """Ops that never broadcast (contractions, transposes): every dim dynamic,
    those of size 1 too, and the buffers as they are."""
    if any(a.size == 0 for a in avals):
        return []
    kernel_avals = tuple(ShapedArray([None] * a.ndim, a.dtype) for a in avals)
    return [(kernel_avals, params, (None,) * len(avals), (None,) * len(out_avals))]


FORMS = {**dict.fromkeys(ARITY, _elementwise_forms), **dict.fromkeys(REDUCTIONS, _reduction_forms),
         **dict.fromkeys(AS_IS, _as_is_forms)}


def entry_name(prim_name, kernel_avals, params) -> str:
    """The kernel's function name in its shard: what it computes, e.g.
    `add__float32_n__float32_0` (each operand's dtype and dims: n dynamic,
    1 static, 0 for none), then a hash of the params if any, so a lookup
    needs no index."""
    parts = [prim_name] + [a.dtype.name + "_" + ("".join("n" if d is None else str(d) for d in a.shape) or "0")
                           for a in kernel_avals]
    if params:
        parts.append("p" + hashlib.sha256(repr(sorted(params.items())).encode()).hexdigest()[:12])
    return "__".join(parts)


# ---------------------------------------------------------------------------
# Finding a kernel.

class _Reshaped:
    """A library kernel called on views of the operands at its shapes, its
    results viewed at the op's (~2 us a view)."""
    __slots__ = ("program", "in_shapes", "out_shapes")

    def __init__(self, program, in_shapes, out_shapes):
        self.program, self.in_shapes, self.out_shapes = program, in_shapes, out_shapes

    def __call__(self, buffers, n_results):
        views = [b if s is None else runtime.reshaped(b, s) for b, s in zip(buffers, self.in_shapes)]
        outs, call = self.program(views, n_results)
        return [b if s is None else runtime.reshaped(b, s) for b, s in zip(outs, self.out_shapes)], call


_shards = cache.LRU()  # (device, shard key) -> the loaded shard, or False: the cache has none


def executable(prim, avals, params, out_avals, device, make_module):
    """An Executable running `prim` on operands of `avals` with a library
    kernel, or None where the library has none. `make_module(prim, kernel
    avals, params)` is the kernel's module (eager.build_module), for a
    background build of a missing shard."""
    if prim.name == "reshape" and covers("reshape") and out_avals[0].size and isinstance(device, runtime.Device):
        return Executable(runtime.Reshape(device, out_avals[0].shape), out_avals)  # no kernel at all
    forms = FORMS.get(prim.name)
    if forms is None or not covers(prim.name):
        return None
    for kernel_avals, kernel_params, in_shapes, out_shapes in forms(avals, dict(params), out_avals):
        shard = _shard(prim, device, make_module)
        program = shard and shard.entry(entry_name(prim.name, kernel_avals, kernel_params))
        if program is not None:
            if any(s is not None for s in in_shapes + out_shapes):  # (a view may be (), a scalar's)
                program = _Reshaped(program, in_shapes, out_shapes)
            return Executable(program, out_avals)
    return None


def covers(prim_name: str) -> bool:
    """Whether IRAX_KERNEL_LIBRARY lets the library serve (and build) `prim_name`."""
    chosen = config.irax_kernel_library
    return chosen == "all" if chosen in ("all", "none") else prim_name in chosen.split(",")


def _shard(prim, device, make_module):
    backend = device.backend
    if not hasattr(backend, "target_backend"):  # a plugin's own backend: not IREE's compile cache
        return None
    key = shard_key(prim.name, backend)
    shard = _shards.get((device, key))
    if shard is None:
        vmfb = cache.find(key)
        shard = _shards[device, key] = vmfb is not None and device.load(vmfb)
        if not shard and config.irax_kernel_library_background and key not in _asked:
            _asked.add(key)  # once per process, built or failed
            # (the compile target only: the backend holds its devices, which the
            # builder would keep alive past the interpreter's teardown)
            _background.put((prim, Target(backend.target_backend, backend.compile_flags), make_module))
            _start_background()
    return shard or None


class Target(NamedTuple):
    """What a shard is compiled for: a backend's IREE target and flags (a
    backend has both, and serves wherever a Target does)."""
    target_backend: str
    compile_flags: tuple


def shard_key(prim_name: str, backend) -> str:
    """The compile cache key of `prim_name`'s shard for `backend` (or a Target)."""
    name = (f"irax eager kernel library {FORMAT}: {prim_name}; sources {sources_stamp()}; "
            f"passes {config.irax_passes}; x64 {config.irax_enable_x64}")
    return cache.named_key(name, backend.target_backend, backend.compile_flags)


@functools.cache
def sources_stamp() -> str:
    """A hash of the path, size and modification time of every source file
    of irax (~1 ms): the kernels' MLIR comes from them."""
    lines = []
    _list_sources(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), lines)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _list_sources(directory, lines):
    with os.scandir(directory) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.endswith(".py"):
                info = entry.stat()
                lines.append(f"{entry.path} {info.st_size} {info.st_mtime_ns}")
            elif entry.is_dir() and entry.name != "__pycache__":
                _list_sources(entry.path, lines)


# ---------------------------------------------------------------------------
# Building.

def catalogue(prim_name: str) -> list:
    """The (kernel avals, params) that `prim_name`'s shard is built for
    (before `build` drops those the primitive refuses)."""
    if prim_name in AS_IS:
        return [(tuple(ShapedArray([None] * r, np.dtype(d)) for d, r in zip(dtypes, ranks)), params)
                for dtypes, ranks, params in AS_IS[prim_name]]
    if prim_name in REDUCTIONS:
        param, pairs = REDUCTIONS[prim_name]
        return [((ShapedArray([None] * rank, np.dtype(x)),), {"axes": axes, "keepdims": False, param: np.dtype(result)})
                for x, result in pairs for rank, axes in ((1, (0,)), (3, (1,)))]  # the two reduction forms
    arity = ARITY[prim_name]
    kernels = []
    for dtype in DTYPES:
        dtypes = ("bool", dtype, dtype) if prim_name == "select" else (dtype,) * arity
        choices = ([{"new_dtype": np.dtype(d), "weak_type": False} for d in DTYPES if d != dtype]
                   if prim_name == "convert_element_type" else [{}])
        patterns = PATTERNS[arity] + (MATRIX_PATTERNS[arity] if dtype == "float32" else ())
        for pattern in patterns:
            avals = tuple(ShapedArray(PATTERN_DIMS[p], np.dtype(d)) for p, d in zip(pattern, dtypes))
            kernels += [(avals, params) for params in choices]
    return kernels


def build(prim, backend, make_module) -> int:
    """Compile `prim`'s shard for `backend` unless the cache has it; returns
    how many kernels it holds."""
    kernels = [(avals, params) for avals, params in catalogue(prim.name) if _accepts(prim, avals, params)]
    key = shard_key(prim.name, backend)
    if cache.find(key) is None:
        text = _pack([(entry_name(prim.name, avals, params), make_module(prim, avals, params))
                      for avals, params in kernels])
        cache.cached_compile(text, backend.target_backend, backend.compile_flags, key=key)
    _shards.clear()  # forget the shards looked for before they were built
    return len(kernels)


def warm(prims, backend, make_module, workers=0, progress=None) -> int:
    """Build the shards of `prims` (those IRAX_KERNEL_LIBRARY covers) for
    `backend` in `workers` threads (0: one per core), calling `progress(done,
    total)` as each is done; returns how many kernels the library holds."""
    prims = sorted((p for p in prims if p.name in FORMS and covers(p.name)),
                   key=lambda p: -len(catalogue(p.name)))  # the big ones first, so the threads end together
    kernels = 0
    with concurrent.futures.ThreadPoolExecutor(workers or os.cpu_count()) as pool:
        futures = [pool.submit(build, p, backend, make_module) for p in prims]
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            kernels += future.result()
            if progress:
                progress(done, len(futures))
    return kernels


def _accepts(prim, avals, params) -> bool:
    try:
        prim.out_avals(avals, params)
        return True
    except (TypeError, ValueError):
        return False


def _pack(kernels) -> str:
    """One module holding each (name, one-function module) as the function `name`."""
    with mlir.context(), ir.Location.unknown():
        packed = ir.Module.create()
        for name, module in kernels:
            (function,) = module.body.operations  # a kernel is one function: nothing else to rename
            function.attributes["sym_name"] = ir.StringAttr.get(name)
            packed.body.append(function)
        return str(packed)


# The background builder: one daemon thread, one shard at a time, so that it
# takes one core from the process at most. At exit the shards not begun are
# dropped and the one being compiled is waited for: an interpreter torn down
# under a running compile leaves IREE objects that its bindings then list on
# stderr as leaked.
_background = queue.Queue()
_background_lock = threading.Lock()
_background_thread = None
_asked = set()  # the shard keys asked of it
_exiting = False


def _start_background():
    global _background_thread
    with _background_lock:
        if _background_thread is None:
            _background_thread = threading.Thread(target=_build_in_background, name="irax-kernel-library", daemon=True)
            _background_thread.start()


def _build_in_background():
    while True:
        _build_one(*_background.get())


def _build_one(prim, target, make_module):
    try:
        if not _exiting:
            build(prim, target, make_module)
    except Exception as e:  # the op keeps its traced kernel, as without a library
        warnings.warn(f"irax: building the eager kernel library's {prim.name} kernels failed: {e}", RuntimeWarning)
    finally:
        _background.task_done()  # (`_background.join()` waits for the builds asked for)


@atexit.register
def _finish_background():
    global _exiting
    _exiting = True
    _background.join()
