"""The layers students reach for replay under tg.jit as they run eagerly: BatchNorm1d in training (its
running statistics too) and in evaluation, and max/min along a dim (maxout, pooling)."""

from __future__ import annotations

import numpy as np
import pytest

import nn
import tinygrad_edu as tg

F = nn.functional


def batches(n, shape=(8, 6), seed=0):
    rng = np.random.default_rng(seed)
    return [(tg.Tensor(rng.standard_normal(shape).astype(np.float32)), rng.integers(0, 3, shape[0])) for _ in range(n)]


def train_and_evaluate(jitted, make_model, data, evaluate_every=5):
    """Train on ``data`` (evaluating the same batches every few steps); return every number produced,
    the parameters and buffers."""
    generator = np.random.default_rng(1)
    model = make_model(generator)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)

    def step(x, labels):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss

    def evaluate(x):
        return model(x)

    train, test = (tg.jit(step), tg.jit(evaluate)) if jitted else (step, evaluate)
    out = []
    for i, (x, labels) in enumerate(data):
        model.train()
        out.append(train(x, labels).numpy().tobytes())
        if i % evaluate_every == evaluate_every - 1:
            model.eval()
            out += [test(x).numpy().tobytes() for x, _ in data[:3]]
    state = [a.tobytes() for a in model.state_dict().values()]
    return out, state, (train, test)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(8, 6), (8, 6, 4)], ids=["(N, C)", "(N, C, L)"])
def test_batchnorm_trains_and_evaluates_in_a_replay_as_eagerly(momentum, shape):
    def make_model(generator):
        layers = [nn.Flatten()] if len(shape) == 3 else []
        width = int(np.prod(shape[1:]))
        return nn.Sequential(nn.BatchNorm1d(6, momentum=momentum), *layers, nn.Linear(width, 3, generator=generator))

    data = batches(20, shape)
    jitted = train_and_evaluate(True, make_model, data)
    train, test = jitted[2]
    assert "_update_running_stats" in train.source() and "def replay" in test.source()
    eager = train_and_evaluate(False, make_model, data)
    assert jitted[:2] == eager[:2]


@pytest.mark.parametrize("extreme", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_and_min_along_a_dim_replay_as_eagerly(extreme, keepdim):
    """Maxout (the largest of groups of units) trained, and pooling's indices returned from the step."""
    data = batches(15, (8, 6))
    results = []
    for jitted in (False, True):
        generator = np.random.default_rng(1)
        layer, head = nn.Linear(6, 8, generator=generator), nn.Linear(4, 3, generator=generator)
        optimizer = nn.optim.SGD([*layer.parameters(), *head.parameters()], lr=0.1)

        def step(x, labels):
            optimizer.zero_grad()
            pooled = getattr(layer(x).reshape(-1, 4, 2), extreme)(dim=2, keepdim=keepdim)
            values = pooled.values.reshape(-1, 4)
            loss = F.cross_entropy(head(values), labels)
            loss.backward()
            optimizer.step()
            return loss, pooled.indices

        run = tg.jit(step) if jitted else step
        out = []
        for x, labels in data:
            loss, indices = run(x, labels)
            assert indices.dtype == np.int64 and not indices.requires_grad
            out += [loss.numpy().tobytes(), indices.numpy().tobytes()]
        results.append((out, [p.numpy().tobytes() for p in [*layer.parameters(), *head.parameters()]]))
    assert "ArgExtreme" in run.source()
    assert results[0] == results[1]
    assert len(set(results[0][0][1::2])) > 1  # the indices do change from batch to batch
