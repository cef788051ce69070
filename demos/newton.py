"""Newton's method: second derivatives from the engine, against gradient descent, in 1-D and on C(w, b).

Gradient descent moves by the slope: x ← x − η f′(x). Newton's method also uses the curvature:
it jumps to the lowest point of the parabola that touches f at x, x ← x − f′(x)/f″(x), and in n
dimensions θ ← θ − H⁻¹∇C with the Hessian H of second derivatives. Near a minimum it converges
quadratically (the number of correct digits doubles each step), with no learning rate to tune.

The engine gives f″ as it gives f′: backward is itself a computation, so ``tg.autograd.grad`` with
``create_graph=True`` records it, and a second ``grad`` differentiates the gradient. First on
f(x) = eˣ − 2x (minimum at x = ln 2), then on the two-parameter cost C(w, b) of one sigmoid neuron
on the ink of two digits (the surface of ``cost-surface``), whose 2×2 Hessian comes from the
gradient's two components. Where C is not convex (H has a negative eigenvalue, which is where a
sigmoid saturates) a pure Newton step heads for a maximum or a saddle, so the step here adds μI to H
with the smallest μ that makes it positive definite, and more where a step would raise C
(Levenberg–Marquardt damping).
"""

from __future__ import annotations

import math

import numpy as np

import tinygrad_edu as tg
from demos import common, cost_surface


def add_arguments(parser) -> None:
    parser.add_argument("--classes", type=cost_surface.digits, default=(0, 1), metavar="A,B",
                        help="the two digits to separate, the first with y = 0 (default 0,1)")
    parser.add_argument("--start", type=cost_surface.point, default=(4.0, 4.0), metavar="W,B",
                        help="where both methods start on C(w, b) (default 4,4)")
    parser.add_argument("--lr", type=common.positive_float, default=3.0,
                        help="learning rate η of gradient descent on C(w, b) (default 3, as cost-surface)")
    parser.add_argument("--tolerance", type=common.positive_float, default=0.005,
                        help="stop when C is this close to the grid's lowest cost (default 0.005)")
    parser.add_argument("--max-updates", type=common.positive_int, default=20_000,
                        help="give up after this many updates (default 20000)")
    parser.add_argument("--png", type=common.picture_file, metavar="PATH", default="newton.png",
                        help="where to save the picture")
    common.add_output_arguments(parser)
    common.add_data_arguments(parser)


def first_and_second_derivative(f, x: float) -> tuple:
    """f′(x) and f″(x) by two grads: the first recorded (create_graph=True), so that it can be differentiated."""
    x = tg.tensor(x, dtype=tg.float64, requires_grad=True)
    (slope,) = tg.autograd.grad(f(x), x, create_graph=True)
    (curvature,) = tg.autograd.grad(slope, x)
    return slope.item(), curvature.item()


def one_dimensional(f, x0: float, step, tolerance: float = 1e-10, max_steps: int = 1000) -> list:
    """Iterates x₀, x₁, ... of x ← x − step(f′, f″) until |f′(x)| < tolerance."""
    xs = [x0]
    while len(xs) <= max_steps:
        slope, curvature = first_and_second_derivative(f, xs[-1])
        if abs(slope) < tolerance:
            break
        xs.append(xs[-1] - step(slope, curvature))
    return xs


def hessian(cost, theta: np.ndarray) -> tuple:
    """C(θ), ∇C and the Hessian H at θ: ∇C from one grad (recorded), row i of H from a grad of ∇C's component i."""
    theta = tg.tensor(theta, requires_grad=True)
    c = cost(theta)
    (gradient,) = tg.autograd.grad(c, theta, create_graph=True)
    rows = [tg.autograd.grad(gradient[i], theta, retain_graph=True)[0].numpy() for i in range(len(theta))]
    return c.item(), gradient.numpy().copy(), np.stack(rows)


def newton(cost, start, target: float, max_updates: int) -> dict:
    """θ ← θ − (H + μI)⁻¹ ∇C from ``start`` until C ≤ target. μ starts at the least that makes H + μI
    positive definite (0 wherever C curves upwards in every direction: then it is Newton's own step);
    a step that would not lower C is not taken: μ grows tenfold and the shorter step, turned towards
    −∇C, is tried instead (Levenberg–Marquardt)."""
    path, damped = [np.array(start, dtype=np.float64)], 0
    c, gradient, H = hessian(cost, path[-1])
    first_hessian = H
    while c > target and len(path) <= max_updates:
        lowest = np.linalg.eigvalsh(H)[0]
        mu = 0.0 if lowest > 1e-6 else 1e-3 - lowest
        while True:
            theta = path[-1] - np.linalg.solve(H + mu * np.eye(len(H)), gradient)
            c_new, gradient_new, H_new = hessian(cost, theta)
            if c_new < c or mu > 1e12:  # (a NaN cost is not lower); μ that large leaves θ where it is
                break
            mu = max(10 * mu, 1e-3)
        damped += mu > 0
        path.append(theta)
        c, gradient, H = c_new, gradient_new, H_new
    return {"path": np.array(path), "cost": c, "updates": len(path) - 1, "damped": damped, "reached": c <= target,
            "hessians": (first_hessian, H)}


