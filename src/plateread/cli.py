"""``plateread`` command line: each verb is a thin call into the library."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from plateread.cli_parser import build_parser
from plateread.data import DataSpecError
from plateread.errors import FontError, file_in_path
from plateread.formats import FormatError
from plateread.imaging import ImageError, quiet_decoders
from plateread.predict import ModelFileError

USER_ERRORS: tuple[type[Exception], ...] = (
    FormatError,
    DataSpecError,
    ModelFileError,
    ImageError,
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,  # e.g. an output file named as an existing folder
    NotADirectoryError,  # an output folder named as an existing file
    PermissionError,  # a folder one may not write to
    FontError,
)
# disk full, quota exceeded, read-only file system (EDQUOT is not defined everywhere)
_FULL_OR_READ_ONLY = {getattr(errno, name, None) for name in ("ENOSPC", "EDQUOT", "EROFS")} - {None}
# optional packages -> the extra that installs them (the base install reads plates only)
EXTRAS = {
    "torch": "train",
    "onnx": "train",
    "albumentations": "train",
    "tqdm": "train",
    "matplotlib": "report",
    "fastapi": "serve",
    "uvicorn": "serve",
    "multipart": "serve",
}


def missing_extra(err: ModuleNotFoundError) -> str | None:
    """What to install when an optional package is missing, or None for any other module."""
    top = (err.name or "").split(".")[0]
    extra = EXTRAS.get(top)
    if extra is None:
        return None
    install = f"pip install 'plateread[{extra}]'"
    if extra == "train":  # an unpinned torch would pull gigabytes of CUDA packages
        install = f"pip install torch==2.13.0 first, then {install}"
    return f"this needs {top}, which the base install leaves out: {install}"


def _in_words(err: Exception) -> str:
    """An error's message; for a path that runs through a file (``labels.csv/runs``, where the
    OS says "Not a directory" or "File exists"), which part of it is the file, and for a file
    named as a folder, that it is one.
    """
    name = getattr(err, "filename", None)
    if isinstance(err, (NotADirectoryError, FileExistsError)) and name:
        path = Path(os.fsdecode(name))
        file = file_in_path(path)
        if file is not None:
            return f"{file} is a file, not a folder" + (f" (in {path})" if file != path else "")
    if isinstance(err, IsADirectoryError) and name:
        return f"{os.fsdecode(name)} is a folder, not a file"
    return str(err)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``plateread`` command."""
    args = build_parser().parse_args(argv)
    # our errors name a corrupt or huge file; the decoders' own lines about it would add noise
    quiet_decoders()
    try:
        return int(args.func(args))
    except USER_ERRORS as err:
        print(f"plateread {args.verb}: error: {_in_words(err)}", file=sys.stderr)
        return 2
    except ValueError as err:  # config errors, bad checkpoints
        print(f"plateread {args.verb}: error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        hint = missing_extra(err)
        if hint is None:
            raise
        print(f"plateread {args.verb}: error: {hint}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `plateread read ... | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as err:
        if err.errno in _FULL_OR_READ_ONLY:  # the machine's trouble, not a bug of ours
            print(f"plateread {args.verb}: error: {err}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
