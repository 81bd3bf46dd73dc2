"""The `irax` subcommands, one function each (argparse wiring: __init__.py).

They use the library's own entry points, so what they print is what the
library does: `ir` is `irax.jit(f).lower(*args).as_text(stage)`, `compile`
compiles `as_text("optimized")` with the backend's IREE flags, `run` loads a
program on a device as irax does.
"""
import os
import re
import shlex
import shutil
import sys
import time

import iree.runtime as rt

import irax
from irax.backends import cache, compiler, runtime
from irax.cli import specs
from irax.cli.specs import UsageError
from irax.config import config
from irax.frontend import eager, kernel_library
from irax.frontend.array import Array
from irax.frontend.core import ShapedArray
from irax.frontend.lowering import IREE_STAGES, resolve_backend
from irax.frontend.primitives import elementwise, linalg, reductions, shape
from irax.plugins import registry
from irax.transforms import pipeline


def show_backends(args):
    try:
        default, setting_error = next(iter(registry.available_backends()), None), None
    except RuntimeError as e:  # a bad IRAX_PLATFORMS: this command is where one looks into it, so list all first
        default, setting_error = None, e
    for name, backend in registry.backends().items():
        if isinstance(backend, registry.PluginLoadError):
            print(f"{name}: failed to load: {type(backend.error).__name__}: {backend.error}")
        else:
            devices = backend.devices() if backend.available() else []
            found = f"available, devices: {', '.join(map(repr, devices))}" if devices else "not available (no device here)"
            print(f"{name}{' (default)' if name == default else ''}: {found}")
            print(f"  IREE target: {backend.target_backend}, driver: {backend.driver}, priority: {backend.priority}")
            try:
                flags = " ".join(backend.compile_flags) or "(none)"
            except ValueError as e:  # a bad IRAX_CUDA_TARGET (a flag read from a setting): listed, then said
                flags, setting_error = "(none: a setting is not valid)", e
            print(f"  flags: {flags}")
        print(f"  origin: {backend.origin}")
    if setting_error:
        raise UsageError(str(setting_error))


def show_passes(args):
    try:
        order, setting_error = ", ".join(pipeline.pass_names()), None
    except ValueError as e:  # a bad IRAX_PASSES: still list the registered passes, then say what is wrong
        order, setting_error = "(none: IRAX_PASSES is not valid)", e
    print("pipeline, in order:", order)
    for name, p in registry.passes().items():
        if isinstance(p, registry.PluginLoadError):
            kind = f"failed to load: {type(p.error).__name__}: {p.error}"
        else:
            kind = f"MLIR pipeline {p.pipeline!r}" if hasattr(p, "pipeline") else "Python"
            kind += f", after {p.after}" if getattr(p, "after", None) else ""
        print(f"  {name}: {kind}; origin: {p.origin}")
    if setting_error:
        raise UsageError(str(setting_error))


def show_ir(args):
    backend = _backend(args.target)
    lowered = _lower(args)
    if args.print_after_all:
        snapshots = lowered.snapshots(backend, iree=False)
    elif args.stage == "all":
        snapshots = lowered.snapshots(backend)
    else:
        snapshots = [(args.stage, lowered.as_text(args.stage, backend))]
    if not args.dump_dir:
        for name, text in snapshots:
            print(f"// ----- {name} -----\n{text}" if len(snapshots) > 1 else text)
        return
    os.makedirs(args.dump_dir, exist_ok=True)
    for i, (name, text) in enumerate(snapshots):
        with open(os.path.join(args.dump_dir, f"{i:02d}-{name}.mlir"), "w") as f:
            f.write(text)
    message = f"wrote {len(snapshots)} files to {args.dump_dir}"
    if args.print_after_all and args.stage in IREE_STAGES + ("all",):
        phase = "vm" if args.stage == "all" else args.stage
        iree_dir = os.path.join(args.dump_dir, "iree")
        compiler.dump_passes(lowered.iree_input(backend), backend.target_backend, backend.compile_flags, phase,
                             iree_dir)
        message += f", and IREE's passes up to {phase} to {iree_dir}"
    print(message, file=sys.stderr)


def compile_program(args):
    backend = _backend(args.target)
    lowered = _lower(args)
    output = args.output or f"{args.function.rpartition(':')[2]}.vmfb"
    source = os.path.splitext(output)[0] + ".mlir"
    text = lowered.iree_input(backend)
    # Compiled under the name of the file beside it: IREE records the source
    # file's name in the program, and this way `iree-compile source` gives
    # the very same bytes.
    vmfb = compiler.compile_module(text, backend.target_backend, backend.compile_flags, source_name=source)
    os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
    with open(source, "w") as f:
        f.write(text)
    with open(output, "wb") as f:
        f.write(vmfb)
    print(f"wrote {output} ({len(vmfb)} bytes, for {backend.name}) and its MLIR {source}", file=sys.stderr)
    if args.print_flags:
        for command in compiler.compile_commands(text, backend.target_backend, backend.compile_flags, source, output):
            print(shlex.join([_tool(command[0]), *command[1:]]))


