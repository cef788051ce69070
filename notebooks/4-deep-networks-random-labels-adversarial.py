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
# # Part 4: deep networks, random labels, and adversarial examples
#
# A deeper, wider network with ReLU units, cross-entropy and Adam reaches 98.7% on the test digits
# (`tinygrad-edu deep`, 30 epochs on all 60,000). Is it too good? Two experiments say what such a
# network can do besides generalising: it memorises labels that mean nothing, and a change of the
# input too small for us to notice makes it wrong.
#
# To run in under two minutes on two cores everything here is smaller, and says so: a 784-256-256-10
# network trained for 2 epochs on the first **10,000** training digits; random labels on **1,000**
# digits with the same layer sizes (`tinygrad-edu random-labels --subset 1000` does it with 512 units a
# layer), its test accuracy measured on the first 2,000 test digits; adversarial examples on those
# same **2,000** test digits. The data comes from `TINYGRAD_EDU_DATA`.

# %%
import argparse

import matplotlib.pyplot as plt
import numpy as np

import nn
import tinygrad_edu as tg
from demos import adversarial, common, random_labels, train
from tinygrad_edu.data import load_mnist, random_labels as draw_random_labels

X_train, y_train = load_mnist(train=True)
X_test, y_test = load_mnist(train=False)

# %% [markdown]
# ## A deep network
#
# Two hidden layers of 256 ReLU units, dropout 0.5 while training, cross-entropy on the raw scores,
# Adam with η = 10⁻³ and mini-batches of 128: the recipe of `tinygrad-edu deep`, smaller.

# %%
model = common.mlp([784, 256, 256, 10], "relu", init="pytorch", seed=0, dropout=0.5)
optimizer = nn.optim.Adam(model.parameters(), lr=1e-3)
step = train.make_step(model, nn.CrossEntropyLoss(), optimizer)
for epoch, loss in common.train_epochs(model, step, X_train[:10_000], y_train[:10_000], epochs=2,
                                       batch_size=128, seed=0, quiet=True):
    print(f"epoch {epoch + 1}: training loss {loss:.3f}, test accuracy {common.accuracy(model, X_test, y_test):.2%}")
model

# %% [markdown]
# ## Random labels (Zhang et al.)
#
# Give each training digit a label drawn at random: nothing in the image predicts it. The network
# learns them anyway, all of them, while its test accuracy stays at chance. (The same training, on
# the true labels, for comparison.) Adam's learning rate is halved whenever the training loss stalls
# for 5 epochs, as in the demo.

# %%
settings = argparse.Namespace(sizes=[784, 256, 256, 10], lr=1e-3, patience=4, batch_size=128, seed=0, jit=True, quiet=True)
X_few, y_few = X_train[:1000], y_train[:1000]
shuffled = draw_random_labels(y_few, fraction=1.0, seed=0)     # every label drawn anew
X_check, y_check = X_test[:2000], y_test[:2000]                # test accuracy after every epoch, on 2,000 digits
curves = {"true": random_labels.fit_until_memorised("true", X_few, y_few, X_check, y_check, settings, 30),
          "random": random_labels.fit_until_memorised("random", X_few, shuffled, X_check, y_check, settings, 100)}
for name, c in curves.items():
    print(f"{name} labels: {c['epoch'][-1]} epochs, training accuracy {c['train_accuracy'][-1]:.1%}, "
          f"test accuracy {c['test_accuracy'][-1]:.1%}")

# %%
fig, ax = plt.subplots(figsize=(7, 3.8))
for name, c in curves.items():
    for split, style in (("train", "-"), ("test", "--")):
        ax.plot(c["epoch"], c[f"{split}_accuracy"], style, label=f"{name} labels, {split}")
ax.set(xlabel="epoch", ylabel="accuracy", title="memorising 1,000 randomly labelled digits")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %% [markdown]
# ## Adversarial examples
#
# Backpropagation gives the gradient of the cost with respect to anything it depends on, the input
# too. Moving every pixel by ε along the sign of ∂C/∂x (the fast gradient sign method) raises each
# digit's cost as fast as a change of that size can; the control moves every pixel by ε with random
# signs. If the network falls for the first and not the second, it is the direction that fools it.

# %%
X_eval, y_eval = X_test[:2000], y_test[:2000]
model.eval()                                               # no dropout from here on
cost = nn.CrossEntropyLoss()
gradient = adversarial.input_gradient(model, lambda scores, labels: cost(scores, tg.Tensor(labels)), X_eval, y_eval)
random_signs = np.random.default_rng(0).choice(np.array([-1, 1], dtype=np.float32), size=X_eval.shape)
epsilons = [0.0, 0.05, 0.1, 0.15, 0.2]
along, noise = [], []
for epsilon in epsilons:
    along.append(common.accuracy(model, np.clip(X_eval + np.float32(epsilon) * np.sign(gradient), 0, 1), y_eval))
    noise.append(common.accuracy(model, np.clip(X_eval + np.float32(epsilon) * random_signs, 0, 1), y_eval))
    print(f"ε = {epsilon:.2f}: along sign(∂C/∂x) {along[-1]:.1%}, random ±ε {noise[-1]:.1%}")

# %%
moved = np.clip(X_eval + np.float32(0.1) * np.sign(gradient), 0, 1)
before, after = common.predict(model, X_eval), common.predict(model, moved)
fooled = np.flatnonzero((before == y_eval) & (after != y_eval))[:6]
fig, axes = plt.subplots(2, len(fooled), figsize=(1.8 * len(fooled), 4), squeeze=False)
for k, i in enumerate(fooled):
    axes[0, k].imshow(X_eval[i].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
    axes[0, k].set_title(f"says {before[i]}")
    axes[1, k].imshow(moved[i].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
    axes[1, k].set_title(f"moved: says {after[i]}")
for ax in axes.ravel():
    ax.axis("off")
fig.suptitle("test digits (top) and the same moved by ε = 0.1 along sign(∂C/∂x) (bottom)")
plt.show()
