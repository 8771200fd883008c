"""Which image owns each loss row of a query-based mask head.

mmdet's ``MaskFormerHead`` and ``Mask2FormerHead`` (and mmseg's
Mask2Former/MaskFormer heads built on them) compute, per decoder layer, a
class loss over ``batch x num_queries`` rows (the queries flattened image by
image), and a dice and a mask loss over the matched ground-truth masks of
the whole batch (``num_total_gts`` rows, image by image, each image's in
query order; the mask loss over ``num_total_gts x num_points`` point rows).
None of these rows is a sample, so the loss modules alone cannot be split.

:class:`MaskFormerHeadAdapter` wraps the head's per-layer loss
(``_loss_by_feat_single``) while a step is recorded: from the layer's
``batch_gt_instances`` it sets, for the head's three loss modules, the image
of every row (:attr:`~.base.StepRecord.rows_per_image`); their own adapters
(:class:`~.reduction.ReductionAdapter`) then weight each row by its image's
weight and score each image by the mean of its rows. Each image has
``min(instances, queries)`` matched masks (the Hungarian matching is one to
one); a call whose rows do not add up to that leaves them unowned, and the
loss module is named as not split.
"""
from typing import List

import torch
from torch import nn

from .base import LOSS_ADAPTERS, LossAdapter, is_instance, lazy_class

_HEADS = (lazy_class('mmdet.models.dense_heads.maskformer_head',
                     'MaskFormerHead'),
          lazy_class('mmdet.models.dense_heads.mask2former_head',
                     'Mask2FormerHead'))


class _Unwrap:
    """A handle that takes the per-layer loss wrapper off the head."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def remove(self) -> None:
        self.module.__dict__.pop('_loss_by_feat_single', None)


@LOSS_ADAPTERS.register_module()
class MaskFormerHeadAdapter(LossAdapter):
    """Rows to images for MaskFormer/Mask2Former heads (module docstring)."""

    priority = 10
    nests = True

    @classmethod
    def matches(cls, module: nn.Module, name: str, model: nn.Module) -> bool:
        return any(is_instance(module, head) for head in _HEADS)

    def attach(self) -> List:
        head = self.module
        per_layer = type(head)._loss_by_feat_single.__get__(head)
        prefix = f'{self.name}.' if self.name else ''

        def loss_by_feat_single(cls_scores, mask_preds, batch_gt_instances,
                                batch_img_metas):
            step = self.step
            if step is not None and cls_scores.shape[0] == step.batch_size:
                self.set_owners(step, prefix, cls_scores.shape[1], [
                    len(gt) for gt in batch_gt_instances])
            return per_layer(cls_scores, mask_preds, batch_gt_instances,
                             batch_img_metas)

        head._loss_by_feat_single = loss_by_feat_single
        return [_Unwrap(head)]

    def set_owners(self, step, prefix: str, num_queries: int,
                   gts: List[int]) -> None:
        """How many rows of the class, dice and mask losses each image
        owns: its queries; its matched masks (the mask loss: its masks'
        points or pixels, a whole multiple)."""
        rows = step.rows_per_image
        rows[f'{prefix}loss_cls'] = torch.full((len(gts), ), num_queries,
                                               dtype=torch.long)
        # one-to-one matching: min(instances, queries) masks per image
        masks = torch.tensor(gts, dtype=torch.long).clamp(max=num_queries)
        rows[f'{prefix}loss_dice'] = masks
        rows[f'{prefix}loss_mask'] = masks
