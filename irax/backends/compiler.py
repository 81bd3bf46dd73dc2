"""Turn MLIR text into an IREE program (a VM flatbuffer, `.vmfb` bytes).

We call IREE's compiler library in process through `iree.compiler.api`
instead of running the `iree-compile` tool: same work, no subprocess, and we
get the diagnostics back as Python strings. A compile still costs ~0.3-0.5 s,
which is why everything goes through the cache in cache.py.

    vmfb = compile_module(mlir_text, "llvm-cpu", ["--iree-llvmcpu-target-cpu=host"])
    at_input, at_flow = compile_to_phases(mlir_text, "llvm-cpu", [...], ["input", "flow"])  # IREE's IR midway
    dump_passes(mlir_text, "llvm-cpu", [...], "hal", "dump/")       # after each IREE pass, one file each

One compile is one throwaway `Session` (they cost under a millisecond), so no
compiler state outlives a call and nothing is left for interpreter exit.
"""
import ctypes
import functools
import os
import subprocess
import sys
import tempfile
from typing import Sequence

from iree.compiler.api import Invocation, Output, Session, Source
from iree.compiler.api import ctypes_dl
from iree.compiler.tools import binaries

from irax.backends import vm_branches

# The Python bindings have no way to capture diagnostics (they only offer
# "print them to stderr"), so we bind the C API's callback hook ourselves on
# the library the bindings already loaded. Severity numbers are from
# iree/compiler/embedding_api.h.
_DIAGNOSTIC_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p)
_SEVERITIES = {0: "note", 1: "warning", 2: "error", 3: "remark"}
_dylib = ctypes_dl._dylib
_dylib.ireeCompilerInvocationEnableCallbackDiagnostics.argtypes = [
    ctypes.c_void_p, ctypes.c_int, _DIAGNOSTIC_CALLBACK, ctypes.c_void_p]
_dylib.ireeCompilerInvocationEnableCallbackDiagnostics.restype = None
_dylib.ireeCompilerGetRevision.restype = ctypes.c_char_p
_SET_PHASE = (_dylib.ireeCompilerInvocationSetCompileFromPhase, _dylib.ireeCompilerInvocationSetCompileToPhase)
for _set_phase in _SET_PHASE:
    _set_phase.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    _set_phase.restype = None

SOURCE_NAME = "irax_module.mlir"  # what diagnostics call the module irax hands to IREE

# The calling convention of every irax program: `@main(inputs..., wait
# fence, signal fence)` queues its work after `wait` and returns at once,
# its results to be ready when `signal` is (runtime.Program: async dispatch).
ABI_FLAGS = ("--iree-execution-model=async-external", "--iree-opt-const-expr-hoisting=false")

# A dispatch may use at most 32 buffer bindings (IREE's HAL). IREE 3.13 gives
# each result a dispatch writes into one transient buffer a binding of its
# own, so a dispatch computing many scalars for a later one (the gradient of
# a scalar function of hundreds of ops) went over it and failed at load,
# "binding count 63 > 32". Fusing the writable bindings of one buffer into
# one, as IREE already does for the read-only ones, passes each part's
# offset instead. The option is process-wide (an LLVM command-line option
# the in-process Session does not take), so it is set once for this process
# below: every compile in it, irax's or not, uses it.
BINDING_FLAGS = ("--iree-stream-resource-alias-mutable-bindings=true",)
ctypes_dl._initializeGlobalCL("irax", *BINDING_FLAGS)

# iree-compile options that are process-wide: the in-process Session does not
# take them, so a compile that needs one runs the iree-compile tool instead.
PROCESS_WIDE = ("--iree-hal-memoization",)


class CompileError(RuntimeError):
    """IREE rejected a module irax generated. irax should only ever emit
    valid MLIR, so this is always an irax bug, never the user's."""


@functools.cache
def iree_version() -> str:
    """The loaded compiler's version and git revision, e.g.
    '3.13.0rc20261016 @ 89ece87b...'. Part of every cache key: a different
    compiler may produce different (or incompatible) programs."""
    return _dylib.ireeCompilerGetRevision().decode()


