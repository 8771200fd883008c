"""The strategy check: which of FlexibleRunner's strategies InfoBatch can
run under (the runs themselves: ``test_flexible_runner.py``)."""
import pytest
from mmengine._strategy import (ColossalAIStrategy, DDPStrategy,
                                DeepSpeedStrategy, FSDPStrategy,
                                SingleDeviceStrategy)

from mmib.engine.loop.strategy_check import (check_strategy,
                                             unsupported_strategy)


def test_strategies_whose_checkpoints_skip_the_hooks_are_refused_by_name():
    """MMEngine 0.10's DeepSpeed and ColossalAI strategies never call the
    checkpoint callback: refused (their packages need an accelerator, so
    the decision is checked on instances made without ``__init__``)."""
    for cls in (DeepSpeedStrategy, ColossalAIStrategy):
        message = unsupported_strategy(cls.__new__(cls))
        assert message.startswith('InfoBatchHook cannot run under '
                                  f'FlexibleRunner with {cls.__name__}')
        assert "strategy=dict(type='FSDPStrategy')" in message
    for cls in (SingleDeviceStrategy, DDPStrategy, FSDPStrategy):
        assert unsupported_strategy(cls.__new__(cls)) is None
    assert unsupported_strategy(None) is None  # Runner


def test_the_check_raises_the_named_error_before_training():
    strategy = DeepSpeedStrategy.__new__(DeepSpeedStrategy)
    with pytest.raises(RuntimeError, match='with DeepSpeedStrategy: '):
        check_strategy(strategy)
    check_strategy(DDPStrategy.__new__(DDPStrategy))
    check_strategy(None)
