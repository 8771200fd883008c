"""Which image owns each loss row of mmdet's (and mmseg's mmdet-based)
heads.

Detection and query heads call their loss modules on rows that are not the
batch's samples: anchors of every image flattened image by image (anchor
heads, per level), sampled proposals of every image (RoI box heads),
queries flattened image by image and matched ground-truth masks (DETR,
MaskFormer, Mask2Former). The head knows how many rows each image owns. A
head adapter wraps the head's per-call loss method on the instance while a
step is recorded and sets, for each of the head's loss modules, the rows of
each image (:attr:`~.base.StepRecord.rows_per_image`); the loss modules keep
their own adapters (:class:`~.reduction.ReductionAdapter`), which then weight
each row by its image's weight and score each image by the mean of its
rows. Only heads that compute their losses with the served class's own
methods are served (a subclass that overrides them, such as ATSS or GFL,
orders its rows its own way: its loss modules are named as not split and
weighted as a whole, with batch loss scores); a call whose rows do not add
up leaves them unowned, and its module is named as not split.
"""
from typing import Callable, Dict, List, Sequence

import torch
from torch import nn

from .base import LOSS_ADAPTERS, LossAdapter, lazy_class


class _Unwrap:
    """A handle that takes a wrapped method off the head instance."""

    def __init__(self, module: nn.Module, method: str) -> None:
        self.module, self.method = module, method

    def remove(self) -> None:
        self.module.__dict__.pop(self.method, None)


def _counts(values: Sequence[int]) -> torch.Tensor:
    return torch.tensor(list(values), dtype=torch.long)


class HeadAdapter(LossAdapter):
    """Base of the head adapters: wraps ``method`` of the head; subclasses
    say, from the call's arguments, how many rows of each loss module (by
    its attribute name on the head) each image owns (:meth:`rows`)."""

    priority = 10
    nests = True
    #: the heads served (lazy class getters)
    heads: Sequence[Callable] = ()
    #: the head method whose calls compute the losses
    method: str = ''

    #: the head methods whose row order the counts describe: a subclass
    #: that overrides one of them (ATSS, GFL, DINO's heads, ...) orders its
    #: rows its own way and is not served
    computes: Sequence[str] = ()

    @classmethod
    def matches(cls, module: nn.Module, name: str, model: nn.Module) -> bool:
        heads = [getter() for getter in cls.heads]
        return any(
            head is not None and isinstance(module, head) and all(
                getattr(type(module), m) is getattr(head, m)
                for m in (cls.method, ) + tuple(cls.computes))
            for head in heads)

    def attach(self) -> List:
        head = self.module
        original = getattr(type(head), self.method).__get__(head)
        prefix = f'{self.name}.' if self.name else ''

        def wrapped(*args, **kwargs):
            step = self.step
            if step is not None:
                for loss, counts in self.rows(args, kwargs,
                                              step.batch_size).items():
                    step.rows_per_image[prefix + loss] = counts
            return original(*args, **kwargs)

        setattr(head, self.method, wrapped)
        return [_Unwrap(head, self.method)]

    def rows(self, args: tuple, kwargs: dict,
             batch_size: int) -> Dict[str, torch.Tensor]:
        """Loss module attribute -> rows (or blocks of rows) per image."""
        raise NotImplementedError


def _argument(args: tuple, kwargs: dict, index: int, name: str):
    return kwargs[name] if name in kwargs else args[index]


@LOSS_ADAPTERS.register_module()
class AnchorHeadAdapter(HeadAdapter):
    """mmdet's anchor heads (``AnchorHead``: RetinaNet, RPN, SSD, ...): per
    level, class and box losses over ``image x location x anchor`` rows,
    image by image, the same count for every image."""

    heads = (lazy_class('mmdet.models.dense_heads.anchor_head',
                        'AnchorHead'), )
    method = 'loss_by_feat_single'

    def rows(self, args, kwargs, batch_size):
        cls_score = _argument(args, kwargs, 0, 'cls_score')
        if cls_score.shape[0] != batch_size:
            return {}
        ones = torch.ones(batch_size, dtype=torch.long)
        return dict(loss_cls=ones, loss_bbox=ones)


@LOSS_ADAPTERS.register_module()
class BBoxHeadAdapter(HeadAdapter):
    """mmdet's RoI box heads (``BBoxHead``: Faster/Mask R-CNN, ...): the
    class loss over each image's sampled proposals, the box loss over its
    positive ones, image by image (``SamplingResult`` order)."""

    heads = (lazy_class('mmdet.models.roi_heads.bbox_heads.bbox_head',
                        'BBoxHead'), )
    method = 'loss_and_target'
    computes = ('loss', 'get_targets')

    def rows(self, args, kwargs, batch_size):
        results = _argument(args, kwargs, 3, 'sampling_results')
        if len(results) != batch_size:
            return {}
        return dict(loss_cls=_counts(len(r.priors) for r in results),
                    loss_bbox=_counts(len(r.pos_priors) for r in results))


@LOSS_ADAPTERS.register_module()
class DETRHeadAdapter(HeadAdapter):
    """mmdet's ``DETRHead`` (and heads on it): per decoder layer, class,
    box and IoU losses over ``image x query`` rows, image by image."""

    heads = (lazy_class('mmdet.models.dense_heads.detr_head', 'DETRHead'), )
    method = 'loss_by_feat_single'

    def rows(self, args, kwargs, batch_size):
        cls_scores = _argument(args, kwargs, 0, 'cls_scores')
        if cls_scores.shape[0] != batch_size:
            return {}
        queries = torch.full((batch_size, ), cls_scores.shape[1],
                             dtype=torch.long)
        return dict(loss_cls=queries, loss_bbox=queries, loss_iou=queries)


@LOSS_ADAPTERS.register_module()
class MaskFormerHeadAdapter(HeadAdapter):
    """mmdet's ``MaskFormerHead``/``Mask2FormerHead`` (and mmseg's heads on
    them): per decoder layer, the class loss over ``image x query`` rows,
    the dice loss over the matched masks (``min(instances, queries)`` per
    image: the Hungarian matching is one to one), the mask loss over their
    points or pixels (a whole multiple of those)."""

    heads = (lazy_class('mmdet.models.dense_heads.maskformer_head',
                        'MaskFormerHead'),
             lazy_class('mmdet.models.dense_heads.mask2former_head',
                        'Mask2FormerHead'))
    method = '_loss_by_feat_single'
    computes = ('get_targets', )

    def rows(self, args, kwargs, batch_size):
        cls_scores = _argument(args, kwargs, 0, 'cls_scores')
        gts = _argument(args, kwargs, 2, 'batch_gt_instances')
        if cls_scores.shape[0] != batch_size:
            return {}
        queries = cls_scores.shape[1]
        masks = _counts(len(gt) for gt in gts).clamp(max=queries)
        return dict(loss_cls=torch.full((batch_size, ), queries,
                                        dtype=torch.long),
                    loss_dice=masks, loss_mask=masks)
