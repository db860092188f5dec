"""Exponential backoff with full jitter, only for errors that say they are transient."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

from proximity.errors import ProximityError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # total tries, the first included
    base_s: float = 0.2
    max_s: float = 5.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try ``attempt + 1`` (attempt counts from 1): full jitter."""
        ceiling = min(self.max_s, self.base_s * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)


def is_transient(error: BaseException) -> bool:
    return isinstance(error, ProximityError) and error.retryable


async def retry_async(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    on_retry: Callable[[int, BaseException, float], Awaitable[None]] | None = None,
) -> T:
    attempt = 1
    while True:
        try:
            return await fn()
        except Exception as error:
            if not is_transient(error) or attempt >= policy.attempts:
                raise
            wait = policy.delay(attempt)
            if on_retry is not None:
                await on_retry(attempt, error, wait)
            await anyio.sleep(wait)
            attempt += 1
