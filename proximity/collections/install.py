"""Installing and updating an app inside its container, by the method its catalog entry declares."""

from __future__ import annotations

import base64
import math
import re
import secrets
import uuid
from typing import Any

import yaml

from proximity.catalog.schema import CatalogEntry, ComposeInstall, OciInstall, ScriptInstall
from proximity.errors import ValidationError
from proximity.pve.guest import Guest

APP_ENV = "/etc/proximity/app.env"
INSTALL_SCRIPT = "/opt/proximity/install.sh"
UPDATE_SCRIPT = "/opt/proximity/update.sh"
_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


def generate_secret(kind: str) -> str:
    """A fresh value per install, never a shared default."""
    if kind == "password":
        return secrets.token_urlsafe(18)
    if kind == "token":
        return secrets.token_urlsafe(32)
    if kind == "hex32":
        return secrets.token_hex(32)
    if kind == "base64-32":
        return base64.b64encode(secrets.token_bytes(32)).decode()
    if kind == "uuid":
        return str(uuid.uuid4())
    raise ValidationError(f"unknown secret kind {kind!r}")


def resolve_inputs(entry: CatalogEntry, given: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Validate the user's env values against the entry. Returns (public values, secret values)."""
    known = {e.name: e for e in entry.env}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValidationError(
            f"{entry.id} has no input(s) {', '.join(unknown)}",
            details={"inputs": ", ".join(sorted(known)) or "none"},
        )
    public: dict[str, str] = {}
    hidden: dict[str, str] = {}
    for spec in entry.env:
        raw = given.get(spec.name)
        if raw is None or raw == "":
            if spec.generate:
                raw = generate_secret(spec.generate)
            elif spec.default is not None:
                raw = spec.default
            elif spec.required:
                raise ValidationError(f"{entry.id} needs a value for {spec.name} ({spec.label})")
            else:
                raw = ""
        value = _as_text(spec.name, spec.type, raw, spec.choices)
        (hidden if spec.is_secret else public)[spec.name] = value
    return public, hidden


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _as_text(name: str, kind: str, raw: Any, choices: list[str] | None) -> str:
    """An input as the text apps read: booleans as lowercase ``true``/``false`` (what Vaultwarden, the
    Minecraft EULA and most apps parse), numbers as plain digits (``8080``, not ``8080.0``)."""
    if kind == "boolean":
        if isinstance(raw, str):
            if raw.strip().lower() not in _TRUE + _FALSE:
                raise ValidationError(f"{name} must be true or false")
            raw = raw.strip().lower() in _TRUE
        return "true" if raw else "false"
    if kind == "number":
        return _number_text(name, raw)
    text = str(raw)
    if kind == "choice" and choices and text not in choices:
        raise ValidationError(f"{name} must be one of {', '.join(choices)}")
    if "\x00" in text:
        raise ValidationError(f"{name} may not contain NUL characters")
    return text


def _number_text(name: str, raw: Any) -> str:
    if isinstance(raw, bool):
        raise ValidationError(f"{name} must be a number")
    try:
        number = float(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a number") from None
    if not math.isfinite(number):
        raise ValidationError(f"{name} must be a finite number")
    if number.is_integer() and "e" not in str(raw).lower():
        return str(int(number))
    return repr(number)


def compose_env_file(values: dict[str, str]) -> str:
    r"""A ``.env`` file as Docker Compose reads it (compose-go's dotenv parser).

    Single quotes are literal there (no escapes, no ``$`` interpolation; ``#`` and spaces kept), so a value
    with no ``'``, no line break and no trailing backslash is written single-quoted. Any other value is
    written double-quoted, where Compose turns ``\n`` into a newline, ``\\`` into ``\``, ``\"`` into
    ``"`` and ``\$`` into a literal ``$`` (a bare ``$`` would be interpolated). Line breaks always travel as
    ``\n`` so each value stays on one line."""
    return "".join(f"{key}={_compose_quote(values[key])}\n" for key in sorted(values))


def _compose_quote(value: str) -> str:
    if not any(c in value for c in "'\n\r") and not value.endswith("\\"):
        return f"'{value}'"
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("$", "\\$")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )
    return f'"{escaped}"'


def shell_env_file(values: dict[str, str]) -> str:
    """An environment file for install scripts that source it (``. /etc/proximity/app.env``): POSIX shell
    single quotes, a ``'`` inside written as ``'\\''``."""
    return "".join(f"{key}='{_shell_single(values[key])}'\n" for key in sorted(values))


def _shell_single(value: str) -> str:
    return value.replace("'", "'\\''")


def env_file(values: dict[str, str]) -> str:
    """The first SDK version's name for the Compose ``.env`` writer (kept for callers)."""
    return compose_env_file(values)


def substitute(template: str, values: dict[str, str]) -> str:
    return _REF.sub(lambda m: values.get(m.group(1), ""), template)


def choose_method(entry: CatalogEntry, preferred: str | None, pve_version: str) -> Any:
    """The install method: the preferred one when the entry offers it, else the entry's first usable one.
    OCI application containers need PVE >= 9.1."""
    usable = [m for m in entry.install if m.type != "oci" or _version_at_least(pve_version, (9, 1))]
    if not usable:
        raise ValidationError(f"{entry.id} only installs as an OCI image, which needs PVE 9.1 or later")
    if preferred:
        for method in usable:
            if method.type == preferred:
                return method
    return usable[0]


def _version_at_least(version: str, wanted: tuple[int, int]) -> bool:
    numbers = [int(p) for p in re.findall(r"\d+", version)[:2]]
    while len(numbers) < 2:
        numbers.append(0)
    return tuple(numbers) >= wanted


def method_of(entry: CatalogEntry, kind: str) -> Any:
    for method in entry.install:
        if method.type == kind:
            return method
    raise ValidationError(f"{entry.id} has no {kind!r} install method")


def oci_env(method: OciInstall, values: dict[str, str]) -> str | None:
    """The CT ``env`` parameter: NUL-separated KEY=value pairs."""
    pairs = [f"{k}={substitute(v, values)}" for k, v in sorted(method.env.items())]
    return "\x00".join(pairs) or None


async def install(guest: Guest, entry: CatalogEntry, method: Any, values: dict[str, str]) -> list[str]:
    """Install the app; returns a short log of what was done (no secret in it)."""
    if isinstance(method, ComposeInstall):
        project = entry.id
        folder = guest.compose_dir(project)
        await guest.install_docker()
        await guest.write_file(f"{folder}/compose.yaml", yaml.safe_dump(method.compose, sort_keys=False))
        await guest.write_file(f"{folder}/.env", compose_env_file(values), secret=True)
        await guest.compose(project, "pull")
        await guest.compose(project, "up", "-d")
        return ["installed Docker", f"wrote {folder}/compose.yaml and .env", "docker compose up -d"]
    if isinstance(method, ScriptInstall):
        await guest.write_file(APP_ENV, shell_env_file(script_env(entry, method, values)), secret=True)
        await guest.write_file(INSTALL_SCRIPT, method.script)
        done = [f"wrote {APP_ENV}"]
        if method.os == "alpine":
            # catalog scripts are bash scripts; Alpine ships only busybox sh
            await guest.ensure_bash_alpine()
            done.append("installed bash (apk add bash)")
        await guest.run_script(INSTALL_SCRIPT)
        return [*done, f"ran {INSTALL_SCRIPT}"]
    if isinstance(method, OciInstall):
        return ["the OCI image runs as the container's init"]
    raise ValidationError(f"unknown install method {type(method).__name__}")


def script_env(entry: CatalogEntry, method: ScriptInstall, values: dict[str, str]) -> dict[str, str]:
    """What a native install script reads from /etc/proximity/app.env: the app, its ports, the service it
    must install and start (``PROXIMITY_SERVICE``), and the app's inputs."""
    fixed = {
        "PROXIMITY_APP": entry.id,
        "PROXIMITY_PORTS": ",".join(str(p.port) for p in entry.ports),
        "PROXIMITY_SERVICE": method.service or "",
    }
    return {**values, **fixed}


def script_template(method: ScriptInstall) -> str:
    """The OS template prefix a script install needs (``debian-13``, ``alpine-3.22``)."""
    return f"{method.os}-{method.os_version}"


async def update(guest: Guest, entry: CatalogEntry) -> list[str]:
    """Update in place by the entry's update strategy."""
    strategy = entry.update
    if strategy.method == "compose-pull":
        await guest.compose(entry.id, "pull")
        await guest.compose(entry.id, "up", "-d")
        return ["docker compose pull", "docker compose up -d"]
    if strategy.method == "script":
        assert strategy.script is not None
        await guest.write_file(UPDATE_SCRIPT, strategy.script)
        script = next((m for m in entry.install if isinstance(m, ScriptInstall)), None)
        if script is not None and script.os == "alpine":
            await guest.ensure_bash_alpine()
        await guest.run_script(UPDATE_SCRIPT)
        return [f"ran {UPDATE_SCRIPT}"]
    if strategy.method == "oci-replace":
        raise ValidationError(
            f"{entry.id}: OCI images are updated by redeploying from a backup (not automated yet)"
        )
    raise ValidationError(f"{entry.id} declares no update method")


async def app_logs(guest: Guest, entry: CatalogEntry, method_type: str, lines: int) -> str:
    if method_type == "compose":
        result = await guest.compose(entry.id, "logs", "--no-color", "--tail", str(int(lines)), check=False)
        return result.stdout
    if method_type == "script":
        method = method_of(entry, "script")
        if method.service:
            return await guest.journal(method.service, lines)
    return ""
