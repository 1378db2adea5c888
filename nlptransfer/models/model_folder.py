"""Save and load fitted models as a folder of Hugging Face formats plus our metadata.

    FOLDER/nlptransfer.json   kind, task, strategy, labels, threshold, pooling, base model
    FOLDER/config.yaml        the resolved training configuration
    FOLDER/backbone/          transformers config, weights and tokenizer (base weights for LoRA); for a
                              backbone that never changed (frozen, unmerged LoRA) base.json, a checked
                              reference to the base checkpoint, instead of the weights
    FOLDER/adapter/           peft LoRA adapter (LoRA, unmerged)
    FOLDER/head.safetensors   the task head
    FOLDER/metrics-*.json|md  metrics computed before saving

Writes go to a temporary sibling folder that replaces FOLDER only when complete, so a crash
never leaves a half-written model over a good one. Anything else already in FOLDER (the run's
metrics.jsonl, checkpoints/, tracker logs when FOLDER is the run folder) is moved across.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path

import yaml
from safetensors.torch import load_file, save_file

from ..errors import ConfigError, ModelLoadError
from .architectures import HEAD_NAME, architecture_for
from .base_reference import load_referenced_backbone, read_reference, write_reference
from .classic import CLASSIC_FILES, is_classic, load_classic, save_classic
from .pretrained import load_backbone, load_tokenizer, quiet_transformers

__all__ = ["save_model_folder", "load_model_folder", "read_metadata", "FORMAT_VERSION", "MODEL_ENTRIES"]

FORMAT_VERSION = 1
MODEL_ENTRIES = ("nlptransfer.json", "config.yaml", "backbone", "adapter", "head.safetensors", *CLASSIC_FILES)


def _clean_base_state(peft_backbone) -> dict:
    """The base weights under a LoRA-wrapped backbone, with their original names."""
    base = peft_backbone.get_base_model()
    return {k.replace(".base_layer.", "."): v for k, v in base.state_dict().items() if "lora_" not in k}


def _base_state(backbone) -> dict:
    return _clean_base_state(backbone) if hasattr(backbone, "peft_config") else backbone.state_dict()


def _write_contents(folder: Path, net, tokenizer, metadata: dict, config: dict, extra_files: dict,
                    base: str | None) -> None:
    if is_classic(net):
        save_classic(net, folder)
    else:
        _write_network(folder, net, tokenizer, base)
    (folder / "nlptransfer.json").write_text(json.dumps({"format_version": FORMAT_VERSION, **metadata}, indent=2))
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    for name, source in extra_files.items():
        shutil.copy2(source, folder / name)


def _write_network(folder: Path, net, tokenizer, base: str | None) -> None:
    backbone = net.backbone
    plain = backbone.get_base_model() if hasattr(backbone, "peft_config") else backbone
    with quiet_transformers():
        if base is not None:  # unchanged base weights: a reference, not a copy (base_reference.py)
            plain.config.save_pretrained(folder / "backbone")
            write_reference(folder / "backbone", base, _base_state(backbone))
        else:
            plain.save_pretrained(folder / "backbone", state_dict=_base_state(backbone))
        if hasattr(backbone, "peft_config"):
            backbone.save_pretrained(folder / "adapter")
        tokenizer.save_pretrained(folder / "backbone")
    head = getattr(net, HEAD_NAME)
    save_file({k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}, folder / "head.safetensors")


def save_model_folder(path, net, tokenizer, metadata: dict, config: dict, extra_files: dict[str, Path] = (),
                      base: str | None = None) -> Path:
    """Write ``net`` (a TaskModel-like module) atomically to ``path``. ``base``: the checkpoint the
    backbone's weights are unchanged from, kept as a reference instead of a copy.

    The model is written to a temporary sibling first; only when that is complete are the run's
    other files in ``path`` (metrics.jsonl, checkpoints/, logs) moved across and the folders
    swapped. A failure at any point leaves ``path`` as it was, records included."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"cannot save to {str(path)!r}: it is a file. Give a folder.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        _write_contents(tmp, net, tokenizer, metadata, config, dict(extra_files), base)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    moved, old = [], path.with_name(f".{path.name}.old-{tmp.name[-8:]}")
    try:
        if path.exists():
            for entry in list(path.iterdir()):  # renames within one filesystem: instant, nothing copied
                if entry.name not in MODEL_ENTRIES and not (tmp / entry.name).exists():
                    entry.rename(tmp / entry.name)
                    moved.append(entry.name)
            path.rename(old)
        tmp.rename(path)
    except BaseException:
        if old.exists() and not path.exists():
            old.rename(path)
        for name in moved:  # the run's records go back where they were
            (tmp / name).rename(path / name)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return path


