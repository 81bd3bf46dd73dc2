"""`irax.lax`: operations below the NumPy layer (implemented in irax.frontend)."""
from irax.frontend.control_flow import cond, fori_loop, scan, select, switch, while_loop
from irax.frontend.convolution import (
    ConvDimensionNumbers, ConvGeneralDilatedDimensionNumbers, conv, conv_dimension_numbers, conv_general_dilated,
    conv_general_permutations, conv_general_shape_tuple, conv_shape_tuple, conv_transpose, conv_transpose_shape_tuple,
    conv_with_general_padding, padtype_to_pads, reduce_window, reduce_window_shape_tuple,
)
from irax.frontend.convolution_patches import conv_general_dilated_local, conv_general_dilated_patches
from irax.frontend.collectives import (all_gather, all_to_all, axis_index, axis_size, pmax, pmean, pmin, ppermute,
                                      pshuffle, psum, psum_scatter, pswapaxes)
from irax.frontend.numpy.bitcast import bitcast_convert_type
from irax.frontend.lax import stop_gradient
from irax.frontend import lax_elementwise as _lax_elementwise
from irax.frontend import lax_indexing as _lax_indexing
from irax.frontend import lax_scans as _lax_scans
from irax.frontend import lax_structural as _lax_structural
from irax.frontend.lax_elementwise import *  # noqa: F401,F403
from irax.frontend.lax_indexing import *  # noqa: F401,F403
from irax.frontend.lax_scans import *  # noqa: F401,F403
from irax.frontend.lax_structural import *  # noqa: F401,F403
from irax.frontend import lax_extra as _lax_extra
from irax.frontend.lax_extra import *  # noqa: F401,F403
from irax.frontend.lax_rng import RandomAlgorithm, rng_bit_generator
from irax.frontend.lax_solves import custom_linear_solve, custom_root
from irax.frontend.lax_sorting import sort, sort_key_val, top_k
from irax.frontend.sharding import with_sharding_constraint
from irax.lax import linalg  # noqa: F401 (a namespace, as jax.lax.linalg)
from irax.frontend.special import (bessel_i0e, bessel_i1e, betainc, digamma, erf, erf_inv, erfc, igamma, igamma_grad_a,
                                   igammac, lgamma, logistic, polygamma, random_gamma_grad, zeta)

__all__ = ["ConvDimensionNumbers", "ConvGeneralDilatedDimensionNumbers", "all_gather", "all_to_all", "axis_index",
           "axis_size", "bessel_i0e", "bessel_i1e", "betainc", "bitcast_convert_type", "cond", "conv",
           "conv_dimension_numbers",
           "conv_general_dilated", "conv_general_dilated_local", "conv_general_dilated_patches",
           "conv_general_permutations", "conv_general_shape_tuple", "conv_shape_tuple", "conv_transpose",
           "conv_transpose_shape_tuple", "conv_with_general_padding", "custom_linear_solve", "custom_root",
           "digamma", "erf", "erf_inv", "erfc", "fori_loop", "igamma", "igamma_grad_a", "igammac", "lgamma",
           "logistic", "padtype_to_pads", "pmax", "pmean", "pmin", "polygamma", "ppermute", "pshuffle", "psum",
           "psum_scatter", "pswapaxes",
           "RandomAlgorithm", "random_gamma_grad", "reduce_window", "reduce_window_shape_tuple", "rng_bit_generator",
           "scan", "select", "sort", "sort_key_val",
           "stop_gradient", "switch", "top_k", "while_loop", "with_sharding_constraint", "zeta"]
__all__ += (_lax_extra.__all__ + _lax_elementwise.__all__ + _lax_indexing.__all__ + _lax_scans.__all__
            + _lax_structural.__all__)
