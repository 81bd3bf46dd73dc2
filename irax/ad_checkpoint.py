"""`irax.ad_checkpoint`, as `jax.ad_checkpoint`: `checkpoint` (`remat`), its
policies, and `checkpoint_name`, which names values for the policies of names
(`checkpoint_policies.save_only_these_names("a")`): irax/frontend/checkpoint.py.
(No `print_saved_residuals`: irax's residuals are values of its MLIR, which
`irax.grad(f).lower(x).as_text("after_ad")` shows.)"""
from irax.frontend.checkpoint import checkpoint, checkpoint_name, checkpoint_policies, remat

__all__ = ["checkpoint", "checkpoint_name", "checkpoint_policies", "remat"]
