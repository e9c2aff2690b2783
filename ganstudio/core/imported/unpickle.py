"""Reading foreign network files as data only: no code from the file ever runs.

NVIDIA's network pickles (stylegan2-ada-pytorch, stylegan3) are Python pickles whose networks carry their own
module source and would import and run it when unpickled naively. `read_network_pickle` unpickles with an
allow-list: tensor and storage rebuilding (the storages' bytes are read by `torch.load(weights_only=True)`),
OrderedDict, plain containers, numpy arrays and scalars, dnnlib's EasyDict, and the persistence hook, which here
yields a `PersistentObject`: the recorded class name, the embedded source as text (never executed or imported)
and the object's state. Any other global is refused in one sentence naming it.

rosinality's `.pt` checkpoints are torch.save zip archives, read by `torch.load(weights_only=True)` with
`argparse.Namespace` allowed (and turned into a dict); there is no fallback to unsafe loading.
"""
from __future__ import annotations

import _compat_pickle
import argparse
import io
import pickle
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from ganstudio.core.errors import CheckpointError

PERSISTENCE_HOOK = ("torch_utils.persistence", "_reconstruct_persistent_obj")


@dataclass
class PersistentObject:
    """A persistent_class instance from an NVIDIA pickle, as plain data."""

    class_name: str
    module_src: str = field(repr=False)
    state: dict[str, Any] = field(repr=False)
    version: int | None = None

    @property
    def init_kwargs(self) -> dict[str, Any]:
        return dict(self.state.get("_init_kwargs") or {})

    @property
    def init_args(self) -> tuple:
        return tuple(self.state.get("_init_args") or ())

    def child(self, name: str) -> PersistentObject | None:
        """A submodule by attribute name (None when absent)."""
        child = (self.state.get("_modules") or {}).get(name)
        return child if isinstance(child, PersistentObject) else None

    def state_dict(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """Parameters and persistent buffers of this module and its submodules, named as torch names them."""
        out: dict[str, torch.Tensor] = {}
        skip = set(self.state.get("_non_persistent_buffers_set") or ())
        for kind in ("_parameters", "_buffers"):
            for name, value in (self.state.get(kind) or {}).items():
                if value is None or (kind == "_buffers" and name in skip):
                    continue
                if not isinstance(value, torch.Tensor):
                    raise CheckpointError(f"{prefix}{name} in the network is a {type(value).__name__}, not a tensor")
                out[prefix + name] = value
        for name, module in (self.state.get("_modules") or {}).items():
            if module is None:
                continue
            if not isinstance(module, PersistentObject):
                raise CheckpointError(f"submodule {prefix}{name} of the network is a {type(module).__name__}, "
                                      "which GAN Studio cannot read")
            out.update(module.state_dict(f"{prefix}{name}."))
        return out


class EasyDict(dict):
    """dnnlib.EasyDict stand-in: a dict (attribute access is not needed to read settings)."""


def _reconstruct_persistent_obj(meta: Any) -> PersistentObject:
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise CheckpointError("a persistent object in the file is not a recorded class")
    state = meta.get("state")
    return PersistentObject(class_name=str(meta.get("class_name")), module_src=str(meta.get("module_src") or ""),
                            state=dict(state) if isinstance(state, dict) else {}, version=meta.get("version"))


def _load_storage(data: bytes) -> Any:
    """A storage pickled by torch (its bytes are a torch.save file), read with weights_only."""
    if not isinstance(data, (bytes, bytearray)):
        raise CheckpointError("a tensor storage in the file is not bytes")
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _is_storage(obj: Any) -> bool:
    return isinstance(obj, (torch.TypedStorage, torch.UntypedStorage))


def _rebuild_tensor(storage: Any, offset: int, size: tuple, stride: tuple, *_ignored: Any) -> torch.Tensor:
    """torch._utils._rebuild_tensor(_v2) without hooks or gradients."""
    if not _is_storage(storage):
        raise CheckpointError("a tensor in the file does not point at a storage")
    return torch._utils._rebuild_tensor(storage, int(offset), tuple(size), tuple(stride))


def _rebuild_parameter(data: Any, *_ignored: Any) -> torch.Tensor:
    """torch._utils._rebuild_parameter(_with_state): the plain tensor (hooks and attributes dropped)."""
    if not isinstance(data, torch.Tensor):
        raise CheckpointError("a parameter in the file does not hold a tensor")
    return data.detach()


def _rebuild_from_type_v2(func: Any, new_type: Any, args: tuple, state: Any) -> torch.Tensor:
    """torch._utils._rebuild_from_type_v2: rebuild with an allowed function, keep a plain tensor."""
    if func not in (_rebuild_tensor, _rebuild_parameter):
        raise CheckpointError("a tensor in the file is rebuilt by a function GAN Studio does not allow")
    return func(*args)


class _TypeMarker:
    """Stands for torch.Tensor / torch.nn.Parameter as `new_type` arguments, without exposing the classes."""


def _numpy_globals() -> dict[tuple[str, str], Any]:
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]
    found = {}
    for mod in ("numpy.core", "numpy._core"):
        found[(f"{mod}.multiarray", "_reconstruct")] = multiarray._reconstruct
        found[(f"{mod}.multiarray", "scalar")] = multiarray.scalar
        if hasattr(numeric, "_frombuffer"):
            found[(f"{mod}.numeric", "_frombuffer")] = numeric._frombuffer
    found[("numpy", "ndarray")] = np.ndarray
    found[("numpy", "dtype")] = np.dtype
    for name in ("Float64DType", "Float32DType", "Int64DType", "Int32DType", "BoolDType", "UInt8DType"):
        if hasattr(np, "dtypes") and hasattr(np.dtypes, name):
            found[("numpy.dtypes", name)] = getattr(np.dtypes, name)
    return found


