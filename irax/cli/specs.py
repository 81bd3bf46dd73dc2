"""What a user types on the `irax` command line, turned into Python values.

    load_function("model.py:loss")           # or "package.module:loss"
    parse_arg("f32[2,3]")                    # np.zeros((2, 3), float32): only its shape and dtype matter
    parse_arg('{"w": "f32[3,2]", "b": 0.5}') # a pytree of them; numbers stay Python numbers
    parse_input("1,2,3", "3xf32")            # a value for `irax run`, typed by the program
    parse_input("f32[3]=1,2,3")              #   or typed here; "@x.npy" loads a file

Anything wrong raises UsageError, which `irax` prints as one line.
"""
import importlib
import importlib.util
import json
import os
import re
import sys
import sysconfig
import traceback

import numpy as np

from irax.frontend import dtypes


class UsageError(Exception):
    """Something on the command line (or in the user's module) is wrong; the
    message says what and what to do."""


# "f32", "float32": every name irax knows a dtype by.
_DTYPES = {**dtypes.SHORT_NAMES, **{d.name: d for d in dtypes.SUPPORTED}}
# MLIR element type -> dtype. Integers are signless there; iterating in reverse
# lets int8 overwrite uint8 for "i8", so signed wins.
_FROM_MLIR = {dtypes.to_mlir_name(d): d for d in reversed(dtypes.SUPPORTED)}
_SPEC = re.compile(r"(\w+)\[([\d,\s]*)\]")
_SPEC_HELP = "write dtype[shape], e.g. f32[2,3] or i32[] (dtypes: " + ", ".join(dtypes.SHORT_NAMES) + ")"


def load_function(target: str):
    """The function named by `FILE.py:FUNC` or `package.module:FUNC` (FUNC may be dotted)."""
    where, _, name = target.rpartition(":")
    if not where or not name:
        raise UsageError(f"expected FILE.py:FUNC or package.module:FUNC, got {target!r}")
    module = _import(where)
    value = module
    for part in name.split("."):
        if not hasattr(value, part):
            defined = sorted(n for n, v in vars(module).items()
                             if callable(v) and getattr(v, "__module__", None) == module.__name__)
            raise UsageError(f"{where} has no function {name!r}; it defines: {', '.join(defined) or 'none'}")
        value = getattr(value, part)
    if not callable(value):
        raise UsageError(f"{where}:{name} is a {type(value).__name__}, not a function")
    return value


