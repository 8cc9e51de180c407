"""Attention kept in fp32 inside a bf16 autocast region, for training on the CPU.

On the Zen 4 EPYC that trains the default, torch's CPU flash-attention kernels run slower in bf16
than in fp32 (backward 352 against 167 ms a step, forward 102 against 92;
metrics/benchmark_train_step.txt), while the matrix products around them halve. So the products
(Q, K, V, output projections, feed-forward) stay in bf16 and only ``scaled_dot_product_attention``
runs in fp32, forward and (recorded by autograd at that dtype) backward.
"""

import torch
from torch.overrides import TorchFunctionMode

SDPA = torch.nn.functional.scaled_dot_product_attention


class Fp32Attention(TorchFunctionMode):
    """Within ``with Fp32Attention():`` every ``scaled_dot_product_attention`` call takes its
    query, key, value (and a float mask) in fp32 and runs without autocast; other calls pass."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is not SDPA:
            return func(*args, **kwargs)
        args = tuple(arg.float() if isinstance(arg, torch.Tensor) and arg.is_floating_point() else arg for arg in args)
        mask = kwargs.get("attn_mask")
        if isinstance(mask, torch.Tensor) and mask.is_floating_point():
            kwargs = {**kwargs, "attn_mask": mask.float()}
        with torch.autocast("cpu", enabled=False):
            return func(*args, **kwargs)
