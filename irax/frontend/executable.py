"""The one path by which a compiled program runs on arrays.

Eager kernels (eager.py), staged programs (jit, grad, control flow:
staging.py) and ahead-of-time compiled ones (lowering.Compiled) all call
`execute`, which goes

    place   array.place: the device the call runs on, operands moved there
    check   a deleted operand is JAX's RuntimeError; a donated buffer also
            read elsewhere in the call is XLA's error (_check_donation)
    load    `find(device, operands)`: the caller's `Executable` for them,
            from its cache (a cache.LRU), compiled and loaded on a miss
    call    the loaded program queues the call (backends/runtime.py)
    wrap    each result buffer becomes an irax.Array (then the pytree the
            function returned), and donated operands are deleted

`run` is the part after `load`, for a caller that placed the operands and
holds the Executable already: jit's warm calls (jit.py) and eager ops
(eager.py), whose own lookup is one dict access. `run_warm` is place and
run for their usual call, whose operands need no moving and nothing
donated: one loop checks that, and anything else gives way to them. Once
a call ran warm, `fast_call` makes the next ones of its signature one
frame, where they run on the calling thread.
"""
import collections
import itertools
import operator
import weakref
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from iree.compiler import ir
from iree.runtime import HalBufferView, VmVariantList

from irax import tree_util
from irax.backends.runtime import DeviceError, Program
from irax.config import config
from irax.frontend import dtypes
from irax.frontend.array import NUMBERS, Array, canonical_aval, check_not_deleted, place
from irax.frontend.core import ShapedArray
from irax.ir import mlir
from irax.ir.linalg import is_permutation, is_projected, iterator_names, loop_sizes
from irax.plugins.registry import get_default_device
from irax.transforms.buffer_reuse import DESTINATIONS, kept_arguments


@dataclass
class Executable:
    """A program loaded on a device, and what its results are. `lifted` are
    arrays on that device passed after the operands (what a traced function
    closed over); `out_tree`, if any, is the pytree its results make.
    `aliases`, if known, names for each result the operands (by position)
    of its size that it is computed from: the only ones whose buffer it may
    share (see _note_views); None: any operand. `fixed_sharing`: whether
    its compiled program shares operands' buffers with results alike at
    every call (straight-line code: staging.py decides), so that once one
    call of it shared none, later calls need not look (`run`)."""
    program: object
    out_avals: tuple
    lifted: list = ()
    out_tree: tree_util.PyTreeDef = None
    aliases: tuple = None
    name: str = "a computation"  # what ran, for errors: an op's name, a staged function's
    fixed_sharing: bool = False
    shares_none: object = None  # the program (runtime.Program) seen sharing no operand's buffer, if fixed_sharing
    fast: object = None  # an eager op's call in one frame (fast_call), once a warm call made it
    shape_generic: bool = False  # an eager op's, whose kernel serves every shape of its rank (eager.py)
    context: tuple | None = None  # a staged program's config.trace_context(), which its warm calls must be under

    def __post_init__(self):
        self.out_avals = tuple(map(canonical_aval, self.out_avals))  # (its results' avals: see canonical_aval)


def load(device, vmfb, host_functions, module=None, traits=None):
    """`vmfb` loaded on `device` with the Python callbacks it imports
    ({name: runtime.HostFunction}, callbacks.py), if any: so a plugin's
    device that takes none still loads the programs that have none.
    `module`, the MLIR it was compiled from (or its `traits`, read from it
    already), says where its calls run (call_traits)."""
    program = device.load(vmfb, host_functions) if host_functions else device.load(vmfb)
    if hasattr(program, "always_inline"):  # (irax's own programs: runtime.Program)
        traits = traits or (module is not None and call_traits(module))
        if traits:
            program.always_inline, program.host_loops, program.work = traits
    return program


class CallTraits(NamedTuple):
    """What a program's module says of where its calls run (runtime.Program)."""
    always_inline: bool  # small_steps
    host_loops: bool  # host_loops
    work: float | None  # work_bytes


