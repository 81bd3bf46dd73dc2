"""`repr` of an array, worded as JAX words it (users compare the two)."""
import numpy as np

PREFIX = "Array("


def array_repr(value: np.ndarray, weak_type: bool) -> str:
    """`Array([1, 2], dtype=int32)`; empty arrays show their shape instead of data;
    the dtype moves to its own line when the last line of data is too long."""
    dtype_part = f"dtype={value.dtype.name}" + (", weak_type=True" if weak_type else "")
    width = np.get_printoptions()["linewidth"]
    if value.size == 0:
        body = f"[], shape={value.shape}"
    else:
        body = np.array2string(value, prefix=PREFIX, suffix=",", separator=", ", max_line_width=width)
    last_line = len(body) - body.rfind("\n") + 1
    gap = " " if last_line + len(dtype_part) + 2 <= width else " " * len(PREFIX)
    return f"{PREFIX}{body},{gap}{dtype_part})"
