"""Small saved folders: a model whose backbone never changed (frozen, unmerged LoRA) keeps a
reference to its base checkpoint instead of a copy of its weights, as PEFT does for adapters.

    FOLDER/backbone/base.json   {"model": the name or absolute folder it was built from,
                                 "digest": sha256 of the base weights as they were trained on}

The digest is taken over the weight tensors themselves (names, shapes, dtypes and bytes, in
name order), not over files, so it is the same however the checkpoint is stored or cached, and a
base that changed since training is refused at load instead of silently predicting differently.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from ..errors import ModelLoadError

__all__ = ["weights_digest", "write_reference", "read_reference", "load_referenced_backbone", "REFERENCE_FILE"]

REFERENCE_FILE = "base.json"


def weights_digest(state: dict) -> str:
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def write_reference(folder: Path, model: str, state: dict) -> None:
    local = Path(model)
    name = str(local.resolve()) if local.exists() else model  # a relative folder must still resolve elsewhere
    (folder / REFERENCE_FILE).write_text(json.dumps({"model": name, "digest": weights_digest(state)}, indent=2))


def read_reference(backbone_folder: Path) -> dict | None:
    path = backbone_folder / REFERENCE_FILE
    return json.loads(path.read_text()) if path.exists() else None


def load_referenced_backbone(folder: Path, reference: dict, arch, pad_token_id: int, clean_state):
    """The base backbone a small folder names, checked against the digest it was saved with.
    ``clean_state(backbone)``: its state dict as the digest saw it."""
    from .pretrained import load_backbone

    name = reference["model"]
    try:
        backbone = load_backbone(name, arch, pad_token_id)
    except (ModelLoadError, OSError) as error:
        raise ModelLoadError(f"{folder} keeps a reference to its base checkpoint {name!r} instead of a copy, and "
                             f"that checkpoint cannot be loaded here ({error}). Make it available, or save the model "
                             f"with self_contained=true where it is.") from None
    if weights_digest(clean_state(backbone)) != reference["digest"]:
        raise ModelLoadError(f"{folder} was trained on different weights of {name!r} than the ones found now (the "
                             f"base checkpoint changed). Restore the original, or save the model with "
                             f"self_contained=true.")
    return backbone