def call_traits(module) -> CallTraits:
    with module.context, ir.Location.unknown():  # (mlir.aval_parts makes types)
        loops = mlir.ops_where(module.operation, lambda op: op.name in _LOOPS)  # (one walk for the three)
        return CallTraits(small_steps(module, loops), host_loops(loops), work_bytes(module, loops))


# A loop's steps whose operands and results have at most this many elements,
# in a program whose other ones have at most OTHER_ELEMENTS: small_steps.
STEP_ELEMENTS = 1 << 16
OTHER_ELEMENTS = 1 << 20
_LOOPS = ("scf.for", "scf.while")


def small_steps(module, loops) -> bool:
    """Whether `module` is a loop of small steps, best run on the calling
    thread (the CPU's `local-sync` twin) whatever the size of its inputs.
    Each step of a loop is one dispatch or more, and on a queued call each
    dispatch is a task of the worker pool's, a few us, where on the calling
    thread it is ~1 us; with small results (a step of an RNN, of BFGS) the
    pool's threads gain nothing back. A queued call was 2.4x the inline one
    for a 200-step scan RNN (benchmarks/bench_loops.py: 1.37 against 0.55 ms,
    JAX 0.6), its inputs (800 KB) being over IRAX_INLINE_BYTES. Any big
    operand or result of a linalg op (a product of a big matrix, even with
    a vector, in a loop or not) keeps the pool, whose threads share its work.
    `loops`: the module's scf loops."""
    if not loops:
        return False
    linalg = mlir.ops_where(module.operation, lambda op: op.name.startswith(("linalg.", "iree_linalg_ext.")))
    return not any(elements(v.type) > (STEP_ELEMENTS if _in_loop(op) else OTHER_ELEMENTS)
                   for op in linalg for v in list(op.operands) + list(op.results))


def work_bytes(module, loops) -> float | None:
    """About how many bytes a call of `module` reads and writes: the operands
    and results of its linalg ops, what its inserts and scatters write, and
    the results of the tensor ops that copy. Its inputs' size is no measure
    of that: an update of one element of a donated argument (in place)
    reads and writes 4 bytes of a big input, and `jnp.full((4096, 4096), s)
    * 2` writes 64 MB from 4 bytes. The CPU runs a call on the calling
    thread when this is small (runtime.Program, IRAX_INLINE_BYTES). An
    insert or a scatter writes into its destination in place, but into a
    copy of an argument that was not donated (buffer_reuse.protect_arguments
    keeps it). None where it is not known before the call: a size that is
    not static (a shape-generic eager kernel), or a loop (its steps' work
    times a trip count; `loops`, the module's scf loops)."""
    if loops:
        return None
    operation = module.operation
    kept = kept_arguments(operation)  # an insert into one of these copies it first
    total = 0.0
    for op in mlir.ops_where(operation, lambda op: op.name in DESTINATIONS or op.name in _COPIES
                             or op.name.startswith(_KERNELS)):
        dest = DESTINATIONS.get(op.name)
        if dest is not None:  # writes into its destination in place (IREE): what it reads, and any copy first
            values = [v for i, v in enumerate(op.operands) if i != dest or v in kept]
        elif op.name in _COPIES:
            values = list(op.results)
        elif _elementwise(op):  # a chain of them is one loop: what passes between two is never stored
            values = [*[v for v in op.operands if not _elementwise(v.owner) and not _unread(v)],
                      *[v for v in op.results if not all(_elementwise(use.owner) for use in v.uses)]]
        else:
            values = [*op.operands, *op.results]
        moved = sum(_at_most(v) * _itemsize(v.type) for v in values)
        total += max(moved, _multiply_adds(op) * _itemsize(op.results[0].type) if op.results else 0)
    return None if total == float("inf") else total


def _unread(value) -> bool:
    """Whether `value` is a tensor.empty's: an elementwise generic's `outs`
    that it writes without reading."""
    owner = value.owner
    return isinstance(owner, ir.OpView) and owner.name == "tensor.empty"


