"""The hook's checkpoint state: one versioned structure.

Typed in memory (:class:`InfoBatchSnapshot`), written as plain dicts, lists,
numbers, strings and tensors, so that a checkpoint loads with torch's
default ``weights_only`` allow-list.
"""
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import torch

from .clock import PassClock
from .ledger import SavingsLedger
from .plan import PassPlan

#: where a checkpoint carries the InfoBatch state
CHECKPOINT_KEY = 'infobatch'
STATE_VERSION = 3
#: versions this code restores (2: mmib 0.1, RNG states held numpy objects)
READABLE_VERSIONS = (2, 3)


def plan_to_dict(plan: PassPlan) -> Dict[str, Any]:
    """A :class:`PassPlan` as plain data (its pass under the key
    ``'epoch'``, as checkpoints have it)."""
    return dict(
        epoch=int(plan.pass_index),
        kept_indices=plan.kept_indices.clone(),
        weights=plan.weights.clone(),
        thresholds=plan.thresholds.clone(),
        annealing=bool(plan.annealing))


def plan_from_dict(state: Dict[str, Any]) -> PassPlan:
    """The inverse of :func:`plan_to_dict`."""
    return PassPlan(
        pass_index=int(state['epoch']),
        kept_indices=torch.as_tensor(state['kept_indices']).long(),
        weights=torch.as_tensor(state['weights']).float(),
        thresholds=torch.as_tensor(state['thresholds']).float(),
        annealing=bool(state['annealing']))


@dataclass
class InfoBatchSnapshot:
    """Everything a resumed run needs to continue as if never stopped.

    Args:
        table (dict): :meth:`ScoreTable.state_dict`.
        clock (PassClock): The pass clock.
        ledger (SavingsLedger): The savings ledger.
        plan (PassPlan): The current pass's plan.
        ratios (tuple[float]): The pruning ratios the run used.
        layout (dict): ``num_samples``, ``batch_size``, ``world_size``.
        rng (dict, optional): The random states (plain data, see
            :mod:`mmib.checkpoint.rng_state`).
        settings (dict, optional): The hook's settings
            (:func:`~mmib.core.setting_changes.run_settings`).
        plan_settings (dict, optional): The settings ``plan`` was made
            with (another run's, for a pass resumed with changed settings).
    """

    table: Dict[str, torch.Tensor]
    clock: PassClock
    ledger: SavingsLedger
    plan: PassPlan
    ratios: Tuple[float, ...]
    layout: Dict[str, Optional[int]]
    rng: Optional[Dict[str, Any]] = None
    settings: Optional[Dict[str, Any]] = None
    plan_settings: Optional[Dict[str, Any]] = None

    def to_dict(self) -> Dict[str, Any]:
        """Plain data, with ``version``."""
        return dict(
            version=STATE_VERSION,
            table={k: v.clone()
                   for k, v in self.table.items()},
            clock=self.clock.state_dict(),
            ledger=self.ledger.state_dict(),
            plan=plan_to_dict(self.plan),
            ratios=[float(r) for r in self.ratios],
            layout=dict(self.layout),
            rng=self.rng,
            settings=self.settings,
            plan_settings=self.plan_settings)

    @classmethod
    def from_dict(cls, state: Dict[str, Any]) -> 'InfoBatchSnapshot':
        """Read what :meth:`to_dict` wrote (or mmib 0.1's version 2).

        Raises:
            ValueError: For a version this code cannot read.
        """
        version = state.get('version') if isinstance(state, dict) else None
        if version not in READABLE_VERSIONS:
            raise ValueError(
                f'the checkpoint holds InfoBatch state version {version!r}; '
                f'this mmib reads versions {READABLE_VERSIONS}. Resume with '
                'the mmib version that wrote it, or start without --resume.')
        clock = PassClock()
        clock.load_state_dict(state['clock'])
        ledger = SavingsLedger()
        ledger.load_state_dict(state['ledger'])
        return cls(
            table=dict(state['table']),
            clock=clock,
            ledger=ledger,
            plan=plan_from_dict(state['plan']),
            ratios=tuple(float(r) for r in state.get('ratios', ())),
            layout=dict(state.get('layout') or {}),
            rng=state.get('rng'),
            settings=state.get('settings'),
            plan_settings=state.get('plan_settings'))
