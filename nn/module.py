"""`Module`, the container for parameters, and `Parameter`, a tensor that is learned."""

from __future__ import annotations

import html
from collections import namedtuple

import numpy as np

import tinygrad_edu as tg


class Parameter(tg.Tensor):
    """A tensor that requires grad and that a `Module` lists among its parameters."""

    __slots__ = ()

    def __init__(self, data, dtype=None):
        super().__init__(data, dtype=dtype, requires_grad=True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Module:
    """Base class of layers and networks.

    Assigning a `Parameter` or a `Module` to an attribute registers it, in order, so that
    ``parameters()`` finds every weight and bias of a network without being told, and
    ``state_dict()`` names them by their dotted path (``"0.weight"``, as PyTorch does).
    ``register_buffer`` registers a tensor that is saved with the weights but not learned
    (BatchNorm's running mean). Subclasses call ``super().__init__()`` first and define ``forward``.
    """

    def __init__(self):
        object.__setattr__(self, "_registered", {})  # attribute name -> "parameter", "module" or "buffer", in order
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        registered = self.__dict__.get("_registered")
        if registered is None:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ before setting attributes")
        if isinstance(value, Parameter):
            registered[name] = "parameter"
        elif isinstance(value, Module):
            registered[name] = "module"
        elif registered.get(name) == "buffer":
            if value is not None and not isinstance(value, tg.Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} to buffer {name!r}: a Tensor (or None) is "
                                "expected; del the attribute first to store something else")
            # a new tensor for a buffer stays a buffer, as in PyTorch
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

    def add_module(self, name: str, module: "Module | None") -> None:
        """Register ``module`` under ``name`` (what ``self.name = module`` does, for names made at run time)."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"add_module: {type(module).__name__} is not a Module")
        self._check_new_name(name)
        setattr(self, name, module)

    def register_buffer(self, name: str, tensor: "tg.Tensor | None") -> None:
        """Register a tensor that belongs to the module's state but is not learned.

        A buffer is in ``state_dict()`` (and so in saved weights and checkpoints), follows
        ``double()``/``float()``, and is not in ``parameters()``: no optimizer changes it.
        """
        if not isinstance(tensor, tg.Tensor) or isinstance(tensor, Parameter):
            if tensor is not None:
                raise TypeError(f"register_buffer: {name!r} must be a Tensor that is not a Parameter (or None), "
                                f"got {type(tensor).__name__}")
        self._check_new_name(name)
        if self._registered.get(name, "buffer") != "buffer":
            raise KeyError(f"{name!r} is already a {self._registered[name]} of {type(self).__name__}")
        self._registered[name] = "buffer"
        object.__setattr__(self, name, tensor)

    def _check_new_name(self, name) -> None:
        if not isinstance(name, str):
            raise TypeError(f"a module or buffer name must be a str, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"a module or buffer name must be non-empty and without dots, got {name!r}")
        if hasattr(self, name) and name not in self._registered:
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")

    # ---------------------------------------------------------------------------- traversal
    def named_children(self):
        for name in self._registered:
            value = getattr(self, name)
            if isinstance(value, Module):
                yield name, value

    def children(self):
        return (child for _, child in self.named_children())

    def named_modules(self, prefix: str = ""):
        """This module and every module inside it, with dotted names ("" for this one)."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (module for _, module in self.named_modules())

    def _named_members(self, kind: str):
        """(dotted name, tensor) of every registered ``kind``, each tensor once even if shared."""
        seen = set()
        for module_name, module in self.named_modules():
            for name, registered_kind in module._registered.items():
                value = getattr(module, name)
                if registered_kind == kind and value is not None and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self):
        """(dotted name, parameter) for every parameter, each once even if shared by several layers."""
        return self._named_members("parameter")

    def parameters(self):
        return (p for _, p in self.named_parameters())

    def named_buffers(self):
        return self._named_members("buffer")

    def buffers(self):
        return (b for _, b in self.named_buffers())

    def apply(self, fn) -> "Module":
        """Call ``fn(module)`` on every sub-module, then on this one (e.g. to initialise weights)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    @tg.jit.live  # a jitted training step calls it for real on every replay
    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data.fill(0)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Switch gradients on or off for every parameter (off: a frozen layer)."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def train(self, mode: bool = True) -> "Module":
        """Switch this module and all inside it to training mode (or evaluation mode)."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    # ------------------------------------------------------------------------------ dtype
    def to(self, dtype) -> "Module":
        """Convert every parameter and floating-point buffer (and gradient) to ``dtype``, in place.

        The tensors stay the same objects, so an optimizer made before still updates them.
        Only float32 and float64 are possible; gradchecking a layer needs float64 (``double()``).
        ``to("cpu")`` is accepted for PyTorch code and changes nothing: everything here is on the CPU.
        """
        if isinstance(dtype, str) and dtype.split(":")[0] in ("cpu", "cuda", "mps"):
            if dtype != "cpu":
                raise RuntimeError(f"to({dtype!r}): tinygrad-edu computes with NumPy on the CPU only")
            return self
        dtype = np.dtype(dtype)
        if dtype not in _FLOAT_DTYPES:
            raise TypeError(f"{type(self).__name__}.to: only float32 or float64 is possible, got {dtype}")
        for t in list(self.parameters()) + list(self.buffers()):
            if t.dtype in _FLOAT_DTYPES:
                t.data = t.data.astype(dtype)
                if t.grad is not None:
                    t.grad.data = t.grad.data.astype(dtype)
        return self

    def double(self) -> "Module":
        return self.to(np.float64)

    def float(self) -> "Module":
        return self.to(np.float32)

    # ----------------------------------------------------------------------------- weights
    def _state_tensors(self) -> dict:
        """{dotted name: tensor} for every parameter and buffer, in registration order."""
        state = {}
        for module_name, module in self.named_modules():
            for name, kind in module._registered.items():
                value = getattr(module, name)
                if kind != "module" and value is not None:
                    state.setdefault(f"{module_name}.{name}" if module_name else name, value)
        return state

    def state_dict(self) -> dict:
        """{dotted name: copy of the array} for every parameter and buffer, in registration order.

        Copies, so the dict is a snapshot that later training does not change (PyTorch's holds
        tensors that share the parameters' memory)."""
        return {name: t.data.copy() for name, t in self._state_tensors().items()}

    def load_state_dict(self, state: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays into the parameters and buffers by name; return ``(missing_keys, unexpected_keys)``.

        With ``strict`` (the default), any missing or unexpected key is a RuntimeError listing them.
        A shape that differs, or a value that is not numbers (text, None, objects), is always an
        error naming the key. Everything is checked and converted before anything is copied: a
        failed load changes nothing.
        """
        own = self._state_tensors()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}: "
                               f"missing keys {missing}, unexpected keys {unexpected}")
        converted = {}
        for name, value in state.items():
            if name not in own:
                continue
            array = np.asarray(value)
            if array.dtype.kind not in "biuf":  # "2.5" or None would become a number unseen
                raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}: {name!r} holds "
                                   f"{array.dtype} values, not numbers")
            if array.shape != own[name].shape:
                raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}: size mismatch for "
                                   f"{name!r}: the saved array has shape {array.shape}, "
                                   f"the model's has shape {own[name].shape}")
            converted[name] = array.astype(own[name].dtype)
        for name, array in converted.items():
            own[name].data[...] = array
        return IncompatibleKeys(missing, unexpected)

    def save(self, path) -> None:
        """Save the parameters and buffers to an .npz file (plain arrays, no pickle), replacing it atomically."""
        with tg.atomic_file(path) as file:
            np.savez(file, **self.state_dict())

    def load(self, path) -> None:
        """Load weights saved by `save` (refuses pickled content, and anything but a regular file).

        Each array's size, as the file claims it, is checked before it is read: no array may be
        larger than this module's largest (a damaged or hostile file cannot make us read gigabytes).
        """
        largest = max((t.data.nbytes for t in self._state_tensors().values()), default=0)
        with tg.open_regular(path) as file, np.load(file, allow_pickle=False) as archive:
            for info in archive.zip.infolist():
                if info.file_size > largest + 4096:  # the .npy header is a few hundred bytes
                    raise RuntimeError(f"{path}: {info.filename} claims {info.file_size:,} bytes, more than any "
                                       f"array of this {type(self).__name__} ({largest:,} bytes): not these weights")
            self.load_state_dict({name: archive[name] for name in archive.files})

    # ------------------------------------------------------------------------------- display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(children) + "\n)"

    def _repr_html_(self) -> str:
        """Jupyter's rich view: the tree of modules, each with its own parameters' shapes and the number of
        values it learns in all (a parameter shared by two layers counts in each, and once in the total)."""

        def tree(name: str, module: "Module") -> str:
            total = sum(p.numel() for p in module.parameters())
            own = [f"{n} {tuple(getattr(module, n).shape)}" for n, kind in module._registered.items()
                   if kind == "parameter" and getattr(module, n) is not None]
            line = (f"({name}) " if name else "") + f"{type(module).__name__}({module.extra_repr()})"
            line = f"<b>{html.escape(line)}</b>" + (f" · {total:,} parameters" if total else "")
            line += "".join(f" · {html.escape(o)}" for o in own)
            children = "".join(tree(n, child) for n, child in module.named_children())
            return f"<li>{line}{f'<ul>{children}</ul>' if children else ''}</li>"

        return f'<ul class="tg-module" style="font-family:monospace">{tree("", self)}</ul>'