def _multiply_adds(op) -> float:
    """How many multiply-adds a contraction does, a linalg op reducing two
    operands or more (a product, a convolution): the work its bytes do not
    measure (a 256^3 product moves 768 KB and does 16.8 million); 0 for
    other ops. A generic's are its loops' sizes multiplied; a window map's
    loops (ir/convolution.py) have no size of their own, and a named op's
    maps are implicit: their output's and kernel's sizes stand for them
    (over the kernel's last dim, a product's n and a convolution's output
    features: irax writes hwcf kernels)."""
    if len(op.operands) < 3 or not op.name.startswith("linalg."):
        return 0
    if op.name in _NAMED_CONTRACTIONS or op.name.startswith("linalg.conv"):
        out, kernel = op.results[0].type, ir.RankedTensorType(op.operands[1].type)
        return elements(out) * elements(kernel) / max(kernel.shape[-1], 1) if kernel.has_static_shape else float("inf")
    if op.name != "linalg.generic" or "reduction" not in iterator_names(op.opview):
        return 0
    sizes = loop_sizes(op)
    if any(n < 0 for n in sizes.values()):
        return float("inf")
    if len(sizes) < len(op.opview.iterator_types):
        return elements(op.results[0].type) * elements(op.operands[1].type)
    return float(np.prod(list(sizes.values())))


_NAMED_CONTRACTIONS = ("linalg.matmul", "linalg.batch_matmul", "linalg.mmt4d")


def _elementwise(op) -> bool:
    """Whether `op` is a linalg.generic that maps element i of its operands
    (or a broadcast of them) to element i of its results: IREE fuses a chain
    of such generics into one loop (an elementwise chain of ten ops on 64 x
    64 floats reads and writes 32 KB, not 480)."""
    if not isinstance(op, (ir.Operation, ir.OpView)) or op.name != "linalg.generic":  # (a block: an argument)
        return False
    op = op.operation.opview
    return (all(name == "parallel" for name in iterator_names(op)) and is_projected(op)
            and all(is_permutation(ir.AffineMapAttr(m).value) for m in list(op.indexing_maps)[len(op.inputs):]))


# Kernels, whose operands and results a call reads and writes (work_bytes),
# and tensor ops that write their results by copying.
_KERNELS = ("linalg.", "iree_linalg_ext.")
_COPIES = ("tensor.concat", "tensor.pad", "tensor.extract_slice")


def _at_most(value) -> float:
    """At most how many elements `value` has: its type's count, or, for a
    slice of a size known only at run time (an update that may drop its
    slice: primitives/indexing.py), what it is cut from."""
    count = elements(value.type)
    owner = value.owner
    if count == float("inf") and isinstance(owner, ir.OpView) and owner.name == "tensor.extract_slice":
        return _at_most(owner.operands[0])
    return count


def _itemsize(typ) -> int:
    return mlir.aval_parts(typ)[1].itemsize if isinstance(typ, ir.RankedTensorType) else 0


def host_loops(loops) -> bool:
    """Whether one of a module's scf `loops` is run by IREE on the host (one
    outside any linalg op's body: one VM iteration a step). IREE records
    such a loop's command buffers when the program is called, with direct
    references to memory that it allocates (queue.alloca) once the call's
    wait fence is reached; on the CPU that memory does not exist before, and
    the call fails ("transient buffer has not been committed") when the
    calls queued before it are still running (`x = f(x)` three times, f a
    fori_loop over big arrays). So a queued call of such a program first
    waits for the calls before it (runtime.Program)."""
    return any(not _in_linalg(op) for op in loops)


def _inside(op, kind) -> bool:
    """Whether `op` is nested, within its function, in an op `kind(name)` holds for."""
    parent = op.parent
    while parent is not None and parent.name != "func.func":
        if kind(parent.name):
            return True
        parent = parent.parent
    return False


def _in_linalg(op) -> bool:
    return _inside(op, lambda name: name.startswith("linalg."))


def _in_loop(op) -> bool:
    return _inside(op, _LOOPS.__contains__)


def elements(typ) -> float:
    """How many elements a value of type `typ` has (inf where not static, 0
    for a scalar). (Also tiered's measure of a generic's size.)"""
    if not isinstance(typ, ir.RankedTensorType):
        return 0
    return float(np.prod(typ.shape)) if typ.has_static_shape else float("inf")


