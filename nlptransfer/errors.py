"""The errors nlptransfer raises for things the user can fix. Each message names the file, row,
column, label, option or model at fault and says what to do; the command line prints it and
exits with status 2."""
from __future__ import annotations

import sys

__all__ = ["DataError", "ConfigError", "ModelLoadError", "exit_on_user_error"]


class DataError(ValueError):
    """Input data is unusable; the message names where and what to do."""


class ConfigError(ValueError):
    """A configuration value or key is wrong; the message says which and what is allowed."""


class ModelLoadError(OSError):
    """A model name could not be turned into loadable files."""


def _plain_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


def exit_on_user_error(main, *args) -> None:
    """Run ``main(*args)`` as a command: warnings print as plain "warning: ..." lines (not a line
    of our source), and an error the user can fix (bad data, option or model name, a missing
    file) prints its message and exits with status 2, without a traceback."""
    import warnings

    warnings.formatwarning = _plain_warning
    try:
        main(*args)
    except (DataError, ConfigError, ModelLoadError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    # Under accelerate launch, end the process group before the interpreter exits: left to exit
    # teardown, a communication thread was once destroyed unjoined (SIGABRT, "terminate called
    # without an active exception") after a finished 2-process multi-task run.
    torch = sys.modules.get("torch")
    if torch is not None and torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