def run_program(args):
    try:
        with open(args.vmfb, "rb") as f:
            vmfb = f.read()
        backend = registry.get_backend(args.target)
    except (OSError, RuntimeError) as e:
        raise UsageError(f"cannot run {args.vmfb}: {e}") from None
    try:
        module = rt.VmModule.copy_buffer(rt.VmInstance(), vmfb)
    except runtime.IREE_ERRORS as e:
        raise UsageError(f"{args.vmfb} is not an IREE program (from irax compile): {_run_error(str(e), [])}") from None
    if module.lookup_function("main") is None:
        raise UsageError(f"{args.vmfb} has no function @main: it was not compiled by irax")
    declared_in, declared_out = _declaration(module)
    if len(args.input) != len(declared_in):
        raise UsageError(f"{args.vmfb} takes {len(declared_in)} inputs ({', '.join(declared_in) or 'none'}); "
                         f"got {len(args.input)} --input")
    values = [specs.parse_input(text, declared) for text, declared in zip(args.input, declared_in)]
    device = backend.devices()[0]
    try:
        program = device.load(vmfb)
        results, ready = program([device.put(v) for v in values], len(declared_out))
    except runtime.IREE_ERRORS as e:
        raise UsageError(f"{args.vmfb} did not run on {device}: {_run_error(str(e), declared_in)}") from e
    for i, (buffer, declared) in enumerate(zip(results, declared_out)):
        dtype, _ = specs.iree_type(declared)
        print(f"result[{i}] = {Array(buffer, ShapedArray(buffer.shape, dtype), device, ready=ready)!r}")
    inputs = [text if text.startswith("@") else specs.to_iree_input(v) for text, v in zip(args.input, values)]
    command = [_tool("iree-run-module"), f"--module={args.vmfb}", f"--device={backend.driver}", "--function=main",
               *(f"--input={x}" for x in inputs)]
    print(f"the same with IREE's tool: {shlex.join(command)}", file=sys.stderr)


def cache_command(args):
    info = cache.info()
    if args.action == "clear":
        print(f"removed {cache.clear()} programs from {info['dir']}")
        return
    if args.action == "warm":
        warm_library(args, info)
        return
    state = " (disabled: IRAX_DISABLE_CACHE is set)" if config.irax_disable_cache else ""
    print(f"{info['dir']}{state}: {info['entries']} programs, {info['bytes'] / 1e6:.1f} MB")


def warm_library(args, info):
    """`irax cache warm`: build the eager kernel library's modules that the cache lacks."""
    if config.irax_disable_cache:
        raise UsageError("the compile cache is disabled (IRAX_DISABLE_CACHE is set): there is nowhere to keep "
                         "the kernel library")
    backend = _backend(args.target)
    prims = library_primitives()
    if args.ops:
        wanted = args.ops.split(",")
        unknown = [name for name in wanted if name not in prims]
        if unknown:
            raise UsageError(f"the kernel library has no {', '.join(unknown)}; it has {', '.join(prims)}")
        prims = {name: prims[name] for name in wanted}
    start = time.perf_counter()
    kernels = kernel_library.warm(prims.values(), backend, eager.build_module, args.workers, _progress_bar)
    print(f"kernel library for {backend.name}: {kernels} kernels of {len(prims)} primitives, ready in "
          f"{time.perf_counter() - start:.1f} s, in {info['dir']}")


def library_primitives() -> dict:
    """The primitives the kernel library has a module of, by name."""
    every = [*elementwise.unary.values(), *elementwise.binary.values(), elementwise.select,
             elementwise.convert_element_type, *reductions.reduce.values(), reductions.argmax, reductions.argmin,
             linalg.dot_general, shape.transpose]
    return {p.name: p for p in every if p.name in kernel_library.OPS}


def _progress_bar(done, total, width=30):
    filled = width * done // total
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} primitives", end="\n" if done == total else "",
          file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------

def _lower(args):
    """irax.jit(FUNC).lower(*args), or of grad(FUNC, argnums) with --grad."""
    fn = specs.load_function(args.function)
    arguments = [specs.parse_arg(a) for a in args.arg]
    if args.grad is not None:
        fn = irax.grad(fn, argnums=_argnums(args.grad))
    try:
        return irax.jit(fn).lower(*arguments)
    except Exception as e:
        raise UsageError(f"tracing {args.function} failed: {specs.describe(e)}") from e


def _argnums(text):
    try:
        nums = tuple(int(n) for n in text.split(","))
    except ValueError:
        raise UsageError(f"--grad takes argument numbers, e.g. 0 or 0,2; got {text!r}") from None
    return nums[0] if len(nums) == 1 else nums


def _backend(name):
    try:
        return resolve_backend(name)
    except (ValueError, RuntimeError) as e:
        raise UsageError(str(e)) from None


def _declaration(module):
    """The tensor types `@main` takes and returns, from IREE's ABI reflection:
    'sync func @main(%input0: tensor<3xf32>) -> (%output0: tensor<f32>)'."""
    declaration = module.lookup_function("main").reflection.get("iree.abi.declaration", "")
    inputs, _, outputs = declaration.partition("->")
    return re.findall(r"tensor<([^>]*)>", inputs), re.findall(r"tensor<([^>]*)>", outputs)


# What IREE's runtime says when a program cannot run, and what to tell the user.
_RUN_ERRORS = (
    (r'HAL device .* not found or unavailable: #hal\.device\.target<"([\w-]+)"',
     "it was compiled for IREE device {0}; run it with --target naming a backend with that device (irax backends)"),
    (r"INVALID_ARGUMENT; (.*?); while", "{0}; it takes {inputs}"),
    (r"INVALID_ARGUMENT; (.*)", "{0}"),
)


def _run_error(message, declared_in):
    for pattern, advice in _RUN_ERRORS:
        if match := re.search(pattern, message):
            return advice.format(*match.groups(), inputs=", ".join(declared_in))
    return message.strip().splitlines()[0]


def _tool(name):
    """How to call IREE's tool `name` from a shell: by name when that finds
    the one beside this Python (the venv's), else by its path."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(beside) or shutil.which(name) == beside:
        return name
    return beside
