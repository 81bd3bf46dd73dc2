"""Turn MLIR text into an IREE program (a VM flatbuffer, `.vmfb` bytes).

We call IREE's compiler library in process through `iree.compiler.api`
instead of running the `iree-compile` tool: same work, no subprocess, and we
get the diagnostics back as Python strings. A compile still costs ~0.3-0.5 s,
which is why everything goes through the cache in cache.py.

    vmfb = compile_module(mlir_text, "llvm-cpu", ["--iree-llvmcpu-target-cpu=host"])

One compile is one throwaway `Session` (they cost under a millisecond), so no
compiler state outlives a call and nothing is left for interpreter exit.
"""
import ctypes
import functools
import threading
from typing import Sequence

from iree.compiler.api import Output, Session, Source
from iree.compiler.api import ctypes_dl

_lock = threading.Lock()

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
    flags, so this is how to reproduce a compile outside irax.

    IREE 3.13 takes backend names ("llvm-cpu", "vulkan-spirv", "cuda", "rocm")
    in --iree-hal-target-backends; --iree-hal-target-device wants *device*
    names ("local", "vulkan", "cuda", "hip") instead.
    """
    return ["iree-compile", f"--iree-hal-target-backends={target_backend}", *flags]


def compile_module(mlir_text: str, target_backend: str, flags: Sequence[str] = ()) -> bytes:
    """Compile MLIR text for one IREE target backend; returns the .vmfb bytes.

    Raises CompileError with IREE's diagnostics if the module is rejected.
    Thread safe: compiles are serialized by a lock (each one already uses
    several cores inside IREE).
    """
    cli_flags = compile_command_line(target_backend, flags)[1:]
    diagnostics = []

    @_DIAGNOSTIC_CALLBACK
    def on_diagnostic(severity, message, size, _user_data):
        text = ctypes.string_at(message, size).decode(errors="replace")
        diagnostics.append(f"{_SEVERITIES.get(severity, 'diagnostic')}: {text}")

    with _lock, Session() as session:
        try:
            session.set_flags(*cli_flags)
        except ValueError as e:  # a flag iree-compile does not know
            diagnostics.append(str(e))
            raise CompileError(_error_message(target_backend, cli_flags, diagnostics)) from None
        with session.invocation() as invocation:
            _dylib.ireeCompilerInvocationEnableCallbackDiagnostics(invocation._inv_p, 0, on_diagnostic, None)
            source = Source.wrap_buffer(session, mlir_text.encode(), buffer_name="irax_module.mlir")
            if not (invocation.parse_source(source) and invocation.execute()):
                raise CompileError(_error_message(target_backend, cli_flags, diagnostics))
            with Output.open_membuffer() as output:
                invocation.output_vm_bytecode(output)
                return bytes(output.map_memory())


def _error_message(target_backend: str, cli_flags: list[str], diagnostics: list[str]) -> str:
    details = "\n".join(diagnostics) or "(IREE gave no diagnostics)"
    return (
        f"irax failed to compile a module for IREE target {target_backend!r}.\n"
        f"IREE ({iree_version()}) said:\n{details}\n"
        f"To reproduce: iree-compile {' '.join(cli_flags)} irax_module.mlir\n"
        "This is a bug in irax, not in your code; please report it with the message above."
    )
