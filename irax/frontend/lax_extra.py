"""`jax.lax` operations built from irax's others: `mulhi`, `approx_max_k` /
`approx_min_k`, `ragged_dot` / `ragged_dot_general`, `fft` with `FftType`
and `platform_dependent`.

- mulhi(x, y): the high N bits of the 2N-bit product of N-bit integers, by
  schoolbook multiplication of N/2-bit halves in the unsigned dtype of the
  width (no wider dtype needed, so int32 works without 64-bit mode); a
  signed product's high half is the unsigned one less (x < 0) y and (y < 0) x.
- approx_max_k / approx_min_k: exact top-k, which is what JAX's CPU
  backend computes (recall 1 is a valid approximation); with
  aggregate_to_topk=False, JAX's CPU returns the whole sorted operand.
- ragged_dot(lhs[m, k], rhs[g, k, n], group_sizes[g]): the rows of lhs in
  consecutive groups of group_sizes[i] rows, each times rhs[i]; rows past
  the groups are zeros. Computed as a masked einsum
  out[m, n] = Σ_g [row m in group g] lhs[m, k] rhs[g, k, n].
- fft(x, fft_type, fft_lengths): the n-dimensional FFT of x's last
  len(fft_lengths) axes (irax.numpy.fft).
- platform_dependent: the branch for the platform of irax's default device.
- pbroadcast(x, axis_name, source): device `source`'s x on every device,
  as JAX defines it: psum(where(axis_index(axis_name) == source, x, 0)).
- composite(decomposition, name, version): the decomposition, as a compiler
  that knows no composite of that name compiles it (IREE knows none). It
  keeps JAX's other semantics: its ops carry `name` in their locations, and
  differentiating it raises JAX's ValueError (a composite has no JVP rule;
  custom_jvp gives it one).
"""
import enum
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from irax import tree_util
from irax.frontend import collectives, dtypes
from irax.frontend.custom_derivatives import no_derivative
from irax.frontend.jit import jit
from irax.frontend.lax import stop_gradient
from irax.frontend.lax_elementwise import _check_kind, _check_ranks, _operands
from irax.frontend.lax_elementwise import max as lax_max
from irax.frontend.lax_elementwise import min as lax_min
from irax.frontend.lax_sorting import top_k
from irax.frontend.numpy import fft as jfft
from irax.frontend.numpy import ufuncs
from irax.frontend.numpy import linalg as jlinalg
from irax.frontend.name_stack import named_scope
from irax.frontend.numpy.util import asarray
from irax.plugins.registry import get_default_device
from irax.typing import Array, ArrayLike

__all__ = ["FftType", "RaggedDotDimensionNumbers", "approx_max_k", "approx_min_k", "clamp", "composite", "fft", "mulhi",
           "pbroadcast", "platform_dependent", "ragged_dot", "ragged_dot_general"]


# --- clamp ---------------------------------------------------------------------

def clamp(min: ArrayLike, x: ArrayLike, max: ArrayLike) -> Array:  # noqa: A002 (lax's names)
    """min(max(x, min), max), as `jax.lax.clamp`: min and max are 0-d or x's
    shape. Its derivative is JAX's: x's strictly between the bounds, min's
    where x < min < max, max's where max < x, none at a tie (through lax.max
    and lax.min a tie split it, 1/2 to each). Jitted: eagerly one program,
    not the rule's ten ops."""
    lo, x, hi = _operands("clamp", min, x, max)
    for bound in (lo, hi):
        if bound.ndim and bound.shape != x.shape:
            raise TypeError(f"clamp requires min.shape == operand.shape or min.shape == (), got min.shape={bound.shape}, "
                            f"operand.shape={x.shape}")
    return _clamp(lo, x, hi)


@jit
def _clamp(lo, x, hi):
    value = lax_min(lax_max(x, lo), hi)
    lo_taken = ufuncs.logical_and(ufuncs.less(x, lo), ufuncs.less(lo, hi))
    inside = ufuncs.logical_and(ufuncs.greater(x, lo), ufuncs.less(x, hi))
    bound = ufuncs.where(lo_taken, lo, ufuncs.where(ufuncs.less(hi, x), hi, stop_gradient(value)))
    return ufuncs.where(inside, x, bound)


# --- pbroadcast ----------------------------------------------------------------

def pbroadcast(x: Any, axis_name: Any, source: int) -> Any:
    """The `x` (a pytree of arrays) of device `source` on every device of
    `axis_name` (jax.lax.pbroadcast): its derivative is that of the psum it is."""
    on_source = collectives.axis_index(axis_name) == source
    return tree_util.tree_map(lambda x: collectives.psum(ufuncs.where(on_source, x, 0), axis_name), x)


