# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Part 3: gradient descent, SGD and mini-batches, and the cost surface
#
# Learning is going downhill on the cost: w ← w − η ∂C/∂w. The three variants differ only in how
# many examples each step's gradient is averaged over: all of them (full-batch gradient descent),
# one (stochastic gradient descent, SGD) or a mini-batch of m (mini-batch SGD).
#
# To run in under two minutes on two cores, the race below uses the first **6,000** training
# digits for **2** passes; `tinygrad-edu descent-variants` runs all 60,000 for 3 (its results are
# in docs/results.md). The cost surface uses every 0 and 1 of the training set, as
# `tinygrad-edu cost-surface` does. The data comes from `TINYGRAD_EDU_DATA`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from demos import common, cost_surface, descent_variants
from tinygrad_edu.data import load_mnist

X_train, y_train = load_mnist(train=True)
X_test, y_test = load_mnist(train=False)
X_small, y_small = X_train[:6000], y_train[:6000]

# %% [markdown]
# ## Three variants from the same start
#
# The same 784-30-10 network, the same initial weights, the same number of examples seen by each
# (12,000): full-batch descent makes 2 updates, SGD 12,000 and mini-batch SGD (m = 10) 1,200. SGD's
# steps are noisier, so it gets a smaller η. The cost is measured on 2,000 training digits along the way.

# %%
variants = {"full-batch GD": (len(X_small), 3.0), "SGD (m = 1)": (1, 0.5), "mini-batch SGD (m = 10)": (10, 3.0)}
curves = {}
for name, (batch_size, lr) in variants.items():
    model = common.mlp([784, 30, 10], "sigmoid", init="normal", seed=0, final_activation=True)
    curves[name] = descent_variants.descend(model, X_small, y_small, batch_size, lr, epochs=2, seed=0,
                                            probe=2000, quiet=True, desc=name)
    curves[name]["test_accuracy"] = common.accuracy(model, X_test, y_test)
    print(f"{name:<24} {curves[name]['updates'][-1]:>6} updates, cost {curves[name]['cost'][-1]:.4f}, "
          f"test accuracy {curves[name]['test_accuracy']:.2%}, {curves[name]['seconds']:.1f} s")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for name, c in curves.items():
    axes[0].plot(c["updates"][1:], c["cost"][1:], marker=".", label=name)
    axes[1].plot(c["examples"][1:], c["cost"][1:], marker=".", label=name)
for ax, xlabel in zip(axes, ["updates (steps taken)", "examples seen"]):
    ax.set(xscale="log", xlabel=xlabel, ylabel="quadratic cost C")
    ax.grid(alpha=0.3)
axes[0].legend()
plt.show()

# %% [markdown]
# For the same examples seen, full-batch descent has taken two careful steps while the others have
# taken hundreds or thousands of rough ones, and are far further down.
#
# ## The whole cost surface of a neuron with two parameters
#
# A network's cost depends on thousands of weights; we can only ever look at a slice of it. One
# sigmoid neuron with one input has two parameters, a = σ(w·s + b), so its cost C(w, b) is a surface
# over the plane, and a picture shows all of it. The input s is how much ink a digit has
# (standardised); the neuron tells 0s (target 0) from 1s (target 1), which use less ink.

# %%
s, y01 = cost_surface.ink_feature(X_train, y_train, (0, 1))
ws = np.linspace(-10, 6, 81, dtype=np.float32)
bs = np.linspace(-8, 8, 81, dtype=np.float32)
C = cost_surface.cost_grid(s, y01, ws, bs)                     # C at every (w, b) of the grid
target = float(C.min()) + 0.005
print(f"{len(s):,} digits; lowest cost on the grid {C.min():.4f}; each variant stops at C ≤ {target:.4f}")

paths = {}
for name, batch_size in {"SGD (m = 1)": 1, "mini-batch SGD (m = 10)": 10, "full-batch GD": len(s)}.items():
    paths[name] = cost_surface.descend(s, y01, (4.0, 4.0), batch_size, lr=3.0, target=target,
                                       max_updates=2000, seed=0)
    print(f"{name:<24} {paths[name]['updates']:>5} updates, {paths[name]['examples']:>10,} examples seen")

# %%
fig, ax = plt.subplots(figsize=(7, 5.5))
filled = ax.contourf(ws, bs, C, levels=20, cmap="viridis")
fig.colorbar(filled, ax=ax, label="quadratic cost C(w, b)")
for (name, r), colour in zip(paths.items(), ("orange", "red", "white")):
    ax.plot(r["path"][:, 0], r["path"][:, 1], color=colour, lw=1, label=f"{name}: {r['updates']} updates")
ax.plot(4, 4, "s", color="white", label="start")
ax.set(xlabel="weight w", ylabel="bias b", title="one sigmoid neuron on the ink of 0s and 1s")
ax.legend(fontsize=8, loc="lower left")
plt.show()

# %% [markdown]
# All three walk the same curved path and need about the same number of updates, but SGD has looked
# at one digit per update and full-batch descent at all of them per update: one example already
# points down this surface nearly as well as all of them do.