def compile_command_line(target_backend: str, flags: Sequence[str] = ()) -> list[str]:
    """The `iree-compile` command doing the same compile as `compile_module`
    (append `input.mlir -o output.vmfb`). compile_module uses exactly these
    flags, so this is how to reproduce a compile outside irax; for a module
    with control flow, up to `--compile-to=vm`, then vm_branches.py's fix,
    then `--compile-from=vm` (compile_module says why; compile_commands
    gives all three).

    IREE 3.13 takes backend names ("llvm-cpu", "vulkan-spirv", "cuda", "rocm")
    in --iree-hal-target-backends; --iree-hal-target-device wants *device*
    names ("local", "vulkan", "cuda", "hip") instead.
    """
    return ["iree-compile", f"--iree-hal-target-backends={target_backend}", *ABI_FLAGS, *BINDING_FLAGS, *flags]


def compile_module(mlir_text: str, target_backend: str, flags: Sequence[str] = (),
                   source_name: str = SOURCE_NAME) -> bytes:
    """Compile MLIR text for one IREE target backend; returns the .vmfb bytes.

    `source_name` is the file name IREE records in the program's debug
    information: compiling a file `x.mlir` with iree-compile gives the same
    bytes only if it is the same name.
    Raises CompileError with IREE's diagnostics if the module is rejected.
    Thread safe, and compiles in different threads run at once: each is a
    Session of its own, and IREE releases the GIL while it works.

    A module with control flow stops at IREE's `vm` phase on the way, for
    vm_branches.py's fix of IREE's register allocator (a null ref at run
    time); one without has no branches to fix. The stop costs no time
    (measured: a small while_loop 0.40 s both ways, vmapped BFGS 6.4 s
    straight, 5.0 s with the stop).
    """
    if not _has_control_flow(mlir_text):
        return _compile(mlir_text, target_backend, flags, source_name, (None, None), Invocation.output_vm_bytecode)
    vm_text = _compile(mlir_text, target_backend, flags, source_name, (None, "vm"), Invocation.output_ir).decode()
    return _compile(vm_branches.distinct_branch_refs(vm_text), target_backend, flags, _vm_name(source_name),
                    ("vm", None), Invocation.output_vm_bytecode)


def _has_control_flow(mlir_text: str) -> bool:
    return "scf." in mlir_text  # (a module merely naming scf. takes the two steps too: the same program)


def _vm_name(source_name: str) -> str:
    """The name of a two-step compile's `vm`-phase text (compile_commands' file)."""
    return os.path.splitext(source_name)[0] + ".vm.mlir"


def compile_commands(mlir_text: str, target_backend: str, flags: Sequence[str], source: str,
                     output: str) -> list[list[str]]:
    """The commands that make, from file `source` holding `mlir_text`, the
    very program `compile_module(..., source_name=source)` makes, written to
    `output`: one iree-compile, or for a module with control flow three
    steps, iree-compile to the `vm` phase, vm_branches.py's fix as
    `python -m irax.backends.vm_branches`, and iree-compile from there."""
    command = compile_command_line(target_backend, flags)
    if not _has_control_flow(mlir_text):
        return [[*command, source, "-o", output]]
    vm_text = _vm_name(source)
    return [[*command, "--compile-to=vm", source, "-o", vm_text],
            [sys.executable, "-m", "irax.backends.vm_branches", vm_text],
            [*command, "--compile-from=vm", vm_text, "-o", output]]


def compile_to_phases(mlir_text: str, target_backend: str, flags: Sequence[str], phases: Sequence[str]) -> list[str]:
    """The module as IREE has it at the end of each compilation phase in
    `phases` (iree-compile's `--compile-to=`: "input", "flow", "stream",
    "hal", "vm", ..., in IREE's order). Each is compiled from the one before
    (`--compile-from=`), so all of them together cost one compile."""
    texts, previous = [], None
    for phase in phases:
        mlir_text = _compile(mlir_text, target_backend, flags, SOURCE_NAME, (previous, phase),
                             Invocation.output_ir).decode()
        texts.append(mlir_text)
        previous = phase
    return texts


