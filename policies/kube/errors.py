"""One error type for a failed sync, with a message a person can act on."""

from __future__ import annotations

import socket
import ssl

import ijson
from kubernetes.client.exceptions import ApiException
from urllib3 import exceptions as http

__all__ = ["SyncError", "describe_failure"]


class SyncError(Exception):
    """The sync could not read the cluster; ``message`` says why (unreachable, TLS, 401, timeout...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def describe_failure(exc: BaseException, *, server: str, doing: str, read_timeout: float) -> str:
    """A clear sentence for an error of the client or the connection while ``doing`` something."""
    if isinstance(exc, http.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, ApiException):
        reason = (exc.reason or "").strip()
        if exc.status == 0 and reason.startswith("SSLError"):
            detail = reason.splitlines()[-1] if "\n" in reason else reason
            return f"TLS error talking to {server} while {doing}: {detail}"
        if exc.status == 401:
            return (f"{server} refused the credentials (401 Unauthorized) while {doing}: "
                    "check the kubeconfig's user, token or client certificate")
        if exc.status == 403:
            return f"{server} forbids this account {doing} (403 Forbidden)"
        return f"{server} answered {exc.status} {reason} while {doing}"
    if isinstance(exc, http.SSLError | ssl.SSLError):
        return f"TLS error talking to {server} while {doing}: {exc}"
    # NewConnectionError is a ConnectTimeoutError in urllib3 2: test it first.
    if isinstance(exc, http.NewConnectionError | ConnectionRefusedError | socket.gaierror):
        return f"cannot reach {server} while {doing}: {_last_part(exc)}"
    if isinstance(exc, http.ConnectTimeoutError):
        return f"cannot reach {server}: no connection within the timeout while {doing}"
    if isinstance(exc, http.ReadTimeoutError | socket.timeout | TimeoutError):
        return f"{server} did not answer within {read_timeout:g} seconds while {doing}"
    if isinstance(exc, http.ProtocolError | http.HTTPError | ConnectionError | ijson.JSONError):
        return f"the connection to {server} broke while {doing}: {_last_part(exc)}"
    return f"error while {doing} from {server}: {type(exc).__name__}: {exc}"


def _last_part(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    # urllib3 prefixes the connection object's repr: keep the human part.
    return text.split(": ", 1)[1] if text.startswith("<") and ": " in text else text
