"""An Adam whose learning rate differs between the transformer and the heads.

thinc's optimizer applies one learning rate to every parameter. A freshly initialised
softmax head wants ~1e-3 while a pretrained encoder is damaged by more than ~1e-4; with
one shared rate either the head learns too slowly or the encoder forgets (the stock
spaCy transformer recipe's slow start). Parameters of PyTorch shims are keyed by their
dotted module path (``encoder.layer.0.attention...``), thinc's own by a bare name (``W``).

With ``torch_kernels`` the encoder's parameters (33M, 18M of them the embedding table) are
updated in place by torch's fused AdamW kernel instead of thinc's one-thread loop: the same
Adam (per-parameter gradient clipping, decoupled weight decay), several times faster
(metrics/benchmark_train_step.txt). It keeps no running average of those parameters: thinc's
PyTorchShim.use_params only reads averages keyed ``pytorch_<id>_<name>`` while the optimizer
keys them ``(id, name)``, so the encoder's averages were computed and never applied.

``layer_decay`` < 1 scales the encoder's rate down layer by layer (layer-wise learning-rate decay):
the top layer gets ``encoder_lr_ratio * layer_decay``, each layer below it ``layer_decay`` times
less, the embeddings the least; the lower layers hold the general features pretraining paid for.
"""

from __future__ import annotations

import math
import re

from thinc.api import Optimizer, registry
from thinc.optimizers import FloatOrSeq
from thinc.types import FloatsXd


def is_torch_parameter(key: tuple[int, str]) -> bool:
    return "." in key[1]


_LAYER = re.compile(r"(?:^|\.)encoder\.layer\.(\d+)\.")


def layer_depth(name: str, layers: int) -> int:
    """How far below the top a parameter sits: 1 for the last layer, ``layers + 1`` for the
    embeddings; 0 above the layers (the pooler)."""
    if match := _LAYER.search(name):
        index = int(match.group(1))
        if index >= layers:
            raise ValueError(f"{name}: layer {index} in an encoder configured with {layers} layers (encoder_layers)")
        return layers - index
    return layers + 1 if "embeddings." in name else 0


class PartwiseAdam(Optimizer):
    def __init__(
        self,
        learn_rate,
        *,
        encoder_lr_ratio: float,
        layer_decay: float = 1.0,
        encoder_layers: int = 12,
        torch_kernels: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(learn_rate, **kwargs)
        self.encoder_lr_ratio = encoder_lr_ratio
        self.layer_decay = layer_decay
        self.encoder_layers = encoder_layers
        self.torch_kernels = torch_kernels
        self._encoder_scales: dict[str, float] = {}  # by parameter name: the regex runs once per name

    def encoder_scale(self, name: str) -> float:
        """The encoder parameter's learning rate as a fraction of the heads'."""
        if self.layer_decay == 1.0:
            return self.encoder_lr_ratio
        scale = self._encoder_scales.get(name)
        if scale is None:
            scale = self.encoder_lr_ratio * self.layer_decay ** layer_depth(name, self.encoder_layers)
            self._encoder_scales[name] = scale
        return scale

    def __call__(self, key, weights: FloatsXd, gradient: FloatsXd, *, lr_scale: float = 1.0):
        if not is_torch_parameter(key):
            return super().__call__(key, weights, gradient, lr_scale=lr_scale)
        lr_scale *= self.encoder_scale(key[1])
        if self.torch_kernels and type(weights).__module__ == "numpy" and len(gradient):
            return self._torch_adam(key, weights, gradient, lr_scale)
        return super().__call__(key, weights, gradient, lr_scale=lr_scale)

    def _torch_adam(self, key, weights, gradient, lr_scale: float):
        """thinc's ``__call__`` and ``_adam`` for one parameter, in place, by torch's fused AdamW kernel."""
        import numpy
        import torch

        self.nr_update[key] += 1
        step = self.nr_update[key]
        w, g = torch.from_numpy(weights), torch.from_numpy(gradient)
        if self.L2 != 0 and not self.L2_is_weight_decay:
            g.add_(w, alpha=self.L2)
        if self.grad_clip:
            norm = float(torch.linalg.vector_norm(g))
            if norm >= self.grad_clip:
                g.mul_(self.grad_clip / norm)
        # 1-D numpy moments, as thinc keeps them: checkpoints save and restore them unchanged
        for table in (self.mom1, self.mom2):
            if key not in table:
                table[key] = numpy.zeros(weights.size, dtype="float32")
        m = torch.from_numpy(self.mom1[key]).view(w.shape)
        v = torch.from_numpy(self.mom2[key]).view(w.shape)
        # torch divides sqrt(v) by sqrt(1 - b2^t) before adding eps, thinc does not: eps scaled to match.
        # torch decays the weights before the step, thinc after it (a difference of order lr^2 * L2).
        torch._fused_adamw_(
            [w], [g], [m], [v], [], [torch.tensor(float(step))],
            lr=self.learn_rate * lr_scale,
            beta1=self.b1,
            beta2=self.b2,
            weight_decay=self.L2 if self.L2_is_weight_decay else 0.0,
            eps=self.eps / math.sqrt(1.0 - self.b2**step),
            amsgrad=False,
            maximize=False,
        )  # fmt: skip
        g.zero_()
        return weights, gradient


@registry.optimizers("pt_legal_ner.PartwiseAdam.v1")
def partwise_adam(
    learn_rate: FloatOrSeq = 1e-3,
    encoder_lr_ratio: float = 0.1,
    *,
    layer_decay: float = 1.0,
    encoder_layers: int = 12,
    L2: float = 0.01,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    grad_clip: float = 1.0,
    L2_is_weight_decay: bool = True,
    use_averages: bool = True,
    torch_kernels: bool = False,
) -> Optimizer:
    """Adam with ``learn_rate`` for the heads and ``learn_rate * encoder_lr_ratio`` for the encoder,
    decayed by ``layer_decay`` per layer below the top of ``encoder_layers``;
    ``torch_kernels``: the encoder's parameters updated by torch in place (same Adam, faster)."""
    return PartwiseAdam(
        learn_rate,
        encoder_lr_ratio=encoder_lr_ratio,
        layer_decay=layer_decay,
        encoder_layers=encoder_layers,
        torch_kernels=torch_kernels,
        L2=L2,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        grad_clip=grad_clip,
        L2_is_weight_decay=L2_is_weight_decay,
        use_averages=use_averages,
        use_radam=False,
    )
