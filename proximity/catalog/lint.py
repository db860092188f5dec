"""Lint: the checks that flag weak catalog entries, beyond what the schema can refuse on its own.

Each finding carries a rule id (stable, for docs and suppression), a severity and the entry. Errors make
``proximity catalog lint`` fail; warnings are advice. :data:`RULES` lists every rule with its reason.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from proximity.catalog import compose as compose_doc
from proximity.catalog.files import is_catalog_file
from proximity.catalog.loader import Catalog, LoadError, load_entry_file
from proximity.catalog.schema import CatalogEntry, ComposeInstall, OciInstall

Severity = Literal["error", "warning"]

RULES: dict[str, tuple[Severity, str]] = {
    "invalid-entry": (
        "error",
        "The file does not load: bad syntax, a schema violation, or a name/id mismatch.",
    ),
    "image-tag-latest": (
        "error",
        "An image uses the moving 'latest' tag; pin the release the entry was written for.",
    ),
    "image-tag-missing": ("error", "An image has no tag (Docker then pulls 'latest'); pin a release."),
    "image-tag-variable": (
        "warning",
        "An image tag comes from a variable; the installed release is not pinned.",
    ),
    "no-healthcheck": ("error", "No health check, so an install cannot tell when the app is really up."),
    "shared-default-password": (
        "error",
        "A password, secret or token is a literal shared by every install, or the upstream default is kept.",
    ),
    "stateful-without-volumes": (
        "error",
        (
            "No persistent volume is declared, so backup, clone and update do not know what to keep "
            "(set 'stateless: true' if the app really keeps nothing)."
        ),
    ),
    "compose-volume-undeclared": (
        "error",
        "A Compose volume or bind mount is not under any declared volume path, so its data is not kept.",
    ),
    "compose-anonymous-volume": (
        "warning",
        "An anonymous Compose volume is not declared and is easily lost.",
    ),
    "compose-port-undeclared": (
        "error",
        "A port published by the Compose document is not declared in 'ports'.",
    ),
    "compose-port-unpinned": ("error", "A Compose port is published on a random or variable host port."),
    "port-not-published": (
        "error",
        "A declared port is not published by any service of the Compose document.",
    ),
    "no-web-ui": ("warning", "No port is marked as the web UI."),
    "undeclared-input": (
        "error",
        "The install refers to ${NAME} but NAME is not an env input (a secret would be left empty).",
    ),
    "credentials-unknown": ("warning", "How the first login works is unknown (typical of imported entries)."),
    "unused-input": ("warning", "An env input is never referenced by the install."),
    "update-method-mismatch": ("error", "The update method needs an install method the entry does not have."),
}

_PASSWORD_WORDS = frozenset({"PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "TOKEN", "APIKEY", "SALT"})
_PASSWORD_PAIRS = ("API_KEY", "SECRET_KEY", "PRIVATE_KEY", "ENCRYPTION_KEY", "SECRET_KEY_BASE", "ACCESS_KEY")
_NOT_A_SECRET_SUFFIXES = frozenset(
    {
        "FILE",
        "PATH",
        "DIR",
        "LENGTH",
        "LEN",
        "MIN",
        "MAX",
        "ITERATIONS",
        "ENABLED",
        "DISABLED",
        "ENABLE",
        "DISABLE",
        "LOGIN",
        "AUTH",
        "URL",
        "HOST",
        "PORT",
        "USER",
        "USERNAME",
        "EXPIRY",
        "EXPIRE",
        "TTL",
        "TIMEOUT",
        "TYPE",
        "MODE",
        "POLICY",
        "RESET",
        "HINT",
        "PROVIDER",
    }
)
_NOT_A_SECRET_VALUES = frozenset({"", "true", "false", "yes", "no", "on", "off", "0", "1", "none", "null"})
# Host paths a Compose service may bind without them being app data.
SYSTEM_BIND_PREFIXES = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/etc/localtime",
    "/etc/timezone",
    "/dev",
    "/proc",
    "/sys",
    "/lib/modules",
    "/usr/share/zoneinfo",
    "/run/udev",
    "/run/dbus",
)
# A read-only bind under these is host information for the app (monitoring tools read /etc/os-release,
# /proc, the Docker state), not data the app writes.
_HOST_INFO_PREFIXES = (
    "/etc",
    "/proc",
    "/sys",
    "/run",
    "/var/run",
    "/var/lib/docker",
    "/var/log",
    "/usr",
    "/lib",
    "/dev",
    "/boot",
)
DOCKER_VOLUMES_DIR = "/var/lib/docker/volumes"
COMPOSE_PROJECT_DIR = "/opt/proximity"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    entry: str
    message: str
    path: str | None = None

    def __str__(self) -> str:
        return f"{self.severity}: {self.entry}: [{self.rule}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_password_like(name: str) -> bool:
    """True for variable names that hold a password, secret, token or key (``DB_PASSWORD``, ``API_KEY``)."""
    upper = name.upper()
    parts = [part for part in re.split(r"_+", upper) if part]
    if not parts or parts[-1] in _NOT_A_SECRET_SUFFIXES:
        return False
    return bool(_PASSWORD_WORDS.intersection(parts)) or any(pair in upper for pair in _PASSWORD_PAIRS)


def _finding(rule: str, entry: str, message: str, path: str | None = None) -> Finding:
    return Finding(rule, RULES[rule][0], entry, message, path)


def lint_entry(entry: CatalogEntry, path: str | None = None) -> list[Finding]:
    """Every finding for one (schema-valid) entry."""
    findings: list[Finding] = []
    for check in _CHECKS:
        findings.extend(check(entry))
    return [Finding(f.rule, f.severity, f.entry, f.message, path) for f in findings]


def lint_catalog(catalog: Catalog) -> list[Finding]:
    """Load errors of the catalog as ``invalid-entry`` findings, then the findings of every entry."""
    findings = [_load_error_finding(error) for error in catalog.errors]
    for entry in catalog:
        findings.extend(lint_entry(entry, str(catalog.provenance(entry.id).path)))
    return findings


def lint_paths(paths: Sequence[Path]) -> list[Finding]:
    """Lint entry files and folders of entry files given on the command line."""
    findings: list[Finding] = []
    for path in _expand(paths):
        entry, errors = load_entry_file(path, source=str(path.parent))
        findings.extend(_load_error_finding(error) for error in errors)
        if entry is not None:
            findings.extend(lint_entry(entry, str(path)))
    return findings


def _expand(paths: Sequence[Path]) -> Iterable[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.is_file() and is_catalog_file(p))
        else:
            yield path


def _load_error_finding(error: LoadError) -> Finding:
    entry_name = error.path.stem if error.path.suffix else error.path.name
    return _finding("invalid-entry", entry_name, str(error), str(error.path))


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(finding.severity == "error" for finding in findings)


# -- the checks ----------------------------------------------------------------------------------------


def _composes(entry: CatalogEntry) -> list[ComposeInstall]:
    return [method for method in entry.install if isinstance(method, ComposeInstall)]


def _images(entry: CatalogEntry) -> list[tuple[str, str]]:
    """(where, image reference) for the OCI installs and every Compose service with an image."""
    images: list[tuple[str, str]] = []
    for method in entry.install:
        if isinstance(method, OciInstall):
            images.append(("oci install", method.image))
        elif isinstance(method, ComposeInstall):
            for name, service in compose_doc.services(method.compose).items():
                image = service.get("image")
                if isinstance(image, str):
                    images.append((f"compose service {name!r}", image))
    return images


def image_tag(reference: str) -> str | None:
    """The tag of an image reference (``None`` when it has none); a registry port is not a tag."""
    name = reference.split("@", 1)[0]
    last_segment = name.rsplit("/", 1)[-1]
    return last_segment.split(":", 1)[1] if ":" in last_segment else None


def _check_images(entry: CatalogEntry) -> Iterable[Finding]:
    for where, reference in _images(entry):
        if "@sha256:" in reference:
            continue
        tag = image_tag(reference)
        if tag is None:
            yield _finding("image-tag-missing", entry.id, f"{where}: image {reference!r} has no tag")
        elif "$" in tag:
            yield _finding(
                "image-tag-variable", entry.id, f"{where}: image {reference!r} takes its tag from a variable"
            )
        elif tag == "latest" or tag.endswith("-latest"):
            yield _finding(
                "image-tag-latest", entry.id, f"{where}: image {reference!r} uses the 'latest' tag"
            )


def _check_healthcheck(entry: CatalogEntry) -> Iterable[Finding]:
    if entry.healthcheck is None:
        finding = _finding("no-healthcheck", entry.id, "no health check")
        if not entry.ports:  # nothing to probe: advice only
            finding = Finding(finding.rule, "warning", entry.id, "no health check (and no port to probe)")
        yield finding


def _literal_env(entry: CatalogEntry) -> Iterable[tuple[str, str, str]]:
    """(where, name, value) for environment values written in the entry itself."""
    for method in entry.install:
        if isinstance(method, OciInstall):
            for name, value in method.env.items():
                yield "oci install", name, value
        elif isinstance(method, ComposeInstall):
            for service_name, service in compose_doc.services(method.compose).items():
                for name, maybe_value in compose_doc.service_environment(service).items():
                    if maybe_value is not None:
                        yield f"compose service {service_name!r}", name, maybe_value


def _check_passwords(entry: CatalogEntry) -> Iterable[Finding]:
    if entry.credentials.policy == "upstream-default":
        yield _finding(
            "shared-default-password",
            entry.id,
            "credentials.policy is 'upstream-default': every install shares the upstream default password",
        )
    if entry.credentials.policy == "unknown":
        yield _finding(
            "credentials-unknown", entry.id, "credentials.policy is 'unknown'; say how the first login works"
        )
    for where, name, value in _literal_env(entry):
        if is_password_like(name) and "$" not in value and value.strip().lower() not in _NOT_A_SECRET_VALUES:
            yield _finding(
                "shared-default-password",
                entry.id,
                f"{where}: {name} is a literal value shared by every install; "
                "use a generated or required input",
            )
    for env_input in entry.env:
        literal_default = env_input.default not in (None, "") and env_input.generate is None
        if is_password_like(env_input.name) and env_input.type != "number" and literal_default:
            if str(env_input.default).strip().lower() in _NOT_A_SECRET_VALUES:
                continue
            yield _finding(
                "shared-default-password",
                entry.id,
                f"env input {env_input.name} has a literal default; use 'generate' or make it required",
            )


def _check_volumes_declared(entry: CatalogEntry) -> Iterable[Finding]:
    if not entry.stateless and not entry.volumes:
        yield _finding(
            "stateful-without-volumes",
            entry.id,
            "no persistent volumes declared (set 'stateless: true' if the app keeps nothing worth keeping)",
        )


def _covered(path: str, roots: Iterable[str]) -> bool:
    path = posixpath.normpath(path)
    for root in roots:
        root = posixpath.normpath(root)
        if path == root or path.startswith(root.rstrip("/") + "/"):
            return True
    return False


def _check_compose_volumes(entry: CatalogEntry) -> Iterable[Finding]:
    declared = [volume.path for volume in entry.volumes]
    user_mounts = [mount.path for mount in entry.requirements.mounts]
    project_dir = f"{COMPOSE_PROJECT_DIR}/{entry.id}"
    for method in _composes(entry):
        for service_name, service in compose_doc.services(method.compose).items():
            try:
                mounts = compose_doc.service_mounts(service_name, service)
            except compose_doc.ComposeFormatError as exc:
                yield _finding(
                    "compose-volume-undeclared", entry.id, f"compose service {service_name!r}: {exc}"
                )
                continue
            for mount in mounts:
                where = f"compose service {service_name!r}"
                if mount.kind == "tmpfs" or (mount.source is None and mount.kind != "anonymous"):
                    continue
                if mount.kind == "anonymous":
                    yield _finding(
                        "compose-anonymous-volume", entry.id, f"{where}: anonymous volume at {mount.target}"
                    )
                    continue
                assert mount.source is not None
                if mount.kind == "volume":
                    host_path = f"{DOCKER_VOLUMES_DIR}/{entry.id}_{mount.source}"
                    if not _covered(host_path, declared):
                        yield _finding(
                            "compose-volume-undeclared",
                            entry.id,
                            f"{where}: named volume {mount.source!r} ({host_path}) "
                            "is not under a declared volume",
                        )
                    continue
                if mount.source.startswith("$"):
                    continue  # a user-chosen path, checked when it is filled in
                host_path = (
                    posixpath.join(project_dir, mount.source)
                    if mount.source.startswith(".")
                    else mount.source
                )
                if _covered(host_path, SYSTEM_BIND_PREFIXES) or _covered(host_path, user_mounts):
                    continue
                if mount.read_only and _covered(host_path, _HOST_INFO_PREFIXES):
                    continue
                if not _covered(host_path, declared):
                    yield _finding(
                        "compose-volume-undeclared",
                        entry.id,
                        f"{where}: bind mount {mount.source}:{mount.target} is not under a declared volume",
                    )


def _check_compose_ports(entry: CatalogEntry) -> Iterable[Finding]:
    declared = {(port.port, port.protocol) for port in entry.ports}
    for method in _composes(entry):
        published: set[tuple[int, str]] = set()
        for service_name, service in compose_doc.services(method.compose).items():
            where = f"compose service {service_name!r}"
            try:
                mappings = compose_doc.service_ports(service_name, service)
            except compose_doc.ComposeFormatError as exc:
                yield _finding("compose-port-undeclared", entry.id, f"{where}: {exc}")
                continue
            for mapping in mappings:
                if mapping.published is None:
                    how = "a variable" if mapping.published_is_variable else "a random"
                    yield _finding(
                        "compose-port-unpinned",
                        entry.id,
                        f"{where}: container port {mapping.target}/{mapping.protocol} "
                        f"is published on {how} host port",
                    )
                    continue
                published.add((mapping.published, mapping.protocol))
                if (mapping.published, mapping.protocol) not in declared:
                    yield _finding(
                        "compose-port-undeclared",
                        entry.id,
                        f"{where}: publishes {mapping.published}/{mapping.protocol}, "
                        "which 'ports' does not declare",
                    )
        for port in entry.ports:
            if (port.port, port.protocol) not in published:
                yield _finding(
                    "port-not-published",
                    entry.id,
                    f"port {port.name!r} ({port.port}/{port.protocol}) "
                    "is not published by the Compose document",
                )


def _check_web_ui(entry: CatalogEntry) -> Iterable[Finding]:
    if entry.web_port is None:
        yield _finding("no-web-ui", entry.id, "no port is marked web_ui: true")


def _references(entry: CatalogEntry) -> list[compose_doc.VariableReference]:
    found: list[compose_doc.VariableReference] = []
    for method in entry.install:
        if isinstance(method, ComposeInstall):
            found.extend(compose_doc.variable_references(method.compose))
        elif isinstance(method, OciInstall):
            found.extend(compose_doc.variable_references(method.env))
            if method.entrypoint:
                found.extend(compose_doc.variable_references(method.entrypoint))
    return found


def _check_inputs(entry: CatalogEntry) -> Iterable[Finding]:
    inputs = {env_input.name for env_input in entry.env}
    references = _references(entry)
    reported: set[str] = set()
    for reference in references:
        if reference.name in inputs or reference.has_default or reference.name in reported:
            continue
        reported.add(reference.name)
        kind = "secret" if is_password_like(reference.name) else "variable"
        yield _finding(
            "undeclared-input",
            entry.id,
            f"the install refers to the {kind} ${{{reference.name}}}, not an env input",
        )
    if any(method.type == "script" for method in entry.install):
        return  # a script receives every input in /etc/proximity/app.env
    used = {reference.name for reference in references}
    if entry.credentials.password_input:
        used.add(entry.credentials.password_input)
    for env_input in entry.env:
        if env_input.name not in used:
            yield _finding("unused-input", entry.id, f"env input {env_input.name} is never referenced")


def _check_update(entry: CatalogEntry) -> Iterable[Finding]:
    needed = {"compose-pull": "compose", "oci-replace": "oci"}.get(entry.update.method)
    if needed and not any(method.type == needed for method in entry.install):
        yield _finding(
            "update-method-mismatch",
            entry.id,
            f"update method {entry.update.method!r} needs a {needed!r} install method",
        )


_CHECKS = (
    _check_images,
    _check_healthcheck,
    _check_passwords,
    _check_volumes_declared,
    _check_compose_volumes,
    _check_compose_ports,
    _check_web_ui,
    _check_inputs,
    _check_update,
)
