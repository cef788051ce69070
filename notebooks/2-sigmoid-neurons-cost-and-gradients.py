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
# # Part 2: sigmoid neurons, the cost, and its gradient two ways
#
# A perceptron's output jumps from 0 to 1, so a small change of a weight either does nothing or
# flips it: there is nothing to learn from by small steps. The sigmoid neuron's output
# σ(z) = 1/(1 + e⁻ᶻ) moves a little for a little change. The network learns by making its cost C
# smaller, and needs to know how C changes with each weight: the gradient ∂C/∂w. This notebook
# gets it two ways, by nudging a weight and watching C (finite differences) and by backpropagation,
# and draws the graph that backpropagation walks.
#
# The data comes from `TINYGRAD_EDU_DATA`. The cost here is over 10 training digits, as in
# `tinygrad-edu numerical-gradient`; finite differences are taken for the 310 weights and biases of
# the second layer and a few of the first (all 23,860 take about a minute: run the demo for that).

# %%
import matplotlib.pyplot as plt
import numpy as np

import nn
import tinygrad_edu as tg
from demos import common, sigmoid_vs_step
from tinygrad_edu.data import load_mnist

X_train, y_train = load_mnist(train=True)

# %% [markdown]
# ## The step and the sigmoid

# %%
z = tg.linspace(-6, 6, 241)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(z.numpy(), z.step().numpy(), label="step(z): the perceptron")
ax.plot(z.numpy(), z.sigmoid().numpy(), label="σ(z) = 1/(1 + e⁻ᶻ): the sigmoid neuron")
ax.set(xlabel="z = w·x + b", ylabel="output")
ax.legend()
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# One neuron on one digit, put just below its threshold; then a few of its weights are nudged by
# Δw = 0.05. The step output jumps by a whole unit; σ moves by a little, by just what calculus
# predicts, Δσ ≈ Σⱼ ∂σ/∂wⱼ Δwⱼ, with the ∂σ/∂wⱼ from backprop (the demo `sigmoid-vs-step`, on the
# first digit):

# %%
x = tg.Tensor(X_train[0].astype(np.float64))
w = tg.Tensor(np.random.default_rng(0).normal(0, 0.01, 784), requires_grad=True)
lit = np.flatnonzero(X_train[0] > 0.9)[:5]                  # five pixels of the stroke
b = -float((w.data * x.data).sum()) - 0.02                  # z = w·x + b just below 0
step_before, sigmoid_before, out = sigmoid_vs_step.neuron_outputs(w, b, x)
out.backward()                                              # w.grad = ∂σ/∂w
nudge = np.zeros(784)
nudge[lit] = 0.05
with tg.no_grad():
    step_after, sigmoid_after, _ = sigmoid_vs_step.neuron_outputs(tg.Tensor(w.data + nudge), b, x)
print(f"step:    {step_before:.0f} -> {step_after:.0f}")
print(f"sigmoid: {sigmoid_before:.6f} -> {sigmoid_after:.6f}, a change of {sigmoid_after - sigmoid_before:.6f}")
print(f"predicted by Σ ∂σ/∂w Δw:                {float((w.grad.data * nudge).sum()):.6f}")

# %% [markdown]
# ## The network and its cost
#
# The lecture's network: 784 inputs, 30 sigmoid hidden neurons, 10 sigmoid outputs, weights drawn
# from N(0, 1). Its quadratic cost over n examples is C = 1/(2n) Σₓ ‖y(x) − a‖², with y(x) the
# one-hot target (1 for the right digit) and a the network's 10 outputs. In float64, so that finite
# differences are accurate.

# %%
model = common.mlp([784, 30, 10], "sigmoid", init="normal", seed=0, final_activation=True, dtype=np.float64)
images = tg.Tensor(X_train[:10].astype(np.float64))
targets = nn.one_hot(y_train[:10], 10, dtype=np.float64)
cost_fn = nn.MSELoss()                     # the lecture's quadratic cost
model

# %%
cost = cost_fn(model(images), targets)
cost

# %% [markdown]
# ## The graph backpropagation walks
#
# Every tensor the cost was computed from, one box each, an arrow for each input of an op; the
# parameters are named as the model names them. (Drawn before `backward`, which frees the graph.)

# %%
params = dict(model.named_parameters())
drawing = tg.draw_graph(cost, {"x": images, "y": targets, **params})
drawing

# %%
cost.backward()                             # ∂C/∂w for all 23,860 weights and biases, in one pass
drawing.save("graph.html")                  # the same graph, with every gradient, to click through in a browser
print("saved graph.html: open it in a browser (or run `tinygrad-edu graph --html graph.html`)")

# %% [markdown]
# ## Nudge one weight and watch the cost
#
# ∂C/∂w is how much C changes per unit change of w. The direct way to measure it: change w by a
# small h and see (C(w + h) − C(w − h)) / 2h.

# %%
weight, h = params["0.weight"], 1e-6
pixel = int(np.argmax(X_train[0]))
with tg.no_grad():
    weight.data[0, pixel] += h
    up = cost_fn(model(images), targets).item()
    weight.data[0, pixel] -= 2 * h
    down = cost_fn(model(images), targets).item()
    weight.data[0, pixel] += h
print(f"finite difference: ∂C/∂w[0, {pixel}] ≈ {(up - down) / (2 * h):.10f}")
print(f"backpropagation:   ∂C/∂w[0, {pixel}] = {weight.grad.numpy()[0, pixel]:.10f}")

# %% [markdown]
# ## The whole second layer both ways
#
# `tg.numerical_grad` nudges every number of the tensors it is given, two evaluations of the
# network each: 620 for the second layer's 310 weights and biases. Backprop gave all of them, and
# the first layer's 23,550, from one backward pass.

# %%
second_layer = [params["2.weight"], params["2.bias"]]
numeric = tg.numerical_grad(lambda *_: cost_fn(model(images), targets), second_layer, h=1e-6)
for name, p, n in zip(["2.weight", "2.bias"], second_layer, numeric):
    print(f"{name}: largest |backprop − finite difference| = {np.abs(p.grad.numpy() - n).max():.2e}")

fig, ax = plt.subplots(figsize=(4.5, 4))
ax.scatter(numeric[0].ravel(), params["2.weight"].grad.numpy().ravel(), s=8)
ax.set(xlabel="finite difference", ylabel="backpropagation", title="∂C/∂w for the 300 weights of layer 2")
ax.axline((0, 0), slope=1, color="gray", lw=0.8)
plt.show()