def execute(name, operands, find, device=None, donated=()):
    """Run the Executable `find(device, placed operands)` on the arrays
    `operands`; `device` (jit's) overrides where they say to run. The
    operands at positions `donated` may be written into, and are deleted."""
    device, operands, committed = place(name, operands, device)
    return run(find(device, operands), device, operands, committed, donated)


def run(executable, device, operands, committed, donated=()):
    """Run `executable` on `operands`, already placed on `device` (array.place,
    which also says whether the results are `committed`)."""
    buffers = [x._buffer for x in operands]
    if not all(map(operator.is_not, buffers, itertools.repeat(None))):  # (no Python frame a leaf)
        check_not_deleted(operands)
    if donated:
        _check_donation(operands, executable.lifted, set(donated))
        for k in donated:
            if _viewed_elsewhere(operands[k]):
                buffers[k] = device.put(operands[k]._value)  # a copy to write into, so the views keep their values
    return _call(executable, device, operands, buffers, committed, donated)


# run_warm's answer for a call it leaves to array.place and run.
NOT_WARM = object()


def run_warm(executable, device, operands, committed=False):
    """`place` then `run` for a warm call: jit's on the signature of an
    earlier call that ran `executable` on `device`, an eager op's on
    operands whose kernel that is. Most such calls find their operands where
    they were (on `device`, the default device or the one they are committed
    to) and donate nothing, so one loop over the operands checks that and
    collects their buffers (~0.8 us less than place and run a call of two
    operands); `committed`: jit's explicit device commits the results.
    NOT_WARM where place must move an operand, or one is deleted (run
    raises JAX's error): the caller takes the general path."""
    buffers = []
    for x in operands:
        buffer = x._buffer
        if buffer is None or x.device is not device:
            return NOT_WARM
        if x._ready:  # never compute on the results of a failed call (as place)
            device.check(x._ready)
        committed = committed or x._committed
        buffers.append(buffer)
    if not committed and get_default_device() is not device:  # uncommitted operands follow the default device
        return NOT_WARM
    return _call(executable, device, operands, buffers, committed)


