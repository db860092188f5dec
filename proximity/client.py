"""Floor 4: ``AsyncProximity`` (anyio) and ``Proximity`` (sync): one design, like httpx's two clients.

``AsyncProximity`` is the implementation. ``Proximity`` runs one in a private event-loop thread (an anyio
blocking portal) and turns every coroutine method into a plain call; models it returns are bound to the
sync collections, so ``app.stop()`` blocks and returns the result.

    with Proximity() as px:                      async with AsyncProximity() as px:
        app = px.apps.deploy("jellyfin")             app = await px.apps.deploy("jellyfin")
        app.stop()                                   await app.stop()
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from os import PathLike
from typing import Any, Self

import anyio
from anyio.from_thread import BlockingPortal
from pydantic import ValidationError as PydanticValidationError

from proximity.catalog.loader import Catalog, default_catalog
from proximity.collections import (
    AsyncApps,
    AsyncBackups,
    AsyncHosts,
    AsyncJobs,
    CatalogCollection,
    Core,
    Scheduler,
)
from proximity.errors import ValidationError
from proximity.jobs import RetryPolicy
from proximity.jobs.engine import EventCallback
from proximity.models import AuditEntry, Bound, JobEvent
from proximity.pve import ApiRetry, PollPolicy, PveHost
from proximity.settings import Settings, state_dir
from proximity.store import Store, default_who
from proximity.store.audit_chain import ChainAnchor, ChainReport


class AsyncProximity:
    """The asynchronous client. ``home``: the state directory (``--db`` / ``PROXIMITY_HOME``); ``catalog``:
    the app catalog (default: the builtin entries, then the folders in ``PROXIMITY_CATALOG_DIRS``)."""

    def __init__(
        self,
        home: str | PathLike[str] | None = None,
        *,
        front_end: str = "sdk",
        who: str | None = None,
        catalog: Catalog | None = None,
        retry: RetryPolicy | None = None,
        api_retry: ApiRetry | None = None,
        poll: PollPolicy | None = None,
    ):
        self.home = state_dir(home)
        self.store = Store(self.home)
        self._core = Core(
            self.store,
            catalog or default_catalog(),
            who=who or default_who(),
            front_end=front_end,
            retry=retry,
            api_retry=api_retry,
            poll=poll,
        )
        self.hosts = AsyncHosts(self._core)
        self.catalog = CatalogCollection(self._core.catalog)
        self.backups = AsyncBackups(self._core)
        self.apps = AsyncApps(self._core, self.backups)
        self.backups.attach_apps(self.apps)
        self.jobs = AsyncJobs(self._core)

    def __repr__(self) -> str:
        return f"AsyncProximity(home={str(self.home)!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the hosts' connections and the state database."""
        await self._core.aclose()
        self.store.close()

    def settings(self) -> Settings:
        """The deploy defaults in force (``Settings``)."""
        return self.store.settings()

    def update_settings(self, **changes: Any) -> Settings:
        """Change deploy defaults (validated); the next deploy uses them."""
        try:
            updated = Settings(**{**self.store.settings().model_dump(), **changes})
        except PydanticValidationError as error:
            raise ValidationError(f"invalid settings: {error.errors(include_input=False)}") from None
        self.store.save_settings(updated)
        self._core.apply_settings(updated)
        self._core.audit("settings.update", ",".join(sorted(changes)), "ok")
        return updated

    def audit(self, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` audit log entries, newest first."""
        return self.store.audit_entries(limit)

    def verify_audit(self, anchor: ChainAnchor | str | None = None) -> ChainReport:
        """Check the audit log's hash chain (and, with ``anchor``, that an earlier head is still there)."""
        if isinstance(anchor, str):
            anchor = ChainAnchor.parse(anchor)
        return self.store.verify_audit(anchor)

    @property
    def who(self) -> str:
        """Whom the audit log names for this client's actions."""
        return self._core.who

    def subscribe(self, callback: EventCallback) -> None:
        """Receive every event of every job this client runs (a dashboard's live view). The callback may be
        a function or a coroutine function; with ``Proximity`` it runs in the client's event-loop thread."""
        self._core.runner.add_listener(callback)

    def scheduler(self, interval_s: float = 30.0) -> Scheduler:
        """A ``Scheduler`` that runs due backup schedules every ``interval_s`` seconds."""
        return Scheduler(self.backups, interval_s)

    def pve(self, host: str) -> PveHost:
        """The low-level layer for a host: Proxmox calls in Proxmox terms (nodes, VMIDs, tasks)."""
        return self._core.pve(host)

    def api_calls(self) -> int:
        """API calls made so far through this client's host connections (benchmarks, tests)."""
        return sum(pve.api.calls for pve in self._core._hosts.values())


class _SyncCollection:
    """Wraps an async collection: coroutine methods become blocking calls through the portal."""

    def __init__(self, target: Any, portal: BlockingPortal):
        self._target = target
        self._portal = portal

    def __repr__(self) -> str:
        return f"<sync {type(self._target).__name__}>"

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if name == "follow":
            return self._follow
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = self._portal.call(lambda: attribute(*args, **kwargs))
            return self._rebind(result)

        call.__doc__ = attribute.__doc__
        call.__name__ = name
        return call

    def _rebind(self, result: Any) -> Any:
        if isinstance(result, Bound):
            result._bind(self)
        elif isinstance(result, list):
            for item in result:
                if isinstance(item, Bound):
                    item._bind(self)
        return result

    def _follow(self, job_id: str) -> Iterator[JobEvent]:
        iterator: AsyncIterator[JobEvent] = self._target.follow(job_id)
        while True:
            try:
                yield self._portal.call(iterator.__anext__)
            except StopAsyncIteration:
                return


class Proximity:
    """The synchronous client: the same collections and verbs as ``AsyncProximity``, blocking."""

    def __init__(self, home: str | PathLike[str] | None = None, **options: Any):
        self._loop = _LoopThread()
        try:
            self._async: AsyncProximity = self._loop.portal.call(lambda: _make_async(home, options))
        except BaseException:
            self._loop.stop()
            raise
        self._portal = self._loop.portal
        self.home = self._async.home
        self.store = self._async.store
        self.catalog = self._async.catalog
        self.hosts: Any = _SyncCollection(self._async.hosts, self._portal)
        self.apps: Any = _SyncCollection(self._async.apps, self._portal)
        self.backups: Any = _SyncCollection(self._async.backups, self._portal)
        self.jobs: Any = _SyncCollection(self._async.jobs, self._portal)
        # closes connections and the database even when the caller forgets close() (at collection or exit)
        self._finalizer = weakref.finalize(self, _shutdown, self._loop, self._async)

    def __repr__(self) -> str:
        return f"Proximity(home={str(self.home)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections, the database and the event-loop thread (also done at exit)."""
        self._finalizer()

    def settings(self) -> Settings:
        return self._async.settings()

    def update_settings(self, **changes: Any) -> Settings:
        return self._async.update_settings(**changes)

    def audit(self, limit: int = 100) -> list[AuditEntry]:
        return self._async.audit(limit)

    def verify_audit(self, anchor: ChainAnchor | str | None = None) -> ChainReport:
        return self._async.verify_audit(anchor)

    @property
    def who(self) -> str:
        return self._async.who

    def subscribe(self, callback: EventCallback) -> None:
        self._async.subscribe(callback)

    def pve(self, host: str) -> PveHost:
        """The low-level layer for a host (synchronous already)."""
        return self._async.pve(host)

    def api_calls(self) -> int:
        return self._async.api_calls()

    def run_scheduler_once(self) -> Any:
        """Run the backup schedules that are due now, once (``px.backups.run_due()``)."""
        return self.backups.run_due()

    def ask(self, text: str, **options: Any) -> Any:
        """Turn an English or Italian request into a plan (nothing runs until ``plan.run(...)``)."""
        from proximity.omni.ask import ask  # the Omni-Prompt is a face above the client: imported on use

        return ask(self, text, **options)


class _LoopThread:
    """An event loop in a daemon thread with a blocking portal into it. A daemon thread (unlike anyio's
    ``start_blocking_portal``) never keeps the interpreter from exiting when a client is left open."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._portal: BlockingPortal | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="proximity-loop", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    @property
    def portal(self) -> BlockingPortal:
        assert self._portal is not None
        return self._portal

    def _main(self) -> None:
        async def serve() -> None:
            async with BlockingPortal() as portal:
                self._portal = portal
                self._ready.set()
                await portal.sleep_until_stopped()

        try:
            anyio.run(serve)
        except BaseException as error:  # noqa: BLE001 - handed to the constructor's thread
            self._error = error
            self._ready.set()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.portal.call(self.portal.stop)
            self._thread.join(timeout=10)


def _shutdown(loop: _LoopThread, client: AsyncProximity) -> None:
    try:
        loop.portal.call(client.aclose)
    finally:
        loop.stop()


async def _make_async(home: str | PathLike[str] | None, options: dict[str, Any]) -> AsyncProximity:
    return AsyncProximity(home, **options)
