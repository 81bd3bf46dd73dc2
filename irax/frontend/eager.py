"""Eager mode: run one primitive on concrete arrays as a tiny compiled program.

The primitive's own emitter writes a one-op `func.func @main`; the device's
backend compiles it (through the compile cache); the loaded program is kept
in `_kernels` under a key that does not mention sizes when the primitive has
`dynamic_shapes`, so `add` of a (3,) and of a (1000,) array share a kernel,
and runs by the path every program takes (array.place, executable.run). A kernel
the prebuilt library has (kernel_library.py) is taken from it instead, with
no trace and no compile.

The params are part of the key, so a value that changes from call to call
(an index, a slice start) is passed as an operand instead: `index_operand`
makes it a 0-d array, and the kernel reads it at run time.
"""
import functools

import numpy as np

from irax.backends.cache import LRU
from irax.config import config
from irax.frontend.array import device_put_numpy, place
from irax.frontend.core import ShapedArray, Trace
from irax.frontend import executable, kernel_library, tiered
from irax.transforms import pipeline


def kernel_aval(aval: ShapedArray, dynamic: bool) -> ShapedArray:
    """What the kernel is compiled for: dims of size 1 stay static (they encode
    the broadcast pattern), every other dim becomes dynamic."""
    if not dynamic:
        return aval.update(weak_type=False)
    return ShapedArray([1 if d == 1 else None for d in aval.shape], aval.dtype)


def trace_kernel(prim, kernel_avals, params):
    """The MLIR module of `prim` on arguments of `kernel_avals`, as traced
    (tape.py differentiates it)."""
    trace = Trace()
    with trace.active():
        args = [trace.new_argument(a) for a in kernel_avals]
        outs = prim.bind(*args, **params)
    return trace.finish(outs if prim.multiple_results else [outs])


def build_module(prim, kernel_avals, params):
    """The MLIR module of `prim` on arguments of `kernel_avals`, ready to compile."""
    module = trace_kernel(prim, kernel_avals, params)
    pipeline.run(module, base=pipeline.KERNEL_DEFAULT)
    return module


@functools.lru_cache(maxsize=4096)
def index_operand(i: int, device):
    """The Python int `i` as a 0-d int32 array on `device` (int64 if it does
    not fit). Kept: loops over x[i] ask for the same ones again, and a put
    costs ~15 us where a kernel call costs ~30. Nothing writes into them:
    they never reach user code, so they are never donated."""
    dtype = np.int32 if -2**31 <= i < 2**31 else np.int64
    return device_put_numpy(np.asarray(i, dtype), device)


class _Dispatch(LRU):
    """(prim, avals, params, device, pass pipeline) -> Executable: one lookup
    per warm call; and `fast`, prim -> the params and fast call
    (executable.fast_call) of its last warm call: a loop of one op on one
    signature makes no key (~0.4 us; ~0.8 with params: a reduction's axes,
    keepdims and dtype), and looks in a dict (~0.1 us less than the LRU's
    get). Cleared with the entries (irax.clear_caches)."""

    def __init__(self):
        super().__init__()
        self.fast = {}

    def clear(self):
        super().clear()
        self.fast.clear()


# Both bounded by config.irax_cache_size (cache.LRU).
_kernels = LRU()  # (prim, kernel avals, params, device, pass pipeline) -> loaded Program
_dispatch = _Dispatch()


def _program(prim, kernel_avals, params, device, made):
    """The program of `made`, the Executable of `prim` on operands its
    `kernel_avals` stand for (tiered.kernel)."""
    key = (prim, kernel_avals, params, device, config.irax_passes)
    return tiered.kernel(_kernels, key, device, made, lambda: build_module(prim, kernel_avals, dict(params)))


def _static_kernel(prim, avals) -> bool:
    """Whether an operand is big enough for a kernel of its exact shapes
    (`Primitive.static_above`; docs/architecture.md, "Eager kernels for big arrays")."""
    return prim.static_above is not None and any(a.size >= prim.static_above for a in avals)


def run(prim, operands, params):
    """`prim` on the concrete arrays `operands`: its Executable found in
    `_dispatch` (one lookup a warm call), run. A warm call looks for the
    kernel of the device its first operand is on, and runs it at once if
    the operands need no moving (executable.run_warm, then the fast call it
    makes way for: executable.fast_call); any other is placed first
    (array.place), then looked up and run."""
    last = _dispatch.fast.get(prim)  # (its last warm call's params and fast call: no key to make)
    if last is not None and last[0] == params:
        out = last[1](operands)
        if out is not executable.NOT_WARM:
            return out
    given, params = params, tuple(params.items())
    avals = tuple([x.aval for x in operands])
    if operands:
        device = operands[0].device
        hit = _dispatch.get((prim, avals, params, device, config.irax_passes))
        if hit is not None:
            out = executable.NOT_WARM if hit.fast is None else hit.fast(operands)
            if out is executable.NOT_WARM:  # (no fast call, or one it does not cover: inputs over IRAX_INLINE_BYTES)
                out = executable.run_warm(hit, device, operands)
                if out is not executable.NOT_WARM and hit.fast is None:  # the next call takes one frame, if it can
                    hit.fast = _fast_call(hit, prim, params, device, operands)
            if out is not executable.NOT_WARM:
                if hit.fast is not None:
                    _dispatch.fast[prim] = (given, hit.fast)
                return out
    device, operands, committed = place(prim.name, operands)
    key = (prim, avals, params, device, config.irax_passes)
    hit = _dispatch.get(key)
    if hit is None:
        hit = _dispatch[key] = _executable(prim, avals, params, device)
    return executable.run(hit, device, operands, committed)


