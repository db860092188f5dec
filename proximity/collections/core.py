"""What every collection shares: the store, the job runner, the catalog, connections to hosts, the audit.

``Core`` opens PVE connections lazily (one ``PveHost`` per host, cached) and runs blocking PVE calls in
worker threads, so the collections above read as intent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from proximity.catalog.loader import Catalog
from proximity.errors import NotFound
from proximity.jobs import JobRunner, RetryPolicy
from proximity.models import Host
from proximity.pve import ApiRetry, Connection, PollPolicy, PveApi, PveHost, SshTarget
from proximity.pve.ssh import NodeShell
from proximity.settings import Settings
from proximity.store import Store

T = TypeVar("T")


class Core:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        *,
        who: str,
        front_end: str,
        retry: RetryPolicy | None = None,
        api_retry: ApiRetry | None = None,
        poll: PollPolicy | None = None,
        threads: int = 64,
    ):
        self.store = store
        self.catalog = catalog
        self.who = who
        self.front_end = front_end
        self.api_retry = api_retry or ApiRetry()
        self.poll = poll or PollPolicy()
        settings = store.settings()
        self.runner = JobRunner(
            store,
            retry=retry or RetryPolicy(attempts=settings.retries + 1),
            max_per_key=settings.max_jobs_per_node,
        )
        self._hosts: dict[str, PveHost] = {}
        self._limiter = anyio.CapacityLimiter(threads)

    @property
    def settings(self) -> Settings:
        return self.store.settings()

    def apply_settings(self, settings: Settings) -> None:
        """Make changed settings take effect now (open connections and running limits included)."""
        self.runner.set_max_per_key(settings.max_jobs_per_node)
        for pve in self._hosts.values():
            pve.task_timeout_s = settings.task_timeout_s
            pve.api.set_timeout(settings.api_timeout_s)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking PVE call in a worker thread."""
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs), limiter=self._limiter)

    def audit(self, action: str, target: str, outcome: str) -> None:
        self.store.audit(
            who=self.who, front_end=self.front_end, action=action, target=target, outcome=outcome
        )

    # ------------------------------------------------------------ hosts

    def connection(self, host: Host) -> Connection:
        secrets = self.store.secrets.host(host.name)
        token = host.principal if host.auth == "token" else None
        user = host.principal if host.auth == "password" else None
        return Connection(
            url=host.url,
            token_id=token,
            token_secret=secrets.get("token_secret") if token else None,
            user=user,
            password=secrets.get("password") if user else None,
            verify_tls=host.verify_tls,
            ca_path=host.ca_path,
            fingerprint=host.fingerprint,
            timeout_s=self.settings.api_timeout_s,
        )

    def pve(self, name: str) -> PveHost:
        """The (cached) PVE connection of a recorded host."""
        cached = self._hosts.get(name)
        if cached is not None:
            return cached
        host = self.store.get_host(name)
        pve = self.open(host)
        self._hosts[name] = pve
        return pve

    def open(self, host: Host) -> PveHost:
        api = PveApi(self.connection(host), retry=self.api_retry)
        return PveHost(
            host.name,
            api,
            lambda node, address: self.ssh_target(host.name, node, address),
            task_timeout_s=self.settings.task_timeout_s,
            poll=self.poll,
        )

    def ssh_target(self, host_name: str, node: str, address: str) -> SshTarget:
        host = self.store.get_host(host_name)
        secrets = self.store.secrets.host(host_name)
        password = secrets.get("ssh_password") or (
            secrets.get("password") if host.auth == "password" else None
        )
        return SshTarget(
            address=address,
            port=host.ssh_port,
            user=host.ssh_user,
            password=password,
            private_key=secrets.get("ssh_key"),
            host_key=host.ssh_host_keys.get(node),
        )

    async def shell(self, host_name: str, node: str) -> NodeShell:
        """An SSH shell to a node; the node's host key is pinned on first use (TOFU) and checked after."""
        pve = self.pve(host_name)
        shell = await self.call(pve.shell, node)
        if shell.target.host_key is None:
            key = await shell.host_key()
            host = self.store.get_host(host_name)
            if key and node not in host.ssh_host_keys:
                self.store.set_host_keys(host_name, {**host.ssh_host_keys, node: key})
        return shell

    def forget(self, name: str) -> None:
        self._hosts.pop(name, None)

    async def drop(self, name: str) -> None:
        """Close and forget a host's cached connection."""
        pve = self._hosts.pop(name, None)
        if pve is not None:
            await pve.close()

    async def aclose(self) -> None:
        for pve in self._hosts.values():
            await pve.close()
        self._hosts.clear()

    def catalog_entry(self, catalog_id: str) -> Any:
        entry = self.catalog.get(catalog_id)
        if entry is None:
            raise NotFound(f"no app {catalog_id!r} in the catalog")
        return entry