def _import(where: str):
    is_file = where.endswith(".py") or os.sep in where
    if is_file and not os.path.isfile(where):
        raise UsageError(f"no such file: {where}")
    try:
        if is_file:
            # Its folder first on sys.path, as `python FILE.py` does, so its own imports work.
            sys.path.insert(0, os.path.dirname(os.path.abspath(where)))
            name = os.path.splitext(os.path.basename(where))[0]
            spec = importlib.util.spec_from_file_location(name, where)
            module = sys.modules[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        sys.path.insert(0, os.getcwd())  # as `python -m` does
        return importlib.import_module(where)
    except ModuleNotFoundError as e:
        if e.name and where.startswith(e.name):
            raise UsageError(f"cannot import {where!r}: no module named {e.name!r} "
                             "(run irax where Python finds it, or give FILE.py:FUNC)") from e
        raise UsageError(f"importing {where} failed: {describe(e)}") from e
    except Exception as e:
        raise UsageError(f"importing {where} failed: {describe(e)}") from e


# Where code that is not the user's lives: irax, Python, installed packages.
_NOT_USER_CODE = ("<", os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                  *{sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")})


def describe(error: BaseException) -> str:
    """`Type: first line of the message (file:line)`, the line being where
    the user's code went wrong: the last frame of the traceback in it."""
    if isinstance(error, SyntaxError) and error.filename:  # its str() has the place already, oddly spelled
        return f"{type(error).__name__}: {error.msg} ({_short(error.filename)}:{error.lineno})"
    message = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {message[0]}" if message else type(error).__name__
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith(_NOT_USER_CODE)]
    if frames:
        return f"{text} ({_short(frames[-1].filename)}:{frames[-1].lineno})"
    return text


def _short(path):
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def parse_arg(text: str):
    """An example argument: `dtype[shape]` gives zeros of that type; JSON
    gives a pytree whose strings are such specs and whose numbers stay numbers."""
    if _SPEC.fullmatch(text.strip()):
        return _zeros(text.strip(), text)
    try:
        tree = json.loads(text)
    except json.JSONDecodeError:
        raise UsageError(f"bad argument {text!r}: {_SPEC_HELP}, a number, or JSON of those") from None
    return _map_strings(tree, lambda spec: _zeros(spec, text))


def _map_strings(tree, fn):
    if isinstance(tree, str):
        return fn(tree)
    if isinstance(tree, dict):
        return {k: _map_strings(v, fn) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_map_strings(v, fn) for v in tree]
    return tree


def parse_spec(spec: str, context: str):
    """(dtype, shape) of `dtype[shape]`."""
    match = _SPEC.fullmatch(spec.strip())
    if match is None:
        raise UsageError(f"bad argument {context!r}: {spec!r} is not a type; {_SPEC_HELP}")
    name, dims = match.groups()
    if name not in _DTYPES:
        raise UsageError(f"bad argument {context!r}: unknown dtype {name!r}; {_SPEC_HELP}")
    return _DTYPES[name], tuple(int(d) for d in dims.split(",") if d.strip())


def _zeros(spec, context):
    dtype, shape = parse_spec(spec, context)
    return np.zeros(shape, dtype)


def parse_input(text: str, declared: str | None = None) -> np.ndarray:
    """A value for `irax run`: `@x.npy`, `dtype[shape]=v1,v2,...`, or just
    `v1,v2,...` with the type the program declares (`declared`, IREE's
    spelling: "2x3xf32"). One value fills the whole shape."""
    if text.startswith("@"):
        try:
            array = np.load(text[1:])
        except (OSError, ValueError) as e:
            raise UsageError(f"cannot read input {text!r}: {e}") from None
        return array if declared is None else array.astype(iree_type(declared)[0])
    spec, sep, values = text.rpartition("=")
    if sep:
        dtype, shape = parse_spec(spec, text)
    elif declared is None:
        raise UsageError(f"input {text!r} needs a type here: write dtype[shape]=values, e.g. f32[3]=1,2,3")
    else:
        dtype, shape = iree_type(declared)
        if None in shape:
            raise UsageError(f"input {text!r}: the program takes {declared} (a dynamic size); "
                             "give the type too, e.g. f32[3]=1,2,3")
    tokens = [t for t in re.split(r"[,\s]+", values.strip()) if t]
    kind = np.float64 if dtypes.is_float(dtype) or dtypes.is_bool(dtype) else np.int64
    try:
        flat = np.array(tokens, dtype=kind).astype(dtype)
    except ValueError as e:
        raise UsageError(f"bad input {text!r}: {e}") from None
    size = int(np.prod(shape))
    if flat.size not in (1, size):
        raise UsageError(f"input {text!r} has {flat.size} values; its type {spec or declared} needs {size} (or one)")
    return np.broadcast_to(flat, (size,)).reshape(shape).copy()


def iree_type(declared: str):
    """(dtype, shape) of IREE's `2x?xf32`; a dynamic size is None."""
    *dims, element = declared.split("x")
    return _FROM_MLIR[element], tuple(None if d == "?" else int(d) for d in dims)


# iree-run-module's element types where they are not MLIR's: it reads bools as
# bytes, and takes signedness from the type.
_IREE_INPUT_TYPES = {"bool": "i8", "uint8": "ui8", "uint16": "ui16", "uint32": "ui32", "uint64": "ui64"}


def to_iree_input(value: np.ndarray) -> str:
    """`value` in iree-run-module's `--input=` syntax: `2x3xf32=1,2,3,4,5,6`."""
    dims = "".join(f"{d}x" for d in value.shape)
    element = _IREE_INPUT_TYPES.get(value.dtype.name) or dtypes.to_mlir_name(value.dtype)
    numbers = value.reshape(-1).astype(np.int8 if dtypes.is_bool(value.dtype) else value.dtype)
    if numbers.size and (numbers == numbers[0]).all():
        numbers = numbers[:1]  # one value fills the shape, as here
    return f"{dims}{element}={','.join(map(str, numbers))}"  # str of a NumPy scalar: its shortest exact form