REQUIRED_META = ("kind", "task", "strategy", "model", "model_type", "classes", "pooling", "parameters")


def read_metadata(path) -> dict:
    """The folder's nlptransfer.json, checked: a damaged or incomplete one is a ModelLoadError
    that names the file and the fault, never a traceback."""
    path = Path(path)
    meta_file = path / "nlptransfer.json"
    if not meta_file.exists():
        raise FileNotFoundError(f"{str(path)!r} is not a saved nlptransfer model (no nlptransfer.json). "
                                f"Pass the folder given to save() or --output-dir.")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelLoadError(f"{meta_file} is damaged (not valid JSON: {e}); the folder was not written "
                             f"completely. Save the model again.") from None
    missing = [k for k in REQUIRED_META if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise ModelLoadError(f"{meta_file} is incomplete: it lacks {', '.join(missing)}. Save the model again.")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ModelLoadError(f"{path} was saved by a newer nlptransfer (format {meta['format_version']}); upgrade "
                             f"nlptransfer to load it.")
    needed = {"onnx": ("model.onnx", "tokenizer"), "classic": CLASSIC_FILES}.get(meta.get("format"),
                                                                             ("backbone", "head.safetensors"))
    absent = [name for name in needed if not (path / name).exists()]
    if absent:
        raise ModelLoadError(f"{path} is incomplete: {', '.join(absent)} missing. Save the model again.")
    return meta


def load_model_folder(path, build_net):
    """(net, tokenizer, metadata, config). ``build_net(backbone, metadata)`` makes the module
    around the backbone; this function loads the adapter and head into it."""
    path = Path(path)
    meta = read_metadata(path)
    config = yaml.safe_load((path / "config.yaml").read_text()) if (path / "config.yaml").exists() else {}
    if meta.get("format") == "classic":  # TF-IDF or word features: no network, no tokenizer
        try:
            return load_classic(path), None, meta, config
        except Exception as e:  # a damaged JSON or safetensors file: say which folder, not a traceback
            raise ModelLoadError(f"{path}: the classic model's files are damaged ({type(e).__name__}: {e}). "
                                 f"Save the model again.") from None
    arch = architecture_for(meta["model_type"])
    if meta.get("format") == "onnx":  # an export: ONNX Runtime behind the TaskModel interface
        from .onnx_net import ONNX_FILE, TOKENIZER_DIR, OnnxNet

        net = OnnxNet(path / ONNX_FILE, meta["pooling"], meta.get("unit_features", False))
        return net.eval(), load_tokenizer(str(path / TOKENIZER_DIR), arch), meta, config
    tokenizer = load_tokenizer(str(path / "backbone"), arch)
    reference = read_reference(path / "backbone")
    if reference is not None:
        backbone = load_referenced_backbone(path, reference, arch, tokenizer.pad_token_id, _base_state)
    else:
        backbone = load_backbone(str(path / "backbone"), arch, tokenizer.pad_token_id)
    if (path / "adapter").exists():
        from peft import PeftModel

        with warnings.catch_warnings():  # peft calls a transformers API deprecated in v5
            warnings.simplefilter("ignore", FutureWarning)
            backbone = PeftModel.from_pretrained(backbone, str(path / "adapter"))
    net = build_net(backbone, meta)
    getattr(net, HEAD_NAME).load_state_dict(load_file(path / "head.safetensors"))
    return net.eval(), tokenizer, meta, config
