"""Config fields that carry their help and accepted values, and the checks that enforce them at
construction (``TrainConfig`` and ``RunConfig`` are built from them)."""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import field

from .errors import ConfigError

__all__ = ["option", "check_fields", "describe_range", "parse_budget"]


def option(default, help: str, *, choices: tuple | None = None, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, factory=None):
    """A config field with its one-line help and the values it accepts, checked at construction
    (``low``/``high`` bound numbers; ``*_open`` excludes the bound itself)."""
    meta = {"help": help, "choices": choices, "low": low, "high": high, "low_open": low_open, "high_open": high_open}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def parse_budget(value) -> float | None:
    """Seconds from 90, "90s", "30m" or "2h"; None for no budget."""
    if value is None:
        return None
    text, units = str(value).strip().lower(), {"s": 1, "m": 60, "h": 3600}
    try:
        seconds = float(text[:-1]) * units[text[-1]] if text[-1:] in units else float(text)
    except ValueError:
        raise ConfigError(f"budget={value!r}: give seconds or a number with s, m or h, such as 30m.") from None
    if not seconds > 0:
        raise ConfigError(f"budget={value!r} must be more than zero.")
    return seconds


def check_fields(config) -> None:
    """Every field against its declared type and the values its ``option`` accepts."""
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value, meta = getattr(config, f.name), f.metadata
        args = typing.get_args(hints[f.name])
        base = next((a for a in args if a is not type(None)), hints[f.name])
        if value is None and type(None) in args:
            continue
        if base is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
            setattr(config, f.name, value)
        if not isinstance(value, base) or (base is int and isinstance(value, bool)):
            raise ConfigError(f"{f.name} must be of type {base.__name__}; got {value!r}.")
        if base is float and not math.isfinite(value):
            raise ConfigError(f"{f.name} must be a finite number; got {value!r}.")
        if meta.get("choices") is not None:
            _check_choice(f.name, value, meta["choices"])
        low, high = meta.get("low"), meta.get("high")
        if (low is not None and (value < low or (meta["low_open"] and value == low))) or \
                (high is not None and (value > high or (meta["high_open"] and value == high))):
            raise ConfigError(f"{f.name} must be {describe_range(meta)}; got {value!r}.")


def describe_range(meta: dict) -> str:
    """"at least 1", "above 0", "in [0, 1)" ..."""
    low, high = meta.get("low"), meta.get("high")
    if low is not None and high is not None:
        return f"in {'(' if meta['low_open'] else '['}{low}, {high}{')' if meta['high_open'] else ']'}"
    if low is not None:
        return f"{'above' if meta['low_open'] else 'at least'} {low}"
    if high is not None:
        return f"{'below' if meta['high_open'] else 'at most'} {high}"
    return ""


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
