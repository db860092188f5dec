"""``px.hosts``: add (token or password), test, remove, list, get; nodes with live capacity; storages."""

from __future__ import annotations

import time

from pydantic import SecretStr
from pydantic import ValidationError as PydanticValidationError

from proximity.collections.core import Core
from proximity.errors import AlreadyExists, ConfirmationRequired, NotFound, ProximityError, ValidationError
from proximity.models import ConnectionReport, Host, HostCredentials, Node, Storage
from proximity.pve.api import Connection
from proximity.pve.tls import normalise_fingerprint


class AsyncHosts:
    """``px.hosts``: add, test, list and remove Proxmox VE hosts; their nodes and storages."""

    def __init__(self, core: Core):
        self._core = core

    def _bind(self, host: Host) -> Host:
        return host._bind(self)  # type: ignore[return-value]

    async def add(
        self,
        name: str,
        url: str,
        *,
        token_id: str | None = None,
        token_secret: str | SecretStr | None = None,
        user: str | None = None,
        password: str | SecretStr | None = None,
        verify_tls: bool = True,
        ca_path: str | None = None,
        fingerprint: str | None = None,
        ssh_port: int = 22,
        ssh_user: str = "root",
        ssh_password: str | SecretStr | None = None,
        ssh_key: str | SecretStr | None = None,
        pin_ssh: bool = True,
    ) -> Host:
        """Add a PVE host after checking the API answers (and pinning each node's SSH host key)."""
        core = self._core
        if any(h.name == name for h in core.store.list_hosts()):
            raise AlreadyExists(f"a host named {name!r} already exists")
        try:
            creds = HostCredentials(
                token_id=token_id,
                token_secret=_secret(token_secret),
                user=user,
                password=_secret(password),
                ssh_user=ssh_user,
                ssh_password=_secret(ssh_password),
                ssh_key=_secret(ssh_key),
            )
            auth = creds.api_kind()
            pinned = format_pin(fingerprint) if fingerprint else None
            host = Host(
                name=name,
                url=url.rstrip("/"),
                auth=auth,
                principal=token_id if auth == "token" else user,
                verify_tls=verify_tls,
                ca_path=ca_path,
                fingerprint=pinned,
                ssh_user=ssh_user,
                ssh_port=ssh_port,
            )
        except (PydanticValidationError, ValueError) as error:
            raise ValidationError(f"invalid host: {_first_error(error)}") from None
        Connection(url=host.url).base_url()  # validates the URL before any network use
        secrets = {
            "token_secret": creds.token_secret,
            "password": creds.password,
            "ssh_password": creds.ssh_password,
            "ssh_key": creds.ssh_key,
        }
        # Secrets first (the host row is what makes the host visible), removed again if anything fails.
        core.store.secrets.put_host(name, secrets)
        try:
            core.store.add_host(host)
            try:
                pve = core.pve(name)
                await core.call(pve.version)
                addresses = await core.call(pve.node_addresses)
                if pin_ssh:
                    for node in sorted(addresses):
                        await core.shell(name, node)
            except BaseException:
                core.forget(name)
                core.store.remove_host(name)
                raise
        except BaseException as error:
            core.store.secrets.forget_host(name)
            core.audit("hosts.add", name, f"failed: {type(error).__name__}")
            raise
        core.audit("hosts.add", name, "ok")
        return self._bind(core.store.get_host(name))

    async def list(self) -> list[Host]:
        """Every recorded host, by name."""
        return [self._bind(h) for h in self._core.store.list_hosts()]

    async def get(self, name: str) -> Host:
        """The recorded host ``name`` (``NotFound`` if there is none)."""
        return self._bind(self._core.store.get_host(name))

    async def reload(self, host: Host) -> Host:
        """Refresh ``host`` in place from the record; returns it."""
        host._refresh_from(await self.get(host.name))
        return host

    async def remove(self, name: str, *, confirm: bool = False) -> None:
        """Forget a host and its stored secrets (its containers are not touched); needs ``confirm=True``."""
        if not confirm:
            raise ConfirmationRequired(f"removing host {name!r} needs confirm=True")
        core = self._core
        core.store.get_host(name)
        await core.drop(name)
        core.store.remove_host(name)
        core.audit("hosts.remove", name, "ok")

    async def test(self, name: str) -> ConnectionReport:
        """Check the API (version, nodes) and SSH to every node; never raises for a failed check."""
        core = self._core
        try:
            pve = core.pve(name)
            started = time.perf_counter()
            version = await core.call(pve.version)
            latency = (time.perf_counter() - started) * 1000
            addresses = await core.call(pve.node_addresses)
        except ProximityError as error:
            return ConnectionReport(host=name, ok=False, error=str(error))
        ssh_ok: dict[str, bool] = {}
        errors = []
        for node in sorted(addresses):
            try:
                shell = await core.shell(name, node)
                await shell.run("true")
                ssh_ok[node] = True
            except ProximityError as error:
                ssh_ok[node] = False
                errors.append(f"{node}: {error}")
        return ConnectionReport(
            host=name,
            ok=all(ssh_ok.values()),
            version=version,
            nodes=sorted(addresses),
            api_latency_ms=round(latency, 1),
            ssh_ok=ssh_ok,
            error="; ".join(errors) or None,
        )

    async def nodes(self, name: str | None = None) -> list[Node]:
        """Nodes with live capacity, of one host or all of them."""
        names = [name] if name else [h.name for h in self._core.store.list_hosts()]
        nodes: list[Node] = []
        for host_name in names:
            pve = self._core.pve(host_name)
            nodes += await self._core.call(pve.nodes)
        return nodes

    async def storages(self, name: str, node: str | None = None, content: str | None = None) -> list[Storage]:
        """A host's storages (of one node, or all), optionally only those whose content includes ``content``."""
        pve = self._core.pve(name)
        node_names = [node] if node else [n.name for n in await self.nodes(name) if n.online]
        result: list[Storage] = []
        for node_name in node_names:
            result += await self._core.call(pve.storages, node_name, content)
        return result

    async def resolve(self, name: str | None) -> str:
        """The host to use: the named one, or the only one recorded."""
        hosts = self._core.store.list_hosts()
        if name is not None:
            if not any(h.name == name for h in hosts):
                raise NotFound(f"no host named {name!r}")
            return name
        if len(hosts) == 1:
            return hosts[0].name
        if not hosts:
            raise NotFound("no host added yet (proximity hosts add ...)")
        raise ValidationError(f"several hosts are recorded ({', '.join(h.name for h in hosts)}); name one")


def _secret(value: str | SecretStr | None) -> SecretStr | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, SecretStr) else SecretStr(value)


def format_pin(fingerprint: str) -> str:
    digest = normalise_fingerprint(fingerprint)
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2)).upper()


def _first_error(error: Exception) -> str:
    """A readable reason that never echoes the input (it may be a secret)."""
    if isinstance(error, PydanticValidationError):
        first = error.errors(include_input=False)[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid"))
    return str(error)
