"""What the probes share: one batch's loss terms under chosen image
weights against the model's own loss and against a hand computation, and a
run's report."""
import inspect

import torch
from mmengine.hooks import Hook


def weighted_terms(model, batch, recorder, weights) -> dict:
    """The loss terms of one forward with ``weights`` (None: not recorded),
    with the same random draws (point sampling, matching) every time."""
    torch.manual_seed(0)
    if weights is not None:
        recorder.start_step(torch.tensor(weights))
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    scores = recorder.finish_step() if weights is not None else None
    terms = {}
    for key, value in losses.items():
        if 'loss' in key:
            values = value if isinstance(value, (list, tuple)) else [value]
            terms[key] = float(sum(v.sum() for v in values))
    return dict(terms=terms,
                scores=None if scores is None else scores.tolist())


def loss_calls(model, batch, watch=None) -> list:
    """Every loss module's call of one plain forward (no step recorded,
    seeded as :func:`weighted_terms`): ``(name, module, arguments)`` with
    the arguments bound to the names of the module's ``forward``.
    ``watch`` maps other modules' names to lists that get their calls'
    positional arguments (the RoIs of a box head's extractor)."""
    calls, handles = [], []
    watch = watch or {}

    def keep(name):
        def hook(module, args, kwargs):
            signature = inspect.signature(type(module).forward)
            arguments = {}
            for key, value in signature.bind(module, *args,
                                             **kwargs).arguments.items():
                if signature.parameters[key].kind is \
                        inspect.Parameter.VAR_KEYWORD:
                    arguments.update(value)
                else:
                    arguments[key] = value
            calls.append((name, module, arguments))
        return hook

    for name, module in model.named_modules():
        if name.rsplit('.', 1)[-1].startswith('loss_'):
            handles.append(module.register_forward_pre_hook(
                keep(name), with_kwargs=True))
        if name in watch:
            handles.append(module.register_forward_pre_hook(
                lambda m, args, seen=watch[name]: seen.append(args)))
    torch.manual_seed(0)
    model(**model.data_preprocessor(batch, True), mode='loss')
    for handle in handles:
        handle.remove()
    return calls


def _share(module, arguments: dict, rows: torch.Tensor) -> float:
    """What ``rows`` add to the call's loss: the module on those rows alone
    with the call's own denominator (its ``avg_factor``, or for a mean
    without one the whole call's element count, as sum / total * loss)."""
    names = list(arguments)[1:]  # self first
    pred, target = arguments[names[0]], arguments[names[1]]
    weight = arguments.get('weight')
    extra = {k: v for k, v in arguments.items()
             if k not in ('self', names[0], names[1], 'weight')}

    @torch.no_grad()
    def loss(rows_, **override):
        return float(module(pred[rows_], target[rows_],
                            weight=None if weight is None else weight[rows_],
                            **{**extra, **override}))

    every = torch.ones(len(pred), dtype=torch.bool)
    if extra.get('avg_factor') is not None or module.reduction == 'sum' \
            or extra.get('reduction_override') == 'sum':
        return loss(rows)
    whole = loss(every)
    summed = loss(every, reduction_override='sum')
    return 0.0 if summed == 0 else loss(
        rows, reduction_override='sum') * whole / summed


def by_hand(model, batch, layout, watch=()) -> dict:
    """Each image's share of the loss computed by hand, independent of
    mmib: every loss module's call of a plain forward is split into the
    rows of each image (``layout(name, arguments, calls_so_far, batch,
    watched)`` gives the image of each row, from what the head is known to
    do) and the module run on each image's rows with the call's own
    denominator (compared by :func:`check_weights` with the loss terms when
    only that image weighs 1, through mmib's adapters)."""
    size = len(batch['inputs'])
    watched = {name: [] for name in watch}
    calls = loss_calls(model, batch, watched)
    hand = [0.0] * size
    for k, (name, module, arguments) in enumerate(calls):
        image = layout(name, arguments, calls[:k], batch, watched)
        pred = arguments[list(arguments)[1]]
        assert len(image) == len(pred), (name, len(image), len(pred))
        for i in range(size):
            hand[i] += _share(module, arguments, image == i)
    return dict(modules=sorted({name for name, _, _ in calls}), hand=hand)


def block_rows(pred: torch.Tensor, size: int) -> torch.Tensor:
    """Rows flattened image by image, the same number for each."""
    assert len(pred) % size == 0
    return torch.arange(len(pred)) // (len(pred) // size)