# --- mulhi ---------------------------------------------------------------------

def mulhi(x: ArrayLike, y: ArrayLike, /) -> Array:
    """The most significant N bits of the 2N-bit product of N-bit integers
    x and y, elementwise (module docstring)."""
    x, y = asarray(x), asarray(y)
    if x.dtype != y.dtype:  # (no jnp.mulhi to point to, unlike _operands' message)
        raise TypeError(f"lax.mulhi requires arguments to have the same dtypes, got {x.dtype.name}, {y.dtype.name}.")
    _check_ranks("mulhi", (x, y))
    _check_kind("mulhi", x, "iu", " at position 0")
    dtype = x.dtype
    bits = 8 * dtype.itemsize
    unsigned = np.dtype(f"u{dtype.itemsize}")
    a, b = x.astype(unsigned), y.astype(unsigned)
    half, mask = unsigned.type(bits // 2), unsigned.type((1 << (bits // 2)) - 1)
    a0, a1, b0, b1 = a & mask, a >> half, b & mask, b >> half
    t = a1 * b0 + ((a0 * b0) >> half)  # each partial product and carry fits in N bits
    u = a0 * b1 + (t & mask)
    high = a1 * b1 + (t >> half) + (u >> half)
    if dtype != unsigned:  # two's complement: x = a - 2^N [x < 0], so the high half loses b [x < 0] + a [y < 0]
        high = (high - (x < 0).astype(unsigned) * b - (y < 0).astype(unsigned) * a).astype(dtype)
    return high


# --- approx_max_k / approx_min_k -------------------------------------------------

def _approx_top_k(operand, k, reduction_dimension, aggregate_to_topk, largest):
    x = asarray(operand)
    if not dtypes.is_float(x.dtype):
        raise ValueError("operand must be a floating type")
    if not -x.ndim <= reduction_dimension < x.ndim:
        raise IndexError("list index out of range")
    axis = reduction_dimension % x.ndim
    size = x.shape[axis]
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    if k > size:
        raise ValueError(f"k must be smaller than the size of reduction_dim {size}, got {k}")
    k = k if aggregate_to_topk else size
    if largest:
        return top_k(x, k, axis=axis)
    values, indices = top_k(-x, k, axis=axis)
    return [-values, indices]


def approx_max_k(operand: ArrayLike, k: int, reduction_dimension: int = -1, recall_target: float = 0.95,
                 reduction_input_size_override: int = -1, aggregate_to_topk: bool = True) -> tuple[Array, Array]:
    """[values, indices] of the k largest entries along `reduction_dimension`,
    as jax.lax.approx_max_k on CPU: exact (the recall target is met)."""
    return _approx_top_k(operand, k, reduction_dimension, aggregate_to_topk, largest=True)


def approx_min_k(operand: ArrayLike, k: int, reduction_dimension: int = -1, recall_target: float = 0.95,
                 reduction_input_size_override: int = -1, aggregate_to_topk: bool = True) -> tuple[Array, Array]:
    """[values, indices] of the k smallest entries along `reduction_dimension`,
    as jax.lax.approx_min_k on CPU: exact."""
    return _approx_top_k(operand, k, reduction_dimension, aggregate_to_topk, largest=False)


# --- ragged_dot --------------------------------------------------------------------

class RaggedDotDimensionNumbers:
    """jax.lax.RaggedDotDimensionNumbers: the dot's ((lhs_contracting,
    rhs_contracting), (lhs_batch, rhs_batch)) dimensions, the lhs dimension
    cut into groups, and the rhs dimension indexing the groups."""

    def __init__(self, dot_dimension_numbers, lhs_ragged_dimensions, rhs_group_dimensions):
        self.dot_dimension_numbers = tuple(tuple(map(tuple, t)) for t in dot_dimension_numbers)
        self.lhs_ragged_dimensions = tuple(lhs_ragged_dimensions)
        self.rhs_group_dimensions = tuple(rhs_group_dimensions)

    def __repr__(self):
        return (f"RaggedDotDimensionNumbers(dot_dimension_numbers={self.dot_dimension_numbers}, "
                f"lhs_ragged_dimensions={self.lhs_ragged_dimensions}, "
                f"rhs_group_dimensions={self.rhs_group_dimensions})")

    def __eq__(self, other):
        return isinstance(other, RaggedDotDimensionNumbers) and repr(self) == repr(other)

    def __hash__(self):
        return hash(repr(self))


_BASIC = RaggedDotDimensionNumbers((([1], [1]), ([], [])), [0], [0])


def _group_mask(group_sizes, n_rows):
    """mask[..., g, m]: row m lies in group g (groups are consecutive runs of rows)."""
    ends = group_sizes.cumsum(axis=-1)
    starts = ends - group_sizes
    rows = asarray(np.arange(n_rows, dtype=np.int32))
    return (rows >= starts[..., :, None]) & (rows < ends[..., :, None])


def ragged_dot(lhs: ArrayLike, rhs: ArrayLike, group_sizes: ArrayLike, precision: Any = None,
               preferred_element_type: Any = None, group_offset: ArrayLike | None = None) -> Array:
    """jax.lax.ragged_dot: lhs[m, k] cut into consecutive groups of rows of
    group_sizes[g] rows, each group times rhs[g] (module docstring)."""
    return ragged_dot_general(lhs, rhs, group_sizes, _BASIC, precision, preferred_element_type, group_offset)


def ragged_dot_general(lhs: ArrayLike, rhs: ArrayLike, group_sizes: ArrayLike,
                       ragged_dot_dimension_numbers: RaggedDotDimensionNumbers, precision: Any = None,
                       preferred_element_type: Any = None, group_offset: ArrayLike | None = None) -> Array:
    """jax.lax.ragged_dot_general in its commonest mode, the ragged
    dimension of lhs a non-contracting one (ragged_dot's, with batch
    dimensions): each run of group_sizes[g] positions along it is multiplied
    by rhs's group g. (JAX's other modes, a ragged contracting or batch
    dimension, raise NotImplementedError.)"""
    if group_offset is not None:
        raise NotImplementedError("Unimplemented group_offset support.")
    lhs, rhs, group_sizes = asarray(lhs), asarray(rhs), asarray(group_sizes)
    dn = ragged_dot_dimension_numbers
    (l_contract, r_contract), (l_batch, r_batch) = dn.dot_dimension_numbers
    if len(dn.lhs_ragged_dimensions) != 1 or len(dn.rhs_group_dimensions) != 1:
        raise NotImplementedError("ragged_dot_general: one lhs ragged dimension and one rhs group dimension")
    (ragged,), (group,) = dn.lhs_ragged_dimensions, dn.rhs_group_dimensions
    if ragged in l_contract or ragged in l_batch:
        raise NotImplementedError("ragged_dot_general with a ragged contracting or batch dimension")
    if not np.issubdtype(group_sizes.dtype, np.integer):
        raise TypeError(f"ragged_dot_general requires group_sizes to have an integer dtype, got {group_sizes.dtype}")
    n_groups = rhs.shape[group]
    if group_sizes.shape[-1:] != (n_groups,):
        raise TypeError(f"group_sizes must have shape (..., {n_groups}) for rhs of shape {rhs.shape}, "
                        f"got {group_sizes.shape}")
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"ragged_dot_general requires operands of the same dtype, got {lhs.dtype} and {rhs.dtype}")
    out_dtype = np.dtype(preferred_element_type) if preferred_element_type is not None else lhs.dtype
    # einsum letters: batch dims shared, contracting dims shared, g for the group, the rest free
    letters = iter("abcdefhijklmnopqrstuvwxyz")
    lhs_sub = [None] * lhs.ndim
    rhs_sub = [None] * rhs.ndim
    for i, j in zip(list(l_batch) + list(l_contract), list(r_batch) + list(r_contract)):
        lhs_sub[i] = rhs_sub[j] = next(letters)
    rhs_sub[group] = "g"
    lhs_sub = [s or next(letters) for s in lhs_sub]
    rhs_sub = [s or next(letters) for s in rhs_sub]
    batch = [lhs_sub[i] for i in l_batch]
    out_sub = batch + [s for i, s in enumerate(lhs_sub) if i not in l_batch and i not in l_contract] + \
        [s for j, s in enumerate(rhs_sub) if j not in r_batch and j not in r_contract and j != group]
    mask = _group_mask(group_sizes.astype(np.int32), lhs.shape[ragged]).astype(out_dtype)
    mask_sub = batch[:group_sizes.ndim - 1] + ["g", lhs_sub[ragged]]
    spec = f"{''.join(mask_sub)},{''.join(lhs_sub)},{''.join(rhs_sub)}->{''.join(out_sub)}"
    return jlinalg.einsum(spec, mask, lhs.astype(out_dtype), rhs.astype(out_dtype), precision=precision)


