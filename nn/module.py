"""`Module`, the container for parameters, and `Parameter`, a tensor that is learned."""

from __future__ import annotations

import numpy as np

import tinygrad_edu as tg


class Parameter(tg.Tensor):
    """A tensor that requires grad and that a `Module` lists among its parameters."""

    __slots__ = ()

    def __init__(self, data, dtype=None):
        super().__init__(data, dtype=dtype, requires_grad=True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and networks.

    Assigning a `Parameter` or a `Module` to an attribute registers it, in order, so that
    ``parameters()`` finds every weight and bias of a network without being told, and
    ``state_dict()`` names them by their dotted path (``"0.weight"``, as PyTorch does).
    Subclasses call ``super().__init__()`` first and define ``forward``.
    """

    def __init__(self):
        object.__setattr__(self, "_registered", {})  # names of parameter/module attributes, in order
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        registered = self.__dict__.get("_registered")
        if registered is None:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ before setting attributes")
        if isinstance(value, (Parameter, Module)):
            registered[name] = None
        else:
            registered.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._registered.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *inputs, **kwargs):
        return self.forward(*inputs, **kwargs)

    # ---------------------------------------------------------------------------- traversal
    def named_children(self):
        for name in self._registered:
            value = getattr(self, name)
            if isinstance(value, Module):
                yield name, value

    def named_modules(self, prefix: str = ""):
        """This module and every module inside it, with dotted names ("" for this one)."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_parameters(self):
        """(dotted name, parameter) for every parameter, each once even if shared by several layers."""
        seen = set()
        for module_name, module in self.named_modules():
            for name in module._registered:
                value = getattr(module, name)
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{module_name}.{name}" if module_name else name), value

    def parameters(self):
        return (p for _, p in self.named_parameters())

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> "Module":
        """Switch this module and all inside it to training mode (or evaluation mode)."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    # ----------------------------------------------------------------------------- weights
    def state_dict(self) -> dict:
        """{dotted name: copy of the parameter's array}, in registration order."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays into the parameters by name. With ``strict``, the names must match exactly."""
        params = dict(self.named_parameters())
        if strict:
            missing = [k for k in params if k not in state]
            unexpected = [k for k in state if k not in params]
            if missing or unexpected:
                raise KeyError(f"state dict does not match {type(self).__name__}: missing keys {missing}, "
                               f"unexpected keys {unexpected}")
        for name, value in state.items():
            if name not in params:
                continue
            value = np.asarray(value)
            if value.shape != params[name].shape:
                raise ValueError(f"state dict entry {name!r} has shape {value.shape}, "
                                 f"but the parameter has shape {params[name].shape}")
        for name, value in state.items():  # checked everything first: a failed load changes nothing
            if name in params:
                params[name].data[...] = value

    def save(self, path) -> None:
        """Save the parameters to an .npz file (plain arrays, no pickle), replacing it atomically."""
        with tg.atomic_file(path) as file:
            np.savez(file, **self.state_dict())

    def load(self, path) -> None:
        """Load parameters saved by `save` (refuses pickled content)."""
        with np.load(path, allow_pickle=False) as archive:
            self.load_state_dict({name: archive[name] for name in archive.files})

    # ------------------------------------------------------------------------------- display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(children) + "\n)"
