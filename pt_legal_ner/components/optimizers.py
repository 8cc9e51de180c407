"""An Adam whose learning rate differs between the transformer and the heads.

thinc's optimizer applies one learning rate to every parameter. A freshly initialised
softmax head wants ~1e-3 while a pretrained encoder is damaged by more than ~1e-4; with
one shared rate either the head learns too slowly or the encoder forgets (the stock
spaCy transformer recipe's slow start). Parameters of PyTorch shims are keyed by their
dotted module path (``encoder.layer.0.attention...``), thinc's own by a bare name (``W``).
"""

from __future__ import annotations

from thinc.api import Optimizer, registry
from thinc.optimizers import FloatOrSeq
from thinc.types import FloatsXd


def is_torch_parameter(key: tuple[int, str]) -> bool:
    return "." in key[1]


class PartwiseAdam(Optimizer):
    def __init__(self, learn_rate, *, encoder_lr_ratio: float, **kwargs) -> None:
        super().__init__(learn_rate, **kwargs)
        self.encoder_lr_ratio = encoder_lr_ratio

    def __call__(self, key, weights: FloatsXd, gradient: FloatsXd, *, lr_scale: float = 1.0):
        if is_torch_parameter(key):
            lr_scale *= self.encoder_lr_ratio
        return super().__call__(key, weights, gradient, lr_scale=lr_scale)


@registry.optimizers("pt_legal_ner.PartwiseAdam.v1")
def partwise_adam(
    learn_rate: FloatOrSeq = 1e-3,
    encoder_lr_ratio: float = 0.1,
    *,
    L2: float = 0.01,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    grad_clip: float = 1.0,
    L2_is_weight_decay: bool = True,
    use_averages: bool = True,
) -> Optimizer:
    """Adam with ``learn_rate`` for the heads and ``learn_rate * encoder_lr_ratio`` for the encoder."""
    return PartwiseAdam(
        learn_rate,
        encoder_lr_ratio=encoder_lr_ratio,
        L2=L2,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        grad_clip=grad_clip,
        L2_is_weight_decay=L2_is_weight_decay,
        use_averages=use_averages,
        use_radam=False,
    )
