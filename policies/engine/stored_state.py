"""Engine objects as bytes, to be kept in a store the application owns and read back by it later:
the web app stores a snapshot's ``Explainer`` with its analysis, so that a process that never
parsed the snapshot answers its first explanation after reading a few hundred kilobytes instead of
parsing megabytes of YAML.

The bytes are a pickle (the only format that gives the parsed model back as it was, object for
object, in a fraction of the time parsing takes), so reading them must never run code that the
application did not write. Three guards:

- they are read only from the application's own database, where only its analyses write them;
- they carry an HMAC-SHA256 under a key that only the application holds (the web app derives it
  from its SECRET_KEY): bytes that anyone else wrote or altered are refused before unpickling;
- the unpickler builds nothing but classes defined in ``policies.engine`` and a few standard types
  (addresses, sets): a pickle that names any other callable (``os.system``, ``builtins.eval``,
  a function of the engine) is refused.

They also carry a fingerprint of the engine's code and the Python version: bytes written by
another version of the engine are refused (StateMismatch), and the caller parses again.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import hmac
import io
import pickle
import sys
import zlib
from pathlib import Path
from typing import Any

__all__ = ["StateMismatch", "code_fingerprint", "dump_state", "load_state"]

MAGIC = b"netpol-state/1\n"
_DIGEST = hashlib.sha256().digest_size
_FINGERPRINT = 64  # hex characters of a sha256
_ENGINE = Path(__file__).resolve().parent
_STANDARD = frozenset({
    ("builtins", "set"), ("builtins", "frozenset"),
    ("ipaddress", "IPv4Address"), ("ipaddress", "IPv6Address"),
    ("ipaddress", "IPv4Network"), ("ipaddress", "IPv6Network"),
})


class StateMismatch(ValueError):
    """The bytes are not a state this engine wrote with this key (another version, another key,
    altered or cut short): parse the input again."""


@functools.cache
def code_fingerprint() -> bytes:
    """A hash of every source file of the engine and of the Python version: two processes that
    agree on it build the same objects from the same input."""
    digest = hashlib.sha256(f"{sys.version_info.major}.{sys.version_info.minor}".encode())
    for path in sorted(_ENGINE.rglob("*.py")):
        digest.update(str(path.relative_to(_ENGINE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest().encode()


def dump_state(value: Any, *, key: bytes) -> bytes:
    """``value`` (engine objects) as signed, compressed bytes for ``load_state``."""
    body = code_fingerprint() + zlib.compress(pickle.dumps(value, protocol=5), 1)
    return MAGIC + hmac.new(key, body, hashlib.sha256).digest() + body


def load_state(data: bytes, *, key: bytes) -> Any:
    """The value ``dump_state`` was given; StateMismatch when the bytes are not a state of this
    engine's code signed with ``key``."""
    data = bytes(data)
    if not data.startswith(MAGIC):
        raise StateMismatch("not a stored engine state")
    signature, body = data[len(MAGIC):len(MAGIC) + _DIGEST], data[len(MAGIC) + _DIGEST:]
    if not hmac.compare_digest(signature, hmac.new(key, body, hashlib.sha256).digest()):
        raise StateMismatch("the stored state's signature does not match")
    if body[:_FINGERPRINT] != code_fingerprint():
        raise StateMismatch("the stored state was written by another version of the engine")
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of new objects: collecting while they arrive takes 4x longer
    try:
        return _EngineUnpickler(io.BytesIO(zlib.decompress(body[_FINGERPRINT:]))).load()
    except (pickle.UnpicklingError, zlib.error, AttributeError, ImportError, EOFError, TypeError) as exc:
        raise StateMismatch(f"the stored state cannot be read: {exc}") from exc
    finally:
        if collecting:
            gc.enable()


class _EngineUnpickler(pickle.Unpickler):
    """Builds classes of the engine and a few standard types, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _STANDARD:
            return super().find_class(module, name)
        if (module == "policies.engine" or module.startswith("policies.engine.")) and name.isidentifier():
            found = super().find_class(module, name)
            if isinstance(found, type) and found.__module__ == module:
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not an engine class")
