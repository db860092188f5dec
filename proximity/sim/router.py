"""Route data and matching: PVE path templates (``/nodes/{node}/lxc/{vmid}``) to handlers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from proximity.sim.context import Handler

# Volume IDs contain '/' (``local:vztmpl/x.tar.zst``): PVE registers that segment without a delimiter.
_GREEDY = {"volume"}


@dataclass(frozen=True)
class Permission:
    """A PVE ``perm`` check: the ACL path (a template) and the privileges (all, or any with ``any_of``)."""

    path: str
    privileges: tuple[str, ...]
    any_of: bool = False


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    permission: Permission | None = None
    public: bool = False  # served without authentication (only POST /access/ticket)


def perm(path: str, *privileges: str, any_of: bool = False) -> Permission:
    return Permission(path, privileges, any_of)


def _compile(template: str) -> re.Pattern[str]:
    pattern = ""
    for part in re.split(r"(\{[a-z_-]+\})", template):
        if part.startswith("{"):
            name = part[1:-1]
            group = name.replace("-", "_")
            pattern += f"(?P<{group}>.+)" if name in _GREEDY else f"(?P<{group}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}/?$")


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._by_method: dict[str, list[tuple[re.Pattern[str], Route]]] = {}
        seen: set[tuple[str, str]] = set()
        # Literal paths first, so /nodes/{node}/lxc/{vmid}/status/current never loses to a greedy match.
        for route in sorted(routes, key=lambda r: (r.template.count("{"), -len(r.template))):
            key = (route.method, route.template)
            if key in seen:
                raise ValueError(f"route {route.method} {route.template} registered twice")
            seen.add(key)
            self._by_method.setdefault(route.method, []).append((_compile(route.template), route))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for pattern, route in self._by_method.get(method, ()):
            found = pattern.match(path)
            if found:
                names = re.findall(r"\{([a-z_-]+)\}", route.template)
                return route, {name: found.group(name.replace("-", "_")) for name in names}
        return None
