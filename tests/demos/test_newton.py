"""`tinygrad-edu newton`: Newton's method with second derivatives from two grads, against gradient descent."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from demos import cost_surface, newton
from test_demos import needs_data, run_demo
from test_lecture_demos import picture_as_expected


def test_first_and_second_derivative_of_a_polynomial():
    for x in (-1.5, 0.0, 2.25):
        assert newton.first_and_second_derivative(lambda t: t ** 4 - 3 * t ** 3, x) == pytest.approx(
            (4 * x ** 3 - 9 * x ** 2, 12 * x ** 2 - 18 * x), rel=1e-12, abs=1e-12)


def test_one_dimensional_iterates_follow_each_rule_to_ln_2():
    f = lambda x: x.exp() - 2 * x
    newton_xs = newton.one_dimensional(f, 2.0, lambda g, h: g / h)
    descent_xs = newton.one_dimensional(f, 2.0, lambda g, h: 0.1 * g)
    for xs, rule in ((newton_xs, lambda x: x - (math.exp(x) - 2) / math.exp(x)),
                     (descent_xs, lambda x: x - 0.1 * (math.exp(x) - 2))):
        for a, b in zip(xs, xs[1:]):
            assert b == pytest.approx(rule(a), rel=1e-13)
        assert xs[-1] == pytest.approx(math.log(2), abs=1e-9)
    assert len(newton_xs) < 10 < 50 < len(descent_xs)  # quadratic against linear convergence


def neuron_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((n, 1)).astype(np.float32)
    return s, (s + rng.standard_normal((n, 1)) > 0).astype(np.float32)


def test_the_hessian_from_two_grads_matches_finite_differences_of_the_gradient():
    s, y = neuron_data()
    cost = newton.neuron_cost(s, y)
    theta, h = np.array([0.7, -0.4]), 1e-6
    c, gradient, H = newton.hessian(cost, theta)
    assert c == pytest.approx(np.mean((y[:, 0] - 1 / (1 + np.exp(-(0.7 * s[:, 0].astype(np.float64) - 0.4)))) ** 2) / 2)
    numeric = np.stack([(newton.hessian(cost, theta + h * e)[1] - newton.hessian(cost, theta - h * e)[1]) / (2 * h)
                        for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(H, numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(H, H.T, rtol=1e-12)


def test_newton_solves_a_quadratic_in_one_step_and_damps_where_the_cost_curves_down():
    import tinygrad_edu as tg
    A, b = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, -1.0])
    quadratic = lambda t: 0.5 * (t @ (tg.tensor(A) @ t)) - (tg.tensor(b) * t).sum()
    r = newton.newton(quadratic, (5.0, 5.0), target=-np.inf, max_updates=1)
    np.testing.assert_allclose(r["path"][-1], np.linalg.solve(A, b), rtol=1e-12)
    assert r["damped"] == 0
    saddle = lambda t: (t[0] ** 2 - t[1] ** 2) / 2 + t[1] ** 4 / 4  # minima at (0, ±1); at (1, 0.1) H = diag(1, −0.97)
    r = newton.newton(saddle, (1.0, 0.1), target=-0.25 + 1e-9, max_updates=50)
    assert r["damped"] >= 1 and r["reached"]
    np.testing.assert_allclose(np.abs(r["path"][-1]), [0.0, 1.0], atol=1e-4)  # a minimum, not the saddle at 0


def test_a_newton_step_that_would_raise_the_cost_is_damped_until_it_lowers_it():
    # √(1 + x²) curves upwards everywhere, yet the plain Newton step from x = 2 lands at x = −8 (−x³), higher up
    cost = lambda t: (1 + t[0] ** 2).sqrt() + t[1] ** 2 / 2
    r = newton.newton(cost, (2.0, 1.0), target=1 + 1e-9, max_updates=100)
    costs = [cost(tg.tensor(theta)).item() for theta in r["path"]]
    assert r["reached"] and all(b < a for a, b in zip(costs, costs[1:])), costs
    assert r["damped"] >= 1


def test_newton_and_cnn_refuse_to_draw_over_a_file_that_is_not_a_picture(tmp_path, capsys):
    from demos import cli
    network = tmp_path / "model.npz"
    network.write_bytes(b"PK\x03\x04 a saved network")
    for command in ("newton", "cnn"):
        with pytest.raises(SystemExit):
            cli.main([command, "--png", str(network)])
        assert "--png" in capsys.readouterr().err and network.read_bytes().startswith(b"PK")


@needs_data
def test_newton_reaches_the_target_in_far_fewer_updates_than_gradient_descent(tmp_path, capsys):
    png = tmp_path / "n.png"
    result = run_demo("newton", "--subset", "3000", "--quiet", "--png", str(png))
    out = capsys.readouterr().out
    descent, second = result["results"].values()
    for r in (descent, second):
        assert r["reached"] and r["cost"] <= result["target"]
        assert tuple(r["path"][0]) == (4.0, 4.0)
        w, b = r["path"][-1]
        assert cost_surface.cost_at(result["s"], result["y"], w, b) == pytest.approx(r["cost"], rel=1e-3)
    assert second["updates"] * 20 < descent["updates"]
    assert f"{second['updates']:>8,}" in out and f"{descent['updates']:>8,}" in out
    assert picture_as_expected(png)