# --- fft -------------------------------------------------------------------------------

class FftType(enum.IntEnum):
    """jax.lax.FftType: complex to complex (FFT, IFFT), real to complex (RFFT), complex to real (IRFFT)."""
    FFT = 0
    IFFT = 1
    RFFT = 2
    IRFFT = 3


_FFTS = {FftType.FFT: jfft.fftn, FftType.IFFT: jfft.ifftn, FftType.RFFT: jfft.rfftn, FftType.IRFFT: jfft.irfftn}


def fft(x: ArrayLike, fft_type: FftType | str, fft_lengths: Sequence[int]) -> Array:
    """The FFT of `fft_type` over x's last len(fft_lengths) axes, whose
    lengths must be fft_lengths (for IRFFT, the last one fft_lengths[-1] // 2 + 1)."""
    fft_type = FftType[fft_type] if isinstance(fft_type, str) else FftType(fft_type)
    x = asarray(x)
    lengths = tuple(int(n) for n in fft_lengths)
    expected = lengths[:-1] + (lengths[-1] // 2 + 1,) if fft_type == FftType.IRFFT else lengths
    if len(lengths) > x.ndim or tuple(x.shape[x.ndim - len(lengths):]) != expected:
        raise ValueError(f"{'IRFFT' if fft_type == FftType.IRFFT else 'FFT'} input shape {tuple(x.shape)} minor "
                         f"dimensions must be equal to fft_lengths {lengths}")
    axes = tuple(range(x.ndim - len(lengths), x.ndim))
    return _FFTS[fft_type](x, s=lengths, axes=axes)


# --- platform_dependent ----------------------------------------------------------------------

_JAX_PLATFORMS = {"cpu": "cpu", "sync-cpu": "cpu", "local-task": "cpu", "local-sync": "cpu", "cuda": "cuda",
                  "rocm": "rocm", "hip": "rocm"}  # irax device platform -> JAX's platform name


def platform_dependent(*args: Any, default: Callable | None = None, **per_platform: Callable) -> Any:
    """`per_platform[p](*args)` for p the platform of irax's default device
    (JAX's names: 'cpu', 'cuda', 'rocm'; Vulkan is none of them), else
    `default(*args)`. irax traces the chosen branch only: the device is known
    when the program is traced."""
    for name, branch in per_platform.items():
        if not callable(branch):
            raise TypeError(f"lax.platform_dependent: the '{name}' branch must be a callable.")
        if name == "gpu":
            raise ValueError("Use 'cuda' or 'rocm' for lax.platform_dependent.")
    if default is not None and not callable(default):
        raise TypeError("lax.platform_dependent: the 'default' branch must be a callable.")
    platform = get_default_device().platform
    branch = per_platform.get(_JAX_PLATFORMS.get(platform, platform), default)
    if branch is None:
        raise NotImplementedError(f"lax.platform_dependent: no branch for platform {platform} among "
                                  f"{sorted(per_platform)} and no default")
    return branch(*args)


# --- composite -------------------------------------------------------------------

_NO_COMPOSITE_JVP = ValueError("JVP rule for composite not implemented. You can use `jax.custom_jvp` to add support. "
                               "See https://docs.jax.dev/en/latest/_autosummary/jax.custom_jvp.html")


def _frozen(value):
    """A hashable stand-in for an attribute value, equal where the values
    are: lists, tuples and dicts by their items, NumPy values by dtype,
    shape and bytes, anything else with its type (1, 1.0 and True differ)."""
    if isinstance(value, (list, tuple)):
        return type(value), tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return dict, tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (np.ndarray, np.generic)):
        return np.ndarray, value.dtype.str, value.shape, value.tobytes()
    return type(value), value


class _Attributes:
    """A composite's keyword attributes as a cache key (JAX takes lists,
    dicts and NumPy arrays there, which Python does not hash)."""

    def __init__(self, values: dict):
        self.values, self._key = values, _frozen(values)

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return self._key == other._key


def composite(decomposition: Callable, name: str, version: int = 0) -> Callable:
    """jax.lax.composite: a function whose semantics are `decomposition`'s.
    Positional arguments are its inputs, keyword arguments its (static)
    attributes, passed to `decomposition`."""
    @functools.lru_cache(maxsize=64)  # one traced function per set of attributes, as jit's cache wants
    def with_attributes(attributes):
        return no_derivative(functools.partial(decomposition, **attributes.values), _NO_COMPOSITE_JVP)

    @functools.wraps(decomposition)
    def composite_fn(*args, **kwargs):
        with named_scope(name):
            return with_attributes(_Attributes(kwargs))(*args)

    return composite_fn