def fast_call(executable, device, operands, committed=False, numbers=()):
    """A warm call of `executable` on `device` in one frame, made for the
    signature of the Arrays `operands` at a call that ran warm (run_warm):
    jit's on flat positional arguments (`committed`: jit's explicit device;
    `numbers`: the positions of those that were numbers, made the Arrays
    at them) and an eager op's. It does what run_warm and `_call` do, where IREE's
    bindings take ~3 us of a call's ~4: checks each operand is an Array of
    the aval (identities: the aval stands for the key) on `device` (a
    number passed to jit, of the aval: written into a buffer of the call's),
    pushes its buffer (`_operands_pusher`), runs the program on the calling
    thread (runtime.Program.inline_call; its work, or else the inputs'
    size, is the signature's, summed once) and makes the Arrays. NOT_WARM
    for a call it does not cover (another signature, a deleted operand, one
    elsewhere, work over IRAX_INLINE_BYTES, another default device,
    IRAX_PASSES changed): the caller takes the general path, which raises
    the errors. None where it would cover none: a program without an inline
    twin, or whose results must be looked at for shared buffers (`_call`)."""
    program = executable.program
    if (type(program) is not Program or program._inline_context is None
            or executable.shares_none is not program and not _shares_nothing(executable)):
        return None
    lifted = executable.lifted
    size = program.work if program.work is not None else (
        sum([x._buffer.byte_length for x in operands]) + sum([x._buffer.byte_length for x in lifted]))
    n_in, n_push = len(operands), len(operands) + len(lifted) + 2  # (+ the two fences)
    out_avals, out_tree = executable.out_avals, executable.out_tree
    n = len(out_avals)
    one = n == 1 and out_tree is not None and out_tree.node_type is None  # (most calls: an Array, no list)
    passes = config.irax_passes  # (part of the program's key: a change misses)
    # The results list of the call before, which the next call fills again
    # (~0.3 us less than a new one's making and freeing). It holds that
    # call's results until then, so only where they are small.
    spare = [] if sum([a.nbytes for a in out_avals]) <= config.irax_inline_bytes else None
    # Free sets of buffers for the numbers among a call's arguments, by
    # position, each a 0-d buffer and the host memory it is: a number is
    # written there (~0.2 us) instead of being found or put as an array
    # (~3 us for a kept one, ~9 for a new value). The call runs on this
    # thread and shares no operand's buffer with its results, so its set is
    # free again when it returns; a call in another thread takes a set of
    # its own.
    free_numbers = []
    push_operands = _operands_pusher(operands, numbers, committed, device, lifted)
    # The settings a call depends on, read again only after one changed
    # (config.changes): one read a call instead of four.
    read_at = covered = checked = None

    def call(args):
        nonlocal read_at, covered, checked
        if config.changes != read_at:
            read_at = config.changes
            covered = (size <= config.irax_inline_bytes and config.irax_passes is passes
                       and not config.irax_no_execution and executable.context in (None, config.trace_context()))
            checked = config.irax_debug_nans or config.irax_debug_infs
        if len(args) != n_in or not covered:
            return NOT_WARM
        inputs = VmVariantList(n_push)
        held = (free_numbers.pop() if free_numbers else {}) if numbers else None
        try:
            results_committed = push_operands(args, inputs.push_ref, held)
            if results_committed is NOT_WARM or not results_committed and get_default_device() is not device:
                return NOT_WARM  # (uncommitted operands follow the default device)
            results = program.inline_call(inputs, spare.pop() if spare else VmVariantList(n))
        finally:
            if held is not None:
                free_numbers.append(held)
        if n == 1:  # (most calls: no comprehension's frame, ~0.2 us; and jit's lone result no list)
            out = Array(results.get_as_object(0, HalBufferView), out_avals[0], device, results_committed)
            arrays = None if one else [out]
        else:
            arrays = [Array(results.get_as_object(i, HalBufferView), out_avals[i], device, results_committed)
                      for i in range(n)]
        if arrays is not None:  # (an eager op's list, returned as it is without _as_returned's frame)
            out = arrays if out_tree is None else _as_returned(out_tree, arrays)
        if spare is not None:
            spare.append(results)
        if checked:
            _check_special_values(executable.name, arrays or [out])
        return out

    return call


# A fast call's checks and pushes of its operands, one block per operand
# (where a loop over them cost ~0.3 us more a call of two): the signature's
# Array, or a number (written into a buffer of the call's set `held`).
_ARRAY_OPERAND = """\
    if type(x{i}) is not Array or x{i}.aval is not avals[{i}] or x{i}.device is not device or x{i}._buffer is None:
        return NOT_WARM
    if x{i}._ready:  # never compute on the results of a failed call (as place)
        device.check(x{i}._ready)
    if x{i}._committed:
        committed = True
    push(x{i}._buffer)
"""
_NUMBER_OPERAND = """\
    buffer = _write_number(held, {i}, x{i}, avals[{i}], number_avals, device)
    if buffer is None:
        return NOT_WARM
    push(buffer)
"""


def _operands_pusher(operands, numbers, committed, device, lifted):
    """`push_operands(args, push, held)` for a fast call made on `operands`
    (`numbers`: the positions where a number is passed): pushes each
    argument's buffer, then the `lifted` arrays';
    the results' committed (an operand's, or `committed`), or NOT_WARM where
    an argument is not of the signature (another aval, type, device, or
    deleted). Written out per signature, as namedtuple writes its class."""
    names = "".join(f"x{i}, " for i in range(len(operands)))
    source = "".join([
        "def push_operands(args, push, held):\n",
        f"    {names} = args\n" if operands else "",
        "    committed = jit_committed\n",
        *[(_NUMBER_OPERAND if i in numbers else _ARRAY_OPERAND).format(i=i) for i in range(len(operands))],
        *[f"    push(lifted[{k}]._buffer)\n" for k in range(len(lifted))],
        "    return committed\n"])
    namespace = dict(Array=Array, NOT_WARM=NOT_WARM, _write_number=_write_number, number_avals=NumberAvals(),
                     avals=tuple([x.aval for x in operands]),
                     device=device, lifted=lifted, jit_committed=committed)
    exec(compile(source, f"<irax fast call of {len(operands)} operands>", "exec"), namespace)
    return namespace["push_operands"]


