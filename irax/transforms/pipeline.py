"""The pass pipeline every program goes through before IREE.

A pipeline is a list of pass names, each looked up in the registry
(irax.plugins.registry.passes()), where irax's own passes are registered
plugins like anyone else's (their objects are in passes.py). The default:

    differentiate                             the declared derivatives defined (ad/differentiate.py)
    inline, symbol-dce                        calls of derivatives and custom derivatives inlined
    expand-float64-math                       float64 functions from arithmetic (float64_math.py)
    round-bfloat16                            bfloat16 inputs rounded as JAX rounds each op (bfloat16_rounding.py)
    fold-empty-tensors                        no work on tensors with no elements (empty_tensors.py)
    canonicalize, cse                         tidy what tracing and AD wrote
    prune-unused-generic-inputs               generic inputs nothing reads dropped (cleanup.py)
    canonicalize, cse
    drop-unread-work                          unread barriers and loops erased, and the work behind them (cleanup.py)
    plain-matmuls                             matrix products as linalg.matmul (matmul.py)
    materialize-contraction-operands          strided slices and splats a contraction (or gather) reads computed apart (contraction_operands.py)
    normalize-loop-order                      loops in output order (loop_order.py)
    fuse-elementwise-loops                    elementwise loops as one generic each (elementwise_loops.py)
    keep-unread-carries                       loops IREE can compile (loop_carries.py)
    update-stacks-in-place                    scan's stacked outputs written in place (loop_carries.py)
    complex-fills-as-parts                    complex splats read as scalars, fills as their parts (complex_fills.py)
    copy-shared-generators                    a computed constant updated twice is copied (shared_generators.py)
    barrier-self-updates                      an update of values read from the tensor it updates (self_updates.py)
    reuse-dead-buffers                        write into dead intermediates (buffer_reuse.py)
    protect-arguments                         nothing may write into an argument

followed by each registered pass that names one to follow (its `after`).
Eager kernels (one primitive each) get expand-float64-math,
round-bfloat16, fold-empty-tensors and the last two.

Users change it by name with a *pipeline spec*: a comma-separated string or
a list of names, in which `default` stands for the pipeline they would get
otherwise and `-name` removes every `name`:

    IRAX_PASSES=default,count-ops                    # every program
    irax.config.update("irax_passes", "default,-cse")
    irax.jit(f, passes=["count-ops", "default"])     # one function, on top of the config

Python passes and upstream MLIR passes run in one `PassManager`; a Python
pass after each one gives per-pass dumps with irax's own pass names (MLIR's
IR printer names Python passes ""), and checks the module there. Else the
module is checked after each plugin's pass and once at the end (`_verify`). A pass manager is kept per thread, MLIR
context and pipeline, and used again: building one cost ~3-7 ms of a ~20 ms
pipeline on a small gradient (canonicalize collects every loaded dialect's
patterns when it first runs). Those kept are
dropped at exit: one alive at interpreter exit makes nanobind print leak warnings.
"""
import atexit
import collections
import hashlib
import threading
import weakref

from iree.compiler import ir
from iree.compiler.passmanager import PassManager

from irax.config import config
from irax.plugins import registry
from irax.transforms.buffer_reuse import mark_donated

DEFAULT = ("differentiate", "inline", "symbol-dce", "expand-float64-math", "round-bfloat16", "fold-empty-tensors",
           "canonicalize", "cse", "prune-unused-generic-inputs", "canonicalize", "cse", "drop-unread-work",
           "plain-matmuls", "materialize-contraction-operands", "normalize-loop-order", "fuse-elementwise-loops",
           "keep-unread-carries", "update-stacks-in-place", "complex-fills-as-parts", "copy-shared-generators",
           "barrier-self-updates", "reuse-dead-buffers",
           "protect-arguments")
# An eager kernel is one primitive's ops: nothing to tidy, and canonicalize
# alone would cost ~1 ms per kernel.
KERNEL_DEFAULT = ("expand-float64-math", "round-bfloat16", "fold-empty-tensors", "normalize-loop-order",
                  "complex-fills-as-parts", "protect-arguments")


def default_pipeline(base=DEFAULT) -> list:
    """irax's default pass names (`base`), with each registered pass that asks
    for a place (`after`) right after the last run of the pass it names."""
    names = list(base)
    for name, p in registry.passes().items():
        after = getattr(p, "after", None)
        if after in names:
            names.insert(len(names) - names[::-1].index(after), name)
    return names


def resolve(spec, default) -> list:
    """The pass names a pipeline spec stands for, `default` standing for `default`.
    A name to remove must be a registered pass, like one to run: a misspelt
    `-name` would otherwise leave that pass in without a word."""
    tokens = [t.strip() for t in (spec.split(",") if isinstance(spec, str) else spec) if t.strip()]
    removed = {t[1:] for t in tokens if t.startswith("-")}
    unknown = sorted(removed - set(registry.passes()))
    if unknown:
        raise _unknown(unknown[0])
    names = [n for t in tokens if not t.startswith("-") for n in (default if t == "default" else [t])]
    return [n for n in names if n not in removed]


def pass_names(passes=None, base=DEFAULT) -> list:
    """The pipeline a program gets: the configured one (IRAX_PASSES), changed by
    the per-function spec `passes` if given."""
    names = resolve(config.irax_passes, default_pipeline(base))
    return names if passes is None else resolve(passes, names)


def _unknown(name) -> ValueError:
    return ValueError(f"Unknown pass {name!r} in the pass pipeline. Registered passes: "
                      f"{', '.join(sorted(registry.passes()))}")


