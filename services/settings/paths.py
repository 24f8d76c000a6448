"""The one way the settings name a file and a process reads a secret.

:data:`ConfigPath` is every path setting: a relative path counts from the folder above the
settings file (in a checkout, the checkout), whichever folder the process started in.
:data:`SecretFile` is a path setting whose file holds a secret. It is read only by
:func:`read_secret`, which takes systemd's credential of the same name first
(``LoadCredential=NAME:…`` puts it in ``$CREDENTIALS_DIRECTORY/NAME``), then the file.
Secrets the processes make themselves (the site key, the dashboard's) are
:func:`read_or_create_secret`.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

from services.settings.base import ConfigError

# The validation context's key for the folder relative paths count from (load_settings sets it).
ROOT = "root"


def _anchored(path: Path, info: ValidationInfo) -> Path:
    root = (info.context or {}).get(ROOT)
    return path if root is None or path.is_absolute() else Path(root) / path


ConfigPath = Annotated[Path, AfterValidator(_anchored)]
SecretFile = Annotated[Path, AfterValidator(_anchored)]


def read_secret(path: Path | None, key: str) -> str | None:
    """The secret named by setting ``key`` (None when unset), stripped of surrounding space.

    A file or credential that cannot be read is a :class:`ConfigError` naming ``key``.
    """
    if path is None:
        return None
    candidates = [path]
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds:
        candidates.insert(0, Path(creds) / path.name)
    for candidate in candidates:
        try:
            return candidate.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{key}: {candidate}: {exc}") from None
    raise ConfigError(f"{key}: {path}: no such file")


def read_or_create_secret(path: Path, size: int) -> bytes:
    """A secret kept in a file of its own (mode 0600), made with ``size`` random bytes if new."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a name of its own, then linked into place: a door and a kiosk starting
    # at the same moment read either no file or the whole secret, and both keep the first one.
    secret = secrets.token_bytes(size)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secret)
            f.flush()
            os.fsync(f.fileno())
        os.link(draft, path)
    except FileExistsError:
        return path.read_bytes()
    finally:
        draft.unlink()
    return secret