def _compile(mlir_text, target_backend, flags, source_name, phases, write) -> bytes:
    """One throwaway Session: parse `mlir_text`, run the pipeline (between
    `phases` = (from, to) where given), and return what `write(invocation,
    output)` wrote."""
    cli_flags = compile_command_line(target_backend, flags)[1:]
    if any(flag.split("=")[0] in PROCESS_WIDE for flag in flags):
        return _compile_with_tool(mlir_text, target_backend, cli_flags, source_name, phases)
    diagnostics = []

    @_DIAGNOSTIC_CALLBACK
    def on_diagnostic(severity, message, size, _user_data):
        text = ctypes.string_at(message, size).decode(errors="replace")
        diagnostics.append(f"{_SEVERITIES.get(severity, 'diagnostic')}: {text}")

    with Session() as session:
        try:
            session.set_flags(*(flag for flag in cli_flags if flag not in BINDING_FLAGS))
        except ValueError as e:  # a flag iree-compile does not know
            diagnostics.append(str(e))
            raise CompileError(_error_message(target_backend, cli_flags, diagnostics, source_name)) from None
        with session.invocation() as invocation:
            _dylib.ireeCompilerInvocationEnableCallbackDiagnostics(invocation._inv_p, 0, on_diagnostic, None)
            for set_phase, phase in zip(_SET_PHASE, phases):
                if phase is not None:
                    set_phase(invocation._inv_p, phase.encode())
            source = Source.wrap_buffer(session, mlir_text.encode(), buffer_name=source_name)
            if not (invocation.parse_source(source) and invocation.execute()):
                raise CompileError(_error_message(target_backend, cli_flags, diagnostics, source_name))
            with Output.open_membuffer() as output:
                write(invocation, output)
                return bytes(output.map_memory())


def _compile_with_tool(mlir_text, target_backend, cli_flags, source_name, phases) -> bytes:
    """`_compile` by the iree-compile tool, on a file called `source_name`
    (the name IREE records in the program, as in process)."""
    start, stop = phases
    phase_flags = ([f"--compile-from={start}"] if start else []) + ([f"--compile-to={stop}"] if stop else [])
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, source_name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(mlir_text)
        done = subprocess.run([binaries.find_tool("iree-compile"), *cli_flags, *phase_flags, source_name, "-o", "-"],
                              cwd=directory, capture_output=True)
    if done.returncode:
        raise CompileError(_error_message(target_backend, cli_flags, [done.stderr.decode().strip()], source_name))
    return done.stdout


def _error_message(target_backend: str, cli_flags: list[str], diagnostics: list[str], source_name: str) -> str:
    details = "\n".join(diagnostics) or "(IREE gave no diagnostics)"
    return (
        f"irax failed to compile a module for IREE target {target_backend!r}.\n"
        f"IREE ({iree_version()}) said:\n{details}\n"
        f"To reproduce: iree-compile {' '.join(cli_flags)} {source_name}\n"
        f"where {source_name} is the module irax made; of a jitted f, what `f.lower(*args).as_text('optimized')`\n"
        "or `irax ir FILE.py:f --arg TYPE ... --stage optimized` prints (docs/debugging.md). If\n"
        "`irax.jit(f, passes=['default', '-NAME'])` compiles, irax's pass NAME (`irax passes` lists them)\n"
        "made the module IREE rejects, and leaving it out is the way around until it is fixed.\n"
        "This is a bug in irax, not in your code; please report it with the message above."
    )


def dump_passes(mlir_text: str, target_backend: str, flags: Sequence[str], phase: str, directory: str) -> None:
    """Compile up to `phase` with MLIR's IR printer on: the module after
    each IREE pass that changed it, one file each, in a tree under
    `directory`; from the hal phase on, also each dispatch's source, LLVM IR
    and assembly (or the target's equivalent) in `directory/executables`.
    Through the iree-compile tool: the printer's flags are process-wide,
    which the in-process Session does not accept."""
    cli_flags = compile_command_line(target_backend, flags)[1:]
    dumps = ["--mlir-print-ir-after-all", "--mlir-print-ir-after-change", f"--mlir-print-ir-tree-dir={directory}",
             f"--iree-hal-dump-executable-files-to={os.path.join(directory, 'executables')}"]
    command = [binaries.find_tool("iree-compile"), *cli_flags, f"--compile-to={phase}", *dumps, "-", "-o", os.devnull]
    done = subprocess.run(command, input=mlir_text, capture_output=True, text=True)
    if done.returncode:
        raise CompileError(_error_message(target_backend, cli_flags, [done.stderr.strip()], SOURCE_NAME))
