"""Errors the simulated API answers with, worded as Proxmox VE words them."""

from __future__ import annotations


class ApiError(Exception):
    """An HTTP error answer: PVE puts ``message`` in the reason phrase and in the body."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def parameter_error(errors: dict[str, str]) -> ApiError:
    """400 "Parameter verification failed." with the per-parameter ``errors`` map."""
    return ApiError(400, "Parameter verification failed.", errors)


def oci_reference_error(error: Exception) -> ApiError:
    """An image reference the schema's pattern let through but Docker's grammar refuses: a 400 on it."""
    return parameter_error({"reference": str(error)})


def fail(message: str) -> ApiError:
    """A plain ``die`` in a PVE API handler: HTTP 500 with the message."""
    return ApiError(500, message)


class TaskFailed(Exception):
    """Raised inside a task worker: the task ends with ``TASK ERROR: <message>``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