class NumberAvals(dict):
    """The aval of a number passed to jit, by its type (a Python int is a
    weakly typed int32, or int64 in 64-bit mode; a NumPy scalar its own
    dtype): kept for the mode it was made in."""

    def __init__(self):
        super().__init__()
        self.x64 = config.irax_enable_x64

    def of(self, x):
        if config.irax_enable_x64 is not self.x64:
            self.clear()
            self.x64 = config.irax_enable_x64
        aval = self.get(type(x))
        if aval is None and isinstance(x, NUMBERS):
            try:
                aval = self[type(x)] = canonical_aval(ShapedArray((), *dtypes.dtype_and_weak(x)))
            except TypeError:  # (a NumPy scalar irax has no dtype for: the general path says so)
                return None
        return aval


def _write_number(numbers, position, x, aval, number_avals, device):
    """The buffer of `numbers` for the argument at `position`, holding the
    number `x`; None where `x` is not a number of `aval` (or is out of its
    range: the general path raises JAX's OverflowError)."""
    if number_avals.of(x) is not aval:
        return None
    held = numbers.get(position)
    if held is None:
        held = device.empty(aval.dtype, ())
        if held is None:  # (device memory that is not host memory)
            return None
        numbers[position] = held
    buffer, memory = held
    try:
        memory[()] = x
    except OverflowError:
        return None
    return buffer


def _shares_nothing(executable) -> bool:
    """Whether no result of `executable` may share an operand's buffer (`aliases` names none)."""
    return executable.aliases is not None and not any(executable.aliases)


def _call(executable, device, operands, buffers, committed, donated=()):
    """The call of run and run_warm, on the checked `buffers` of `operands`:
    the program's, then its results as Arrays (their pytree, if any)."""
    if executable.lifted:
        buffers += [x._buffer for x in executable.lifted]
    out_avals = executable.out_avals
    n = len(out_avals)
    program = executable.program
    if config.irax_no_execution:
        raise RuntimeError(f"irax tried to execute {executable.name}, but the no_execution config option is set")
    outs, ready = program(buffers, n)
    if ready is None:  # a view of its operand (runtime.Reshape)
        ready = operands[0]._ready
    for k in donated:
        operands[k].delete()
    if n == 1:  # (most calls: no loop to start)
        arrays = [Array(outs[0], out_avals[0], device, committed, ready)]
    else:
        same = itertools.repeat
        arrays = list(map(Array, outs, out_avals, same(device, n), same(committed, n), same(ready, n)))
    if config.irax_debug_nans or config.irax_debug_infs:
        _check_special_values(executable.name, arrays)
    aliases = executable.aliases
    if (aliases is None or any(aliases)) and executable.shares_none is not program:
        if not _note_views(operands, arrays, aliases) and executable.fixed_sharing and type(program) is Program:
            executable.shares_none = program  # (a FirstTier's calls may be NumPy's, which share nothing)
    return _as_returned(executable.out_tree, arrays)


def _as_returned(out_tree, arrays):
    """A call's result `arrays` as its program returns them: the pytree
    `out_tree`, one array (a tree of no node), or the list (no tree)."""
    if out_tree is None:
        return arrays
    return arrays[0] if out_tree.node_type is None else out_tree.unflatten(arrays)


def _check_special_values(name, arrays):
    """JAX's FloatingPointError for a NaN (debug_nans) or an inf (debug_infs) in a result."""
    for kind, wanted, found in (("nan", config.irax_debug_nans, np.isnan), ("inf", config.irax_debug_infs, np.isinf)):
        if wanted and any(dtypes.is_inexact(x.dtype) and found(np.asarray(x)).any() for x in arrays):
            raise FloatingPointError(f"invalid value ({kind}) encountered in {name}")


