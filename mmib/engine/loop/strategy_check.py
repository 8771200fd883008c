"""Which of FlexibleRunner's strategies InfoBatch can run under.

InfoBatch's state (scores, pass clock, savings ledger, the current plan)
travels in checkpoints through the ``before_save_checkpoint`` and
``after_load_checkpoint`` hook calls. ``FlexibleRunner`` makes them through
a ``callback`` that it passes to its strategy's ``save_checkpoint`` and
``resume``/``load_checkpoint``:

* ``SingleDeviceStrategy``, ``DDPStrategy`` (save on rank 0) and
  ``FSDPStrategy`` (the callback on every rank, before the main process or
  each rank writes) call it: supported.
* MMEngine 0.10's ``DeepSpeedStrategy`` and ``ColossalAIStrategy`` document
  "``callback`` parameter is not supported yet" and never call it: every
  checkpoint would lack InfoBatch's state and a resume would restart it
  silently. They are refused by name at the start of training.
"""
from typing import Any, Optional

from ..optional_classes import is_instance, lazy_class

#: strategies whose checkpoints bypass the hook calls (MMEngine 0.10.x)
CALLBACK_IGNORING = {
    'DeepSpeedStrategy': lazy_class('mmengine._strategy.deepspeed',
                                    'DeepSpeedStrategy'),
    'ColossalAIStrategy': lazy_class('mmengine._strategy.colossalai',
                                     'ColossalAIStrategy'),
}


def unsupported_strategy(strategy: Optional[Any]) -> Optional[str]:
    """The error for a strategy InfoBatch cannot run under, or None.

    Args:
        strategy: ``FlexibleRunner.strategy`` (None under ``Runner``).
    """
    for name, getter in CALLBACK_IGNORING.items():
        if is_instance(strategy, getter):
            return (
                f'InfoBatchHook cannot run under FlexibleRunner with {name}: '
                f"MMEngine's {name}.save_checkpoint/resume do not call the "
                'hooks (their `callback` is "not supported yet"), so every '
                "checkpoint would lack InfoBatch's scores, pass clock and "
                'savings ledger, and a resume would restart them silently. '
                "Use strategy=dict(type='FSDPStrategy') or "
                "dict(type='DDPStrategy'), or remove InfoBatchHook.")
    return None


def check_strategy(strategy: Optional[Any]) -> None:
    """Raise :func:`unsupported_strategy`'s error, if any.

    Raises:
        RuntimeError: Naming the strategy and the way out.
    """
    error = unsupported_strategy(strategy)
    if error is not None:
        raise RuntimeError(error)
