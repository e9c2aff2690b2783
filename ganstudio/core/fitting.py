"""Networks built only once their settings are known to fit the weights: a network is first built on PyTorch's
meta device (no memory), every parameter and buffer shape is compared with the file's tensors, and only then is it
made real. A file whose settings lie (a capacity of 200,000 with 64-wide weights) is refused in one sentence
instead of allocating terabytes."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ganstudio.core.errors import CheckpointError

SLACK_BYTES = 1 << 20  # non-persistent buffers (filters, constants) a network may hold beyond its weights


def _shape(t: torch.Tensor) -> str:
    return "[" + ", ".join(str(d) for d in t.shape) + "]"


def _nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def check_fits(meta: nn.Module, state: dict[str, torch.Tensor], what: str, name: str) -> None:
    """Raise a CheckpointError (one sentence) unless `state` has exactly the names and shapes of `meta`'s state
    dict and `meta` needs no more memory than those tensors account for."""
    problem = ""
    expected = meta.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(expected[k].shape) != tuple(state[k].shape)]
    if wrong:
        k = wrong[0]
        problem = f"{k} is {_shape(state[k])} in the file but {_shape(expected[k])} for those settings"
    elif missing:
        problem = f"the file lacks {len(missing)} tensor{'s' * (len(missing) > 1)} such as {missing[0]}"
    elif unexpected:
        problem = (f"the file has {len(unexpected)} tensor{'s' * (len(unexpected) > 1)} the settings do not, "
                   f"such as {unexpected[0]}")
    if problem:
        raise CheckpointError(f"the {what} weights in {name} do not match the architecture its settings describe "
                              f"({problem})")
    needed = _nbytes(list(meta.parameters()) + list(meta.buffers()))
    held = _nbytes(state.values())
    if needed > held + SLACK_BYTES:
        raise CheckpointError(f"the {what} in {name} would need {needed / 2**20:.0f} MB but its weights hold only "
                              f"{held / 2**20:.0f} MB, so its settings do not describe these weights")


def _all_in_state_dict(module: nn.Module) -> bool:
    """True when the state dict restores every tensor of the module (no non-persistent buffers, no tensors kept
    as plain attributes), so an uninitialized copy is complete once loaded."""
    for m in module.modules():
        if m._non_persistent_buffers_set or any(isinstance(v, torch.Tensor) for v in vars(m).values()):
            return False
    return True


def build_fitted(build: Callable[[], nn.Module], state: dict[str, torch.Tensor], what: str, name: str,
                 device: torch.device | str = "cpu", skip_init: bool = False) -> nn.Module:
    """`build()` checked on the meta device against `state`, then made real on `device` with those weights, in
    eval mode without gradients. skip_init: materialize the meta network uninitialized (for networks whose every
    tensor is in their state dict) instead of building it again."""
    try:
        with torch.device("meta"):
            meta = build()
    except CheckpointError:
        raise
    except (RuntimeError, ValueError, TypeError, KeyError, ZeroDivisionError, OverflowError) as exc:
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise CheckpointError(f"the {what} settings in {name} cannot be built ({detail})") from None
    check_fits(meta, state, what, name)
    # to_empty skips random initialization, which a 1024-px generator would spend seconds on
    module = meta.to_empty(device="cpu") if skip_init and _all_in_state_dict(meta) else build()
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).splitlines()[-1].strip()[:160]
        raise CheckpointError(f"the {what} weights in {name} do not match the architecture its settings describe "
                              f"({detail})") from None
    return module.to(device).eval().requires_grad_(False)
