"""What the probes share: one batch's loss terms under chosen image
weights against the model's own loss, and a run's report."""
import torch


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


def check_weights(runner) -> dict:
    """Weights 1 give the model's own loss; every term is linear in the
    images' weights, each row weighted by one image's: the terms of ``w``
    are ``sum_i w_i`` times those of the one-hot weights ``e_i``."""
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
    return dict(
        adapters=[type(a).__name__ for a in recorder.adapters],
        unsplittable=sorted(recorder.unsplittable),
        ones_vs_own=max(abs(ones['terms'][k] - own[k]) for k in own),
        mixed_vs_linear=max(abs(mixed[k] - linear[k]) for k in own),
        scale=max(abs(v) for v in own.values()),
        scores=ones['scores'])


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