def neuron_cost(s: np.ndarray, y: np.ndarray):
    """C(θ) = 1/(2n) Σ (y − σ(w·s + b))² for θ = (w, b), in float64."""
    s, y = tg.tensor(s[:, 0].astype(np.float64)), tg.tensor(y[:, 0].astype(np.float64))
    return lambda theta: ((y - (theta[0] * s + theta[1]).sigmoid()) ** 2).mean() / 2


def run(args) -> dict:
    f = lambda x: x.exp() - 2 * x  # f′ = eˣ − 2, f″ = eˣ: the minimum is at x = ln 2
    eta = 0.1
    runs = {"Newton x ← x − f′/f″": one_dimensional(f, 2.0, lambda g, h: g / h),
            f"gradient descent x ← x − {eta}·f′": one_dimensional(f, 2.0, lambda g, h: eta * g)}
    print(f"f(x) = eˣ − 2x from x = 2, until |f′(x)| < 1e-10 (the minimum is at x = ln 2 = {math.log(2):.12f}); "
          "f″ from a grad of the grad")
    for name, xs in runs.items():
        shown = ", ".join(f"{x:.12f}" for x in xs[:6]) + (", ..." if len(xs) > 6 else "")
        print(f"  {name:<34} {len(xs) - 1:>4} iterations: {shown}")

    X_train, y_train, _, _ = common.load_data(args)
    s, y = cost_surface.ink_feature(X_train, y_train, args.classes)
    ws, bs = (np.linspace(*cost_surface.W_RANGE, 81, dtype=np.float32), np.linspace(*cost_surface.B_RANGE, 81, dtype=np.float32))
    C = cost_surface.cost_grid(s, y, ws, bs)
    target = float(C.min()) + args.tolerance
    descent = cost_surface.descend(s, y, args.start, len(s), args.lr, target, args.max_updates, args.seed)
    second = newton(neuron_cost(s, y), args.start, target, args.max_updates)
    first, other = args.classes
    print(f"\nC(w, b) of one sigmoid neuron on the standardised ink of {len(s):,} digits ({first}s: y = 0, {other}s: y = 1), "
          f"from w = {args.start[0]:g}, b = {args.start[1]:g} until C ≤ {target:.4f} (the grid's lowest + {args.tolerance:g})")
    print(f"{'method':<36} {'updates':>8} {'final w':>8} {'final b':>8} {'final C':>8}")
    results = {f"full-batch gradient descent, η = {args.lr:g}": descent, "Newton (H from two grads, damped)": second}
    for name, r in results.items():
        w, b = r["path"][-1]
        late = "" if r["reached"] else "  (stopped: --max-updates)"
        print(f"{name:<36} {r['updates']:>8,} {w:>8.2f} {b:>8.2f} {r['cost']:>8.4f}{late}")
    start, end = (np.linalg.eigvalsh(H) for H in second["hessians"])
    print(f"the Hessian's eigenvalues: {start[0]:.4f} and {start[1]:.4f} at the start, {end[0]:.4f} and {end[1]:.4f} at "
          f"Newton's end; steps damped (H not positive definite there, or the full step would raise C): "
          f"{second['damped']} of {second['updates']}")
    draw(args.png, C, ws, bs, results, first, other)
    return {"one_dimensional": runs, "results": results, "grid": C, "ws": ws, "bs": bs, "s": s, "y": y, "target": target}


def draw(path, C, ws, bs, results, first, second) -> None:
    plt = common.pyplot(path)
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(7, 5.5), dpi=80)
    contours = ax.contourf(ws, bs, C, levels=20, cmap="viridis")
    fig.colorbar(contours, ax=ax, label="quadratic cost C(w, b)")
    for (name, r), color, marker in zip(results.items(), ("white", "red"), (None, "o")):
        ax.plot(r["path"][:, 0], r["path"][:, 1], color=color, lw=1.5, marker=marker, ms=4,
                label=f"{name}: {r['updates']:,} updates")
    ax.plot(*next(iter(results.values()))["path"][0], "s", color="white", label="start")
    ax.plot(ws[C.argmin() % len(ws)], bs[C.argmin() // len(ws)], "*", color="yellow", ms=12, label="lowest C on the grid")
    ax.set(xlabel="weight w", ylabel="bias b", title=f"Newton's method against gradient descent ({first}s and {second}s)")
    ax.legend(fontsize=8, loc="lower left")
    common.save_figure(plt, fig, path)