# An elementwise op's signature called this often on a shape-generic
# kernel gets a kernel of its exact shapes, compiled in the background while
# the generic one runs (docs/architecture.md, "Eager kernels are
# shape-generic"): a warm call of a static kernel costs IREE ~0.5 us less
# (its command buffer is recorded once, at load; a dynamic one's at every
# call), ~10% of a small op's.
HOT_CALLS = 1000
CHECK_EVERY = 64  # calls between two looks at the compile, once it is under way


def _fast_call(hit, prim, params, device, operands):
    """executable.fast_call of `hit` for `operands`, counting its calls
    (`_counted`) where its kernel is shape-generic."""
    fast = executable.fast_call(hit, device, operands)
    if fast is None or not hit.shape_generic:
        return fast
    avals = tuple(kernel_aval(x.aval, False) for x in operands)
    return _counted(hit, prim, fast, lambda: _exact_kernel(prim, avals, params, device))


def _exact_kernel(prim, avals, params, device):
    """The background compile (tiered.Compiling) of `prim`'s kernel of
    exactly `avals`, or None where nothing compiles in the background."""
    try:
        return tiered.background(device, lambda: build_module(prim, avals, dict(params)))
    except Exception:  # (a kernel that does not build must not fail a call the generic one serves)
        return None


def _counted(hit, prim, fast, exact_kernel):
    """`fast`, hit's fast call on a shape-generic kernel, counting its
    calls: at the HOT_CALLS-th it starts `exact_kernel()`'s compile, then
    looks every CHECK_EVERY calls whether that is done. Once it is, `hit`
    runs the exact kernel (its next call makes the fast call of it); where
    there is none, or its compile failed, `hit` keeps the generic one."""
    countdown, compiling = HOT_CALLS, None

    def call(operands):
        nonlocal countdown, compiling
        countdown -= 1
        if countdown == 0:
            countdown = CHECK_EVERY
            if compiling is None:
                compiling = exact_kernel() or False
            if compiling is False or compiling.compiled.done():
                ok = compiling and compiling.compiled.exception() is None
                _swap(hit, prim, call, compiling.load() if ok else None)
        return fast(operands)

    return call


def _swap(hit, prim, counting, program):
    """Take `counting` (hit's fast call, maybe `prim`'s last) away: `hit`
    runs `program` if there is one (its next call looks at its sharing,
    then makes the fast call of it); else a fast call of its kernel that
    does not count."""
    if _dispatch.fast.get(prim, (None, None))[1] is counting:
        del _dispatch.fast[prim]
    hit.fast, hit.shape_generic = None, False
    if program is not None:
        hit.program, hit.shares_none = program, None


def _executable(prim, avals, params, device):
    """The Executable running `prim` on operands of `avals` on `device`: a
    library kernel if there is one, else a traced one (compiled once)."""
    out_avals = prim.out_avals(avals, dict(params))  # all shape/dtype errors surface here
    static = _static_kernel(prim, avals)
    hit = None if static else kernel_library.executable(prim, avals, params, out_avals, device, build_module)
    if hit is None:
        # An empty operand keeps its sizes static, so that fold-empty-tensors
        # removes the work (Vulkan cannot dispatch on an empty buffer).
        dynamic = prim.dynamic_shapes and not static and all(a.size for a in avals)
        kernel_avals = tuple(kernel_aval(a, dynamic) for a in avals)
        hit = executable.Executable(None, out_avals)
        hit.program = _program(prim, kernel_avals, params, device, hit)
    else:
        dynamic = prim.dynamic_shapes  # (the library's kernels of such ops serve every shape)
    hit.name = prim.name
    # An elementwise kernel is straight-line code: which operand's buffer its
    # result shares (none, unless IREE folds the op away) is the same at every
    # call. A product's result is a new value always (both ways of its
    # kernel, for short and long sums, compute one): its first call finds
    # it shares none, and its warm calls take a fast call.
    elementwise = prim.name in kernel_library.ARITY
    hit.fixed_sharing = elementwise or prim.name == "dot_general"
    # A result may share only an operand's buffer of its size (IREE's programs
    # return whole buffers: a slice is a copy), so a reduction's, whose
    # operands are bigger, shares none, and its warm call takes a fast call.
    hit.aliases = tuple(tuple(k for k, a in enumerate(avals) if a.nbytes == out.nbytes) for out in out_avals)
    # And its exact-shape kernel computes the same bits (a reduction's would
    # add up in another order: a loop's sum would change as it ran).
    hit.shape_generic = dynamic and elementwise
    return hit
