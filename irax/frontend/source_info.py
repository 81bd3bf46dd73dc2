"""The user's source line of a traced op, kept in its MLIR location while
asked for (`recording()`): what `irax.ad_checkpoint.print_saved_residuals`
names a value by (`f32[5] output of sin from model.py:6:9 (g)`).

JAX keeps a traceback on every equation; irax records nothing by default,
since finding the user's frame costs a stack walk per op. While recording,
an op traced by a primitive gets the location

    loc("sin"("model.py:6:9 (g)"))

(the primitive's name, after irax.named_scope's scopes as without
recording; inside it, the user's line as JAX's source_info_util.summarize
writes it), which copies of the op (autodiff's clones) keep. `describe`
reads the two back.
"""
import contextlib
import functools
import os
import sys
import sysconfig
import threading
from typing import Iterator

from iree.compiler import ir


class _Recording(threading.local):
    on: bool = False  # read from the class until a thread records


_recording = _Recording()


def recording_now() -> bool:
    return _recording.on


@contextlib.contextmanager
def recording() -> Iterator[None]:
    """Ops traced in the block carry their user source line in their location."""
    outer = _recording.on
    _recording.on = True
    try:
        yield
    finally:
        _recording.on = outer


# Not the user's code: irax itself, and Python's standard library (as JAX
# excludes its own package and the standard library: contextlib, functools).
_NOT_USER = tuple({os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
                   os.path.abspath(sysconfig.get_path("stdlib")) + os.sep,
                   os.path.dirname(os.path.abspath(contextlib.__file__)) + os.sep})


@functools.lru_cache(maxsize=None)
def is_user_file(filename: str) -> bool:
    return not os.path.abspath(filename).startswith(_NOT_USER)


def _summary(frame) -> str:
    """'file:line:column (function)', JAX's summary of a frame (its column
    0-based, left out where 0; the function's qualified name)."""
    code = frame.f_code
    positions = list(code.co_positions())
    line, _, column, _ = positions[frame.f_lasti // 2] if frame.f_lasti >= 0 else (frame.f_lineno, 0, 0, 0)
    line = frame.f_lineno if line is None else line
    where = f"{code.co_filename}:{line}:{column}" if column else f"{code.co_filename}:{line}"
    return f"{where} ({code.co_qualname})"


def user_line() -> str:
    """The summary of the innermost frame of user code, or 'unknown'."""
    frame = sys._getframe(1)
    while frame is not None and not is_user_file(frame.f_code.co_filename):
        frame = frame.f_back
    return "unknown" if frame is None else _summary(frame)


def op_location(name: str) -> ir.Location:
    """The location of ops made now by the primitive `name` (with its
    scopes): the name, and while recording the user's line inside it."""
    if not _recording.on:
        return ir.Location.name(name)
    return ir.Location.name(name, childLoc=ir.Location.name(user_line()))


def describe(location) -> tuple[str, str] | None:
    """(primitive name, user line) that a recorded op's location holds, else None."""
    inner = getattr(location, "child_loc", None)
    if inner is None or not hasattr(inner, "name_str"):
        return None
    return location.name_str.rsplit("/", 1)[-1], inner.name_str