# A result may be a view of an operand's buffer: IREE returns a reshape, or
# an argument a program returns, without copying. Arrays are immutable, so
# that is never seen, except when a call is donated one of them and writes
# into the buffer in place: the others would change. So views are noted (an
# array's `_views`: the arrays sharing its buffer, and the NumPy views its
# DLPack exports hand out, weakly held), and a donated array that another
# live array or view shares is copied first (JAX's views have buffers of
# their own).

def _note_views(operands, results, aliases=None) -> bool:
    """Note each result that shares an operand's buffer, looking among the
    operands `aliases` names for it (those of its size it is computed from),
    else among all of its size: IREE's buffers compare (~0.1 us) but do not
    hash. Whether any does. (Inlined: a tree of results runs this loop for
    each leaf.)

    Which results of a program share which operands' buffers is decided
    when IREE compiles it, except through control flow (a branch or a loop
    may return an operand or a new value), so a program of straight-line
    code that shared none at one call shares none at any: `run` stops
    looking (Executable.fixed_sharing; ~0.35 us a result computed from an
    operand of its size). One that shared some is looked at each call: with
    two operands sharing a buffer, the first call cannot tell which one a
    result shares."""
    shared = False
    everything = range(len(operands))
    for i, result in enumerate(results):
        candidates = everything if aliases is None else aliases[i]
        if not candidates:
            continue
        view = result._buffer
        buffer = None  # result's IREE buffer, fetched (~0.2 us) once a candidate is of its size
        for k in candidates:
            x = operands[k]
            if x._buffer is None or (aliases is None and x._buffer.byte_length != view.byte_length):
                continue  # donated, so deleted; or not of its size
            if buffer is None:
                buffer = result._storage = view.get_buffer()
            b = x._storage
            if b is None:
                b = x._storage = x._buffer.get_buffer()
            if b == buffer:
                views = x._views if x._views is not None else [weakref.ref(x)]  # (Arrays do not hash either)
                views.append(weakref.ref(result))
                x._views = result._views = views
                shared = True
                break
    return shared


def _storage(x):
    """The IREE buffer of the array `x`, kept on it: fetching one costs ~1 us."""
    if x._storage is None:
        x._storage = x._buffer.get_buffer()
    return x._storage


def _viewed_elsewhere(x) -> bool:
    return x._views is not None and any(v() is not None and v() is not x and not _is_deleted_array(v())
                                        for v in x._views)


def _is_deleted_array(view) -> bool:
    return isinstance(view, Array) and view.is_deleted()


# XLA's errors (JAX's JaxRuntimeError) for a buffer a call donates and also
# reads, by whether its first use donates it: (what happened, toy example).
_DONATION_ERRORS = {
    True: ("Attempt to use a buffer that was previously donated in the same call", "f(donate(a), a)"),
    False: ("Attempt to donate a buffer which is also used by the same call", "f(a, donate(a))"),
}


def _check_donation(flat, lifted, donated):
    """Raise before anything runs if a buffer the call donates is also read
    elsewhere in it (among the flat arguments, or the `lifted` arrays the
    function closes over): the program may write into a donated buffer in
    place, so that other read would see the new values. Compared by IREE
    buffer, which arrays may share (a reshape's result, an argument a jitted
    function returned), and only between buffers of one size, so that a call
    donating many arrays stays cheap (IREE's buffers compare, ~0.1 us, but
    do not hash)."""
    seen = collections.defaultdict(list)  # byte length -> (position of first use, buffer)
    for j, x in enumerate(list(flat) + list(lifted)):
        buffer = _storage(x)
        same_size = seen[buffer.byte_length()]
        i = next((i for i, b in same_size if b == buffer), None)
        if i is None:
            same_size.append((j, buffer))
        elif i in donated or j in donated:
            problem, toy = _DONATION_ERRORS[i in donated]
            where = f"flattened argument {j}" if j < len(flat) else "an array the function closes over"
            raise DeviceError(
                f"INVALID_ARGUMENT: {problem} ({where}, first use: {i}). Toy example for this "
                f"bug: `{toy}`. The call may overwrite a donated array, so nothing else in it may read that array: "
                "pass a copy (jnp.copy(a)) in one of the places, or do not donate it.")