def check_weights(runner, layout=None, watch=()) -> dict:
    """Weights 1 give the model's own loss; every term is linear in the
    images' weights, each row weighted by one image's: the terms of ``w``
    are ``sum_i w_i`` times those of the one-hot weights ``e_i``. With a
    ``layout`` (see :func:`by_hand`), the terms of ``e_i`` are also
    compared with image ``i``'s share computed by hand (``by_hand``)."""
    from mmib.engine.loss_adapters import PerSampleLossRecorder
    model = runner.model
    model.train()
    batch = next(iter(runner.train_dataloader))
    recorder = PerSampleLossRecorder(model)
    own = weighted_terms(model, batch, recorder, None)['terms']
    ones = weighted_terms(model, batch, recorder, [1.0] * 4)
    basis = [weighted_terms(model, batch, recorder,
                            [float(i == j) for j in range(4)])['terms']
             for i in range(4)]
    w = [2.0, 0.5, 1.5, 3.0]
    mixed = weighted_terms(model, batch, recorder, w)['terms']
    linear = {k: sum(wi * b[k] for wi, b in zip(w, basis)) for k in own}
    recorder.remove()
    hand = None
    if layout is not None:
        hand = by_hand(model, batch, layout, watch)
        hand['adapted'] = [sum(b.values()) for b in basis]
        hand['difference'] = max(
            abs(a - h) for a, h in zip(hand['adapted'], hand['hand']))
    return dict(
        by_hand=hand,
        adapters=[type(a).__name__ for a in recorder.adapters],
        unsplittable=sorted(recorder.unsplittable),
        ones_vs_own=max(abs(ones['terms'][k] - own[k]) for k in own),
        mixed_vs_linear=max(abs(mixed[k] - linear[k]) for k in own),
        scale=max(abs(v) for v in own.values()),
        scores=ones['scores'])


class StopAfterFirstCheckpoint(Hook):
    """Ends training (as an interruption would) right after the first
    checkpoint is saved: after the first epoch of an epoch loop, after the
    iteration ``at`` of an iteration loop."""

    priority = 'LOWEST'

    def __init__(self, at: int = 0) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self.at and runner.iter == self.at:
            runner.train_loop.stop_training = True

    def after_train_epoch(self, runner) -> None:
        if not self.at:
            runner.train_loop.stop_training = True


def _weights(runner) -> dict:
    return {k: v.detach().clone()
            for k, v in runner.model.state_dict().items()}


def check_exact(build, work_dir: str, stop_at: int = 0) -> dict:
    """ratio=0 trains what the plain run trains; a pruned run stopped at
    its first checkpoint (:class:`StopAfterFirstCheckpoint`) and resumed
    ends with the weights of an uninterrupted one, bit for bit.

    ``build(work_dir, hook_options)`` gives the recipe's config with the
    line (None: without it)."""
    from mmengine.runner import Runner

    def train(folder, hook, resume=False, stop=False):
        cfg = build(folder, hook or dict(ratio=0.0))
        if hook is None:
            cfg.custom_hooks = []
        cfg.resume = resume
        runner = Runner.from_cfg(cfg)
        if stop:
            runner.register_hook(StopAfterFirstCheckpoint(stop_at))
        runner.train()
        return _weights(runner)

    plain = train(work_dir + '_plain', None)
    zero = train(work_dir + '_zero', dict(ratio=0.0))
    hook = dict(ratio=0.5, delta=1.0)
    straight = train(work_dir + '_straight', hook)
    train(work_dir + '_resumed', hook, stop=True)
    resumed = train(work_dir + '_resumed', hook, resume=True)
    return dict(
        zero_equals_plain=all(torch.equal(plain[k], zero[k]) for k in plain),
        zero_vs_plain=max(float((plain[k].double() - zero[k].double()
                                 ).abs().max()) for k in plain),
        resumed_equals_straight=all(
            torch.equal(straight[k], resumed[k]) for k in straight))


def train_and_report(runner, out: dict) -> dict:
    """Train; add the error (if any), iterations, unsplittable modules,
    scored samples and savings of the InfoBatch run to ``out``."""
    try:
        runner.train()
    except Exception as error:  # reported, not raised: the test reads it
        out['error'] = f'{type(error).__name__}: {error}'
    infobatch = next(h for h in runner.hooks
                     if type(h).__name__ == 'InfoBatchHook')
    training = infobatch.training
    out.update(
        iters=runner.iter,
        unsplittable=sorted(training.recorder.unsplittable),
        seen=int(training.run.table.seen.sum()),
        num_samples=len(training.run.table),
        saved=infobatch.savings()['saved_samples'])
    return out
