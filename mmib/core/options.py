"""``InfoBatchHook``'s options as one value, checked in one place."""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from .budget import SavingsBudget
from .planner import PassPlanner
from .policies import build_policy
from .setting_changes import run_settings
from .settings import PruningSettings, check_scores
from .validation import check_quantiles, check_seed, large_weight_warning


@dataclass(frozen=True)
class InfoBatchOptions:
    """Every option of ``InfoBatchHook`` (see there and
    ``docs/en/user_guides/options.md``), checked when built: a wrong one
    raises a ``ValueError`` naming it and a value that works.

    Args:
        ratio (float or Sequence[float]): Fraction of the below-threshold
            samples pruned per pass. Defaults to 0.5.
        delta (float): Fraction of the passes that prune. Defaults to 0.875.
        threshold (str): ``'mean'`` or ``'quantile'``. Defaults to
            ``'mean'``.
        quantiles (Sequence[float], optional): Band edges for
            ``threshold='quantile'``. Defaults to None.
        score_momentum (float, optional): Weight of the old score; None: 0,
            or 0.7 with ``scores='batch'``. Defaults to None.
        seed (int, optional): Seed of the pruning draws; None: the
            sampler's. Defaults to None.
        rescale (bool): Rescale the kept low-score samples. Defaults to
            True.
        policy (str): A registered policy's name. Defaults to
            ``'infobatch'``.
        unweighted_losses (Sequence[str]): Loss terms allowed to stay
            unweighted. Defaults to ().
        policy_options (dict, optional): The policy's own settings.
            Defaults to None.
        target_saving (float, optional): Fraction of the full run's
            forward/backward passes to save. Defaults to None.
        scores (str): ``'sample'`` or ``'batch'`` (BLS). Defaults to
            ``'sample'``.
    """

    ratio: Union[float, Sequence[float]] = 0.5
    delta: float = 0.875
    threshold: str = 'mean'
    quantiles: Optional[Sequence[float]] = None
    score_momentum: Optional[float] = None
    seed: Optional[int] = None
    rescale: bool = True
    policy: str = 'infobatch'
    unweighted_losses: Sequence[str] = ()
    policy_options: Optional[dict] = None
    target_saving: Optional[float] = None
    scores: str = 'sample'
    # derived, checked values (set in __post_init__)
    planner: PassPlanner = field(init=False, repr=False, compare=False)
    batch_scores: bool = field(init=False)
    momentum: float = field(init=False)
    #: the settings a checkpoint records, to name one changed on resume
    #: (:mod:`~mmib.core.setting_changes`)
    recorded: Dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ratios = (tuple(self.ratio) if isinstance(self.ratio, (list, tuple))
                  else (self.ratio, ))
        pruning = PruningSettings(
            ratios=ratios, delta=self.delta, threshold=self.threshold,
            quantiles=check_quantiles(self.quantiles), rescale=self.rescale)
        budget = (None if self.target_saving is None else
                  SavingsBudget(self.target_saving))
        planner = PassPlanner(
            build_policy(self.policy, pruning, self.policy_options), budget)
        batch, momentum = check_scores(self.scores, self.score_momentum)
        check_seed(self.seed)
        losses = self.unweighted_losses
        if isinstance(losses, str) or not all(
                isinstance(k, str) for k in losses):
            raise ValueError(
                f'unweighted_losses={losses!r} must be a list of loss '
                "names, e.g. unweighted_losses=['loss_lovasz'].")
        object.__setattr__(self, 'planner', planner)
        object.__setattr__(self, 'batch_scores', batch)
        object.__setattr__(self, 'momentum', momentum)
        object.__setattr__(self, 'recorded', run_settings(
            policy=self.policy, ratio=self.ratio, delta=self.delta,
            threshold=self.threshold, quantiles=self.quantiles,
            rescale=self.rescale, scores=self.scores,
            score_momentum=momentum, policy_options=self.policy_options,
            target_saving=self.target_saving))

    @property
    def pruning(self) -> PruningSettings:
        """Ratios, ``delta``, thresholds and ``rescale`` of the run."""
        return self.planner.policy.pruning

    @property
    def weight_warning(self) -> Optional[str]:
        """A warning for loss weights large enough to destabilise training,
        or None."""
        return large_weight_warning(self.pruning.ratios, self.pruning.rescale)

    @property
    def loss_names(self) -> Tuple[str, ...]:
        """``unweighted_losses`` as a tuple."""
        return tuple(self.unweighted_losses)
