"""`irax.ad_checkpoint`, as `jax.ad_checkpoint`: `checkpoint` (`remat`), its
policies, and `checkpoint_name`, which names values for the policies of names
(`checkpoint_policies.save_only_these_names("a")`): irax/frontend/checkpoint.py.
`print_saved_residuals(f, *args)` lists the values irax's reverse pass of f
keeps for the backward pass (irax/frontend/saved_residuals.py)."""
from irax.frontend.checkpoint import checkpoint, checkpoint_name, checkpoint_policies, remat
from irax.frontend.saved_residuals import print_saved_residuals, saved_residuals

__all__ = ["checkpoint", "checkpoint_name", "checkpoint_policies", "print_saved_residuals", "remat",
           "saved_residuals"]
