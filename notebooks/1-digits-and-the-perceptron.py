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
# # Part 1: the digits, and the perceptron
#
# The lecture starts with the data: 70,000 handwritten digits (MNIST), each 28×28 gray values,
# and a first learning machine, the perceptron. This notebook finds the digits through
# `TINYGRAD_EDU_DATA` (a folder holding `mnist/`), as the demos do; `tinygrad-edu show-digits`
# and `tinygrad-edu perceptron` are the same steps as commands.
#
# To run in under two minutes on two cores, the perceptron here learns from the first
# **10,000** training digits for **one** pass; `tinygrad-edu perceptron` uses all 60,000 for
# three passes (88% test accuracy on average over five seeds, see docs/results.md).

# %%
import matplotlib.pyplot as plt
import numpy as np

import nn
import tinygrad_edu as tg
from demos import common, show_digits, train
from tinygrad_edu.data import load_mnist

X_train, y_train = load_mnist(train=True)   # pixels scaled to [0, 1], one row of 784 per digit
X_test, y_test = load_mnist(train=False)
X_train.shape, y_train[:10]

# %% [markdown]
# ## A digit is a 28×28 matrix of numbers from 0.0 (white) to 1.0 (black)
#
# Here are the middle rows of the first training digit, one decimal each, and then the first
# 100 digits as pictures.

# %%
first = X_train[0].reshape(28, 28)
print(f"label {y_train[0]}")
print("\n".join(" ".join(f"{v:.1f}" for v in row[4:24]) for row in first[6:22]))

# %%
fig, ax = plt.subplots(figsize=(5, 5))
ax.imshow(show_digits.digit_grid(X_train[:100]), cmap="gray")   # the demo's own grid of 10 x 10 digits
ax.set_title("the first 100 training digits")
ax.axis("off")
plt.show()

# %% [markdown]
# ## One perceptron
#
# A perceptron adds up its inputs, each times a weight, and fires (outputs 1) when the sum reaches
# a threshold θ: y = step(w·x + b), with the bias b = −θ. In tinygrad-edu that is a `Linear`
# layer followed by `Step`. By hand, with three inputs:

# %%
w = tg.tensor([[0.6, -0.4, 0.2]])
b = tg.tensor([-0.3])                      # threshold θ = 0.3
for x in ([1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [1.0, 1.0, 1.0]):
    z = tg.tensor([x]) @ w.T + b
    print(f"x = {x}: z = w·x + b = {z.item():+.1f}, fires: {z.step().item():.0f}")

# %% [markdown]
# ## Ten perceptrons, one per digit, learning by the perceptron rule
#
# Unit j should fire for digit j only: its target is t_j = 1 for the right digit and 0 for the nine
# others. After each example every unit moves by the perceptron rule,
# w ← w + η (t − y) x and b ← b + η (t − y): a unit that was right does not move, a wrong one moves
# its weights towards (or away from) the digit it got wrong. That rule is stochastic gradient descent
# on J = ½‖t − y‖², one example at a time, which is how the demo writes it (`nn.Step` passes the
# gradient straight through the step). A digit is read as the unit with the largest z.

# %%
X_small, y_small = X_train[:10_000], y_train[:10_000]
units = nn.Linear(784, 10, init="zeros")
model = nn.Sequential(units, nn.Step())
model          # a module shows its layers and their parameters

# %%
optimizer = nn.optim.SGD(model.parameters(), lr=1.0)
step = train.make_step(model, nn.MSELoss(), optimizer)        # the demo's training step, replayed by tg.jit
for epoch, loss in common.train_epochs(model, step, X_small, nn.one_hot(y_small, 10).numpy(),
                                       epochs=1, batch_size=1, seed=0, quiet=True):
    print(f"epoch {epoch + 1}: {2 * loss:.3f} wrong units per example on average")
accuracy = common.accuracy(units, X_test, y_test)             # argmax of z = Wx + b
print(f"test accuracy after one pass over 10,000 digits: {accuracy:.2%} (chance: 10%)")

# %% [markdown]
# ## What each unit has learned
#
# Each unit's 784 weights, drawn as a 28×28 image: red pixels push its sum up (ink there makes it
# fire), blue pull it down.

# %%
fig, axes = plt.subplots(1, 10, figsize=(13, 1.8))
for digit, ax in enumerate(axes):
    weights = units.weight.numpy()[digit].reshape(28, 28)
    limit = np.abs(weights).max()
    ax.imshow(weights, cmap="bwr", vmin=-limit, vmax=limit)
    ax.set_title(f"unit {digit}")
    ax.axis("off")
plt.show()

# %%
z = units(tg.Tensor(X_test[:1]))
z          # a tensor shows its shape, dtype and the op that made it