def _lookup(name):
    found = registry.passes().get(name)
    if found is None:
        raise _unknown(name)
    if isinstance(found, registry.PluginLoadError):
        raise ValueError(f"Pass {name!r} failed to load ({found.origin}): {found.error}")
    return found


def run(module, passes=None, donated=(), after_pass=None, base=DEFAULT):
    """Run the pipeline (`pass_names(passes, base)`) on `module`; the arguments
    of @main at positions `donated` were given up by the caller.
    `after_pass(name, module_op)`, if given, sees the module after each pass
    (`lower(...).passes`, `irax ir --print-after-all`)."""
    steps = [(name, _lookup(name)) for name in pass_names(passes, base)]
    context = module.context
    with context, ir.Location.unknown():
        mark_donated(module.operation, donated)
        if after_pass is not None:
            _pass_manager(steps, after_pass).run(module.operation)
            return
        pipeline = tuple((name, id(p)) for name, p in steps)
        made = None
        if all(map(_ours, (p for _, p in steps))):  # (a third party's pass may keep state)
            made = (hashlib.sha256(module.operation.get_asm(enable_debug_info=True).encode()).digest(),
                    pipeline, context)
            if (done := _made.get(made)) is not None:
                _replace_body(module, _copy(done.body.operations[0].operation))
                return
        kept = _kept().managers
        key = (context, pipeline)
        # Taken out while it runs: a pass that runs a pipeline itself builds its
        # own, and one that failed is not used again.
        pm, _ = kept.pop(key, (None, None))
        if pm is None:
            pm = _pass_manager(steps)
        pm.run(module.operation)
        _verify(module)
        if len(kept) >= _KEEP:
            kept.clear()
        kept[key] = pm, steps  # (the steps kept alive, so that no other pass takes one of their ids)
        if made is not None:
            with _made_lock:  # (threads may trace at once)
                if len(_made) >= _MADE_KEPT:
                    _made.popitem(last=False)  # (the oldest)
                _made[made] = _copy(module.operation)


# What the pipeline made of each module it ran on, where every pass was
# irax's own: a module traced again in this process (a function traced for
# another device, as each platform's copy of a test does; a cleared cache)
# takes a copy of it (~0.1 ms) instead of being transformed again (~10-50 ms
# a program, mostly Python walks). Keyed by the module's text with its
# locations (which the copy keeps, for `irax ir --debug-info`), the
# pipeline's passes and the MLIR context; only in memory, where the passes'
# code cannot change.
_made = collections.OrderedDict()
_made_lock = threading.Lock()
_MADE_KEPT = 128  # (a big program's copy takes a few hundred KB)


def _copy(module_op) -> ir.Module:
    """A module holding a copy of a module op. (`clone()` without an
    insertion point inserts the copy at the current one: a trace's, when an
    eager kernel compiles inside `ensure_compile_time_eval`.)"""
    holder = ir.Module.create()
    module_op.clone(ip=ir.InsertionPoint(holder.body))
    return holder


def _replace_body(module, made: ir.Module):
    """Give `module` the ops and attributes of the module op `made` holds
    (callers hold `module` itself)."""
    copy = made.body.operations[0]
    for op in list(module.body.operations):
        op.erase()
    for op in list(copy.regions[0].blocks[0].operations):
        module.body.append(op)
    for attribute in copy.attributes:
        module.operation.attributes[attribute.name] = attribute.attr


def _verify(module):
    """Check the module the pipeline made, once: irax's own passes are not
    checked one by one (MLIR's pass manager checks after every pass, ~20% of
    a gradient's pipeline of 25 passes). A pipeline run with `after_pass`
    (`lower`, `irax ir`) checks after each, and names the pass that broke
    the module."""
    try:
        module.operation.verify()
    except ir.MLIRError as error:
        error.add_note("The pass pipeline left invalid IR. `jit(f).lower(...)` and `irax ir` check it after "
                       "each pass, and name the pass that broke it.")
        raise


def _checked(name, module_op):
    try:
        module_op.verify()
    except ir.MLIRError as error:
        raise RuntimeError(f"Pass {name!r} left invalid IR: {error}") from None


def _ours(p) -> bool:
    return getattr(p, "origin", "").startswith("irax.")


def _pass_manager(steps, after_pass=None) -> PassManager:
    """A pass manager for `steps`, checking the module after each plugin's
    pass (not irax's own: `_verify`), or after each pass with `after_pass`."""
    pm = PassManager("builtin.module")
    pm.enable_verifier(False)
    for name, p in steps:
        if hasattr(p, "pipeline"):
            pm.add(p.pipeline)
        else:
            pm.add(lambda op, pass_, p=p: p.run(op), name=name)
        if after_pass is not None:
            pm.add(lambda op, pass_, name=name: (_checked(name, op), after_pass(name, op)), name=f"after-{name}")
        elif not _ours(p):  # (a third party's invalid IR must not reach MLIR's passes: they may crash on it)
            pm.add(lambda op, pass_, name=name: _checked(name, op), name=f"check-{name}")
    return pm


_KEEP = 16  # pass managers kept per thread (a pipeline spec each, per context)


class _Kept:
    """One thread's pass managers: (context, pipeline) -> (PassManager, its steps)."""

    def __init__(self):
        self.managers = {}


_local = threading.local()
_all_kept = weakref.WeakSet()  # each thread's _Kept, for _drop_kept


def _kept() -> _Kept:
    kept = getattr(_local, "kept", None)
    if kept is None:
        kept = _local.kept = _Kept()
        _all_kept.add(kept)
    return kept


@atexit.register
def _drop_kept():
    for kept in list(_all_kept):
        kept.managers.clear()