ALLOWED: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._utils", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch", "Tensor"): _TypeMarker,
    ("torch.nn.parameter", "Parameter"): _TypeMarker,
    ("torch.storage", "_load_from_bytes"): _load_storage,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "complex"): complex,
    ("builtins", "slice"): slice,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    PERSISTENCE_HOOK: _reconstruct_persistent_obj,
    **_numpy_globals(),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, name: str):
        super().__init__(file)
        self.name = name

    def find_class(self, module: str, name: str) -> Any:
        # Python 2 names (protocol < 3) as the standard unpickler maps them
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found = ALLOWED.get((module, name))
        if found is not None:
            return found
        if module.startswith("dnnlib.tflib"):
            raise CheckpointError(f"{self.name} is a TensorFlow StyleGAN pickle ({module}.{name}); convert it with "
                                  "NVIDIA's stylegan2-ada-pytorch legacy.py first")
        raise CheckpointError(f"{self.name} tries to load {module}.{name}, which is not network data, so GAN Studio "
                              "refuses to open it (no code from the file was run)")

    def persistent_load(self, pid: Any) -> Any:
        raise CheckpointError(f"{self.name} refers to outside data (a persistent id), which a network pickle never "
                              "does, so GAN Studio refuses to open it")


def read_network_pickle(source: str | Path | bytes | BinaryIO, name: str | None = None) -> Any:
    """Unpickle an NVIDIA network pickle as data (dicts, tensors, PersistentObjects); anything that is not
    data is refused with a CheckpointError naming what the file tried to load."""
    if isinstance(source, (str, Path)):
        name = name or Path(source).name
        try:
            fh: BinaryIO = open(source, "rb")
        except OSError as exc:
            raise CheckpointError(f"cannot read {source}: {exc.strerror or exc}") from None
    else:
        fh = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    name = name or "the file"
    try:
        with fh:
            return _RestrictedUnpickler(fh, name).load()
    except CheckpointError:
        raise
    except MemoryError:
        raise CheckpointError(f"{name} needs more memory than this computer has to read") from None
    except Exception as exc:  # a damaged pickle raises almost anything; none of it runs the file's code
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{name} is not a readable network pickle (damaged, truncated or another format: "
                              f"{detail})") from None


def read_torch_checkpoint(path: str | Path | BinaryIO, name: str | None = None) -> dict[str, Any]:
    """A torch.save checkpoint (rosinality's `.pt`) read with weights_only; an `args` Namespace becomes a dict."""
    name = name or (Path(path).name if isinstance(path, (str, Path)) else "the file")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found is None:
            raise CheckpointError(f"{name} is not a readable torch checkpoint or network pickle (damaged, truncated "
                                  "or another format)") from None
        raise CheckpointError(f"{name} holds more than weights (it tries to load {found.group(1)}), so GAN Studio "
                              "refuses to open it (no code from the file was run)") from None
    except Exception as exc:
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{name} is not a readable torch checkpoint or network pickle (damaged, truncated or "
                              f"another format: {detail})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{name} holds a {type(data).__name__}, not a checkpoint dictionary")
    if isinstance(data.get("args"), argparse.Namespace):
        data["args"] = dict(vars(data["args"]))
    return data


def plain(value: Any) -> Any:
    """Settings as JSON-able values: EasyDicts as dicts, tuples as lists, numpy scalars as numbers."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CheckpointError(f"a setting of the network is a {type(value).__name__}, not a plain value")
