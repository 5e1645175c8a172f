"""Atomic file writes: a temporary file beside the target, fsync, then rename.

A crash or an exception in the middle of a save leaves the previous file
untouched and no half-written file under the final name.
"""

from __future__ import annotations

import errno
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from studio.core import jsonio

__all__ = [
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_torch_save",
    "atomic_save_image",
]


@contextmanager
def atomic_open(path: str | os.PathLike, overwrite: bool = True) -> Iterator[IO[bytes]]:
    """Yield a binary file; on clean exit it replaces ``path`` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder is there; give a file name", str(path))
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} already exists; not overwriting it")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        # mkstemp names its temporary file; the user knows the target and its folder.
        raise _named(exc, path) from None
    try:
        # mkstemp makes the file private (0600); the file takes the mode it had, else what the umask allows.
        os.chmod(tmp, _existing_mode(path))
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if not overwrite:
            # link() fails if the target appeared meanwhile: never clobber.
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, FileExistsError):
            raise _named(exc, path) from None
        raise


def _named(exc: OSError, path: Path) -> OSError:
    """The same error, naming the file the caller asked for (not the temporary one) and, when full, its disk."""
    text = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        from studio.core.diskuse import describe_disk

        text = f"no space left on the disk holding {path.parent} ({describe_disk(path.parent)}); nothing was written"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        text = f"cannot write into {path.parent} ({exc.strerror or exc})"
    named = OSError(exc.errno, text, str(path))
    return named


def _read_umask() -> int:
    umask = os.umask(0)  # reading the umask means setting it: done once, at import, before any thread writes
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def _existing_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


def atomic_write_bytes(path: str | os.PathLike, data: bytes, overwrite: bool = True) -> None:
    with atomic_open(path, overwrite) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, overwrite: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), overwrite)


def atomic_write_json(path: str | os.PathLike, data, overwrite: bool = True) -> None:
    """Strict JSON: a NaN or infinity in ``data`` raises ValueError before anything is written."""
    atomic_write_text(path, jsonio.dumps(data) + "\n", overwrite)


def atomic_torch_save(obj, path: str | os.PathLike, overwrite: bool = True) -> None:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue(), overwrite)


def atomic_save_image(
    image, path: str | os.PathLike, format: str | None = None, overwrite: bool = True, **params
) -> None:
    """Save a PIL image atomically; the format follows the extension unless given."""
    from PIL import Image

    path = Path(path)
    # PIL's own table of extensions (.tif, .bmp, .jpg ...); PNG for a name without a known one.
    fmt = format or Image.registered_extensions().get(path.suffix.lower(), "PNG")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    atomic_write_bytes(path, buffer.getvalue(), overwrite)
