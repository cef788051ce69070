"""The descent variants: full-batch descent takes exactly the analytic gradient step."""

from __future__ import annotations

import numpy as np

import nn
import tinygrad_edu as tg
from tinygrad_edu.data import batches


def test_full_batch_descent_on_least_squares_takes_the_analytic_step():
    """C(w, b) = 1/(2n) Σ (w·x + b − t)²  ⇒  ∇_w C = (1/n) Xᵀ(Xw + b − t), ∇_b C = (1/n) Σ (Xw + b − t)."""
    rng = np.random.default_rng(0)
    X, t = rng.normal(size=(50, 3)), rng.normal(size=50)
    model = nn.Linear(3, 1, dtype=np.float64, generator=rng)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    w, b = model.weight.numpy()[0].copy(), model.bias.numpy()[0]
    for epoch in range(5):
        residual = X @ w + b - t
        w, b = w - 0.1 * X.T @ residual / len(X), b - 0.1 * residual.mean()
        (X_batch, t_batch), = batches(X, t, batch_size=len(X), seed=epoch)  # one batch: everything
        optimizer.zero_grad()
        nn.MSELoss()(model(tg.Tensor(X_batch)), tg.Tensor(t_batch[:, None])).backward()
        optimizer.step()
        np.testing.assert_allclose(model.weight.numpy()[0], w, rtol=1e-12)
        np.testing.assert_allclose(model.bias.numpy()[0], b, rtol=1e-12)
