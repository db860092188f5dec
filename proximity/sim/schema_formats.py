"""PVE's named parameter formats (``format: "pve-vmid"`` and friends), checked with PVE's own rules.

Each verifier mirrors the Perl function PVE registers for the format (``PVE::JSONSchema``,
``PVE::Tools``, ``PVE::Auth::Plugin``, ``PVE::AccessControl``, ``PVE::Storage::Plugin``,
``PVE::LXC::Config``, ``PVE::API2::Backup``) and raises :class:`FormatError` with the text PVE dies with,
trailing newline included, because PVE puts that text verbatim into the ``errors`` map.

Formats whose value is itself a property string (``prune-backups``, ``backup-performance``,
``backup-fleecing``) are described in :data:`NAMED_PROPERTY_FORMATS`; the API viewer only names them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any


class FormatError(ValueError):
    """A value does not satisfy a PVE format; ``message`` is PVE's text (ending in a newline)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Verifier = Callable[[str], None]

# --- regular expressions shared by several formats (PVE::Tools / PVE::ParseUtils) -----------------------
_IPV4_OCTET = r"(?:25[0-5]|(?:2[0-4]|1[0-9]|[1-9])?[0-9])"
IPV4_RE = rf"(?:(?:{_IPV4_OCTET}\.){{3}}{_IPV4_OCTET})"
_H16 = r"(?:[0-9a-fA-F]{1,4})"
_LS32 = rf"(?:(?:{IPV4_RE}|{_H16}:{_H16}))"
IPV6_RE = (
    "(?:"
    rf"(?:(?:(?:{_H16}:){{6}}){_LS32})|"
    rf"(?:(?:::(?:{_H16}:){{5}}){_LS32})|"
    rf"(?:(?:(?:{_H16})?::(?:{_H16}:){{4}}){_LS32})|"
    rf"(?:(?:(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}){_LS32})|"
    rf"(?:(?:(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}){_LS32})|"
    rf"(?:(?:(?:(?:{_H16}:){{0,3}}{_H16})?::(?:{_H16}:){{1}}){_LS32})|"
    rf"(?:(?:(?:(?:{_H16}:){{0,4}}{_H16})?::){_LS32})|"
    rf"(?:(?:(?:(?:{_H16}:){{0,5}}{_H16})?::){_H16})|"
    rf"(?:(?:(?:(?:{_H16}:){{0,6}}{_H16})?::))"
    ")"
)
EMAIL_USER_RE = r"[\w\+\-\~]+(\.[\w\+\-\~]+)*"
EMAIL_RE = rf"{EMAIL_USER_RE}@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*"
REALM_RE = r"[A-Za-z][A-Za-z0-9\.\-_]+"
CONFIGID_RE = r"[a-z][a-z0-9_-]+"
TAG_RE = r"[a-z0-9_][a-z0-9_\-\+\.]*"


def perl_match(pattern: str, value: str, flags: int = 0) -> bool:
    """``$value =~ m/^pattern$/``: Perl's ``$`` also matches before one trailing newline, as Python's does."""
    return re.search(f"^{pattern}$", value, flags) is not None


def split_list(text: str) -> list[str]:
    """``PVE::Tools::split_list``: split on NULs if there is one, else on commas, semicolons and blanks."""
    if "\0" in text:
        parts = text.split("\0")
        while parts and parts[-1] == "":  # Perl's split drops trailing empty fields
            parts.pop()
        return parts
    parts = re.split(r"\s+", re.sub(r"[,;]", " ", text).lstrip())
    while parts and parts[-1] == "":  # Perl's split drops trailing empty fields
        parts.pop()
    return parts


def parse_size(value: str) -> int | None:
    """``PVE::JSONSchema::parse_size``: ``"8G"`` -> bytes, ``None`` when it does not parse."""
    match = re.search(r"^(\d+(\.\d+)?)([KMGT])?$", value)
    if not match:
        return None
    factor = {None: 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[match.group(3)]
    return int(float(match.group(1)) * factor)


# --- verifiers --------------------------------------------------------------------------------------------
def verify_node(value: str) -> None:
    if not perl_match(r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)", value):
        raise FormatError("value does not look like a valid node name\n")


def verify_vmid(value: str) -> None:
    if not perl_match(r"[1-9][0-9]{2,8}", value):
        raise FormatError("value does not look like a valid VM ID\n")


def verify_storage_id(value: str) -> None:
    if not perl_match(r"[a-z][a-z0-9\-\_\.]*[a-z0-9]", value, re.IGNORECASE):
        raise FormatError(f"storage ID '{value}' contains illegal characters\n")


def verify_configid(value: str) -> None:
    if not perl_match(CONFIGID_RE, value, re.IGNORECASE):
        raise FormatError(f"invalid configuration ID '{value}'\n")


def verify_poolid(value: str) -> None:
    # PVE >= 8.1 allows nested pools, up to three levels ("parent/child/grandchild").
    if not perl_match(r"[A-Za-z0-9\.\-_]+(?:/[A-Za-z0-9\.\-_]+){0,2}", value):
        raise FormatError(f"pool name '{value}' contains invalid characters\n")


def verify_realm(value: str) -> None:
    if not perl_match(REALM_RE, value):
        raise FormatError("value does not look like a valid realm\n")


def verify_userid(value: str) -> None:
    length = len(value)
    if length < 3:
        raise FormatError(f"user name '{value}' is too short\n")
    if length > 64:
        raise FormatError(f"user name '{value}' is too long ({length} > 64)\n")
    if not perl_match(rf"([^\s:/]+)\@({REALM_RE})", value):
        raise FormatError(f"value '{value}' does not look like a valid user name\n")


def verify_groupid(value: str) -> None:
    if not perl_match(r"[A-Za-z0-9\.\-_]+", value):
        raise FormatError(f"group name '{value}' contains invalid characters\n")


def verify_roleid(value: str) -> None:
    if not perl_match(r"[A-Za-z0-9\.\-_]+", value):
        raise FormatError(f"role name '{value}' contains invalid characters\n")


def verify_tokenid(value: str) -> None:
    """``user@realm!name`` (``PVE::AccessControl``: the token name follows the realm's rule)."""
    if not perl_match(rf"(([^\s:/]+)\@({REALM_RE}))!({REALM_RE})", value):
        raise FormatError(f"value '{value}' does not look like a valid token ID\n")


def verify_volume_id(value: str) -> None:
    if not perl_match(r"([a-z][a-z0-9\-\_\.]*[a-z0-9]):(.+)", value, re.IGNORECASE):
        raise FormatError(f"unable to parse volume ID '{value}'\n")


def verify_disk_size(value: str) -> None:
    if parse_size(value) is None:
        raise FormatError(f"value does not look like a valid disk size: {value}\n")


# PVE::Storage::Plugin::verify_content: the 'dir' plugin's content types (it "includes all other types").
STORAGE_CONTENT_TYPES = frozenset(
    {"images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import", "none"}
)


def verify_storage_content(value: str) -> None:
    if value not in STORAGE_CONTENT_TYPES:
        raise FormatError(f"invalid content type '{value}'\n")


def verify_email_or_username(value: str) -> None:
    if not perl_match(EMAIL_RE, value) and not perl_match(EMAIL_USER_RE, value):
        raise FormatError("value does not look like a valid email address or user name\n")


_DNS_LABEL = r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)"


def verify_dns_name(value: str) -> None:
    if not perl_match(rf"({_DNS_LABEL}\.)*{_DNS_LABEL}", value):
        raise FormatError("value does not look like a valid DNS name\n")


def verify_day_of_week(value: str) -> None:
    if not perl_match(r"(mon|tue|wed|thu|fri|sat|sun)", value):
        raise FormatError(f"invalid day '{value}'\n")


def verify_lxc_mp_string(value: str) -> None:
    if re.search(r"/\.\.?/", value) or re.search(r"/\.\.?$", value) or re.search(r"^\.\./", value):
        raise FormatError(f"{value} contains illegal character sequences\n")


def verify_lxc_dev_string(value: str) -> None:
    if re.search(r"/\.\.?(?:/|$)", value) or not re.search(r"^/dev/", value):
        raise FormatError(f"{value} is not a valid device path\n")


def verify_ipv4(value: str) -> None:
    if not perl_match(f"(?:{IPV4_RE})", value):
        raise FormatError("value does not look like a valid IPv4 address\n")


def verify_ipv6(value: str) -> None:
    if not perl_match(f"(?:{IPV6_RE})", value):
        raise FormatError("value does not look like a valid IPv6 address\n")


def _is_ip(value: str) -> bool:
    return perl_match(f"(?:(?:{IPV4_RE})|(?:{IPV6_RE}))", value)


def verify_ip(value: str) -> None:
    if not _is_ip(value):
        raise FormatError("value does not look like a valid IP address\n")


def _is_cidr(value: str, ip_re: str, max_bits: int) -> bool:
    match = re.search(rf"^(?:{ip_re})(?:/(\d+))$", value)
    return bool(match) and 7 < int(match.group(1)) <= max_bits  # type: ignore[union-attr]


def verify_ipv4_config(value: str) -> None:
    if perl_match("(?:dhcp|manual)", value) or _is_cidr(value, IPV4_RE, 32):
        return
    raise FormatError("value does not look like a valid ipv4 network configuration\n")


def verify_ipv6_config(value: str) -> None:
    if perl_match("(?:auto|dhcp|manual)", value) or _is_cidr(value, IPV6_RE, 128):
        return
    raise FormatError("value does not look like a valid ipv6 network configuration\n")


def _is_iface(value: str) -> bool:
    """``PVE::JSONSchema::pve_verify_iface``'s rule for a network interface name."""
    return perl_match(r"[a-z][a-z0-9_]{1,20}([:\.]\d+)?", value, re.IGNORECASE)


def verify_ip_with_ll_iface(value: str) -> None:
    """``lxc-ip-with-ll-iface``: an IP, or a link-local IPv6 with ``%iface``."""
    match = re.search(r"^(fe80:[^%]+)%(.*)$", value)
    if match and _is_ip(match.group(1)) and _is_iface(match.group(2)):
        return
    verify_ip(value)


def verify_mac_addr(value: str) -> None:
    if not perl_match(r"[a-f0-9][02468ace](?::[a-f0-9]{2}){5}", value, re.IGNORECASE):
        raise FormatError("value does not look like a valid unicast MAC address\n")


def verify_startup_order(value: str) -> None:
    def parses() -> bool:
        if not value or value == "0":  # Perl: `return undef if !$value`
            return False
        for part in value.split(","):
            if re.search(r"^\s*$", part):
                continue
            if not (
                perl_match(r"(order=)?(\d+)", part)
                or perl_match(r"up=(\d+)", part)
                or perl_match(r"down=(\d+)", part)
            ):
                return False
        return True

    if not parses():
        raise FormatError("unable to parse startup options\n")


def verify_tag(value: str) -> None:
    if not perl_match(TAG_RE, value, re.IGNORECASE):
        raise FormatError("invalid characters in tag\n")


def verify_task_status_type(value: str) -> None:
    if not perl_match("(ok|error|warning|unknown)", value, re.IGNORECASE):
        raise FormatError(f"invalid status '{value}'\n")


# PVE 9 privileges (PVE::AccessControl $privgroups); VM.Monitor was dropped in PVE 9.
PRIVILEGES = frozenset(
    {
        "Datastore.Allocate",
        "Datastore.AllocateSpace",
        "Datastore.AllocateTemplate",
        "Datastore.Audit",
        "Group.Allocate",
        "Mapping.Audit",
        "Mapping.Modify",
        "Mapping.Use",
        "Permissions.Modify",
        "Pool.Allocate",
        "Pool.Audit",
        "Realm.Allocate",
        "Realm.AllocateUser",
        "SDN.Allocate",
        "SDN.Audit",
        "SDN.Use",
        "Sys.AccessNetwork",
        "Sys.Audit",
        "Sys.Console",
        "Sys.Incoming",
        "Sys.Modify",
        "Sys.PowerMgmt",
        "Sys.Syslog",
        "User.Modify",
        "VM.Allocate",
        "VM.Audit",
        "VM.Backup",
        "VM.Clone",
        "VM.Config.CDROM",
        "VM.Config.CPU",
        "VM.Config.Cloudinit",
        "VM.Config.Disk",
        "VM.Config.HWType",
        "VM.Config.Memory",
        "VM.Config.Network",
        "VM.Config.Options",
        "VM.Console",
        "VM.GuestAgent.Audit",
        "VM.GuestAgent.FileRead",
        "VM.GuestAgent.FileSystemMgmt",
        "VM.GuestAgent.FileWrite",
        "VM.GuestAgent.Unrestricted",
        "VM.Migrate",
        "VM.PowerMgmt",
        "VM.Replicate",
        "VM.Snapshot",
        "VM.Snapshot.Rollback",
    }
)


def verify_privilege(value: str) -> None:
    if value not in PRIVILEGES:
        raise FormatError(f"invalid privilege '{value}'\n")


@cache
def _zone_tab_names() -> frozenset[str]:
    """Zone names from ``zone.tab`` (what ``PVE::JSONSchema::pve_verify_timezone`` reads)."""
    system = Path("/usr/share/zoneinfo/zone.tab")
    text = ""
    if system.is_file():
        text = system.read_text(encoding="utf-8")
    else:
        try:
            text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
        except (ModuleNotFoundError, FileNotFoundError):
            import zoneinfo

            return frozenset(zoneinfo.available_timezones())
    names = set()
    for line in text.splitlines():
        if re.search(r"^\s*#", line):
            continue
        columns = line.split("\t")
        if len(columns) > 2:
            names.add(columns[2])
    return frozenset(names)


def verify_timezone(value: str) -> None:
    if value == "UTC" or value in _zone_tab_names():
        return
    raise FormatError(f"invalid time zone '{value}'\n")


def verify_ct_timezone(value: str) -> None:
    if value != "host":
        verify_timezone(value)


def _verify_idpair_entry(value: str, id_verifier: Verifier) -> None:
    """One entry of ``storage-pair-list``: ``1``, ``source:target`` or a default target ID."""

    def check(entry: str, ident: str) -> None:
        try:
            id_verifier(ident)
        except FormatError as exc:
            raise FormatError(f"entry '{entry}' contains invalid ID - {exc.message}\n\n") from None

    if value == "1":
        return
    match = re.search(r"^([^:]+):([^:]+)$", value)
    if match:
        check(value, match.group(1))
        check(value, match.group(2))
    else:
        check(value, value)


def verify_storage_pair(value: str) -> None:
    _verify_idpair_entry(value, verify_storage_id)


# --- pve-calendar-event ---------------------------------------------------------------------------------
_CAL_KEYWORDS = frozenset(
    {
        "minutely",
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "yearly",
        "annually",
        "quarterly",
        "semiannually",
    }
)
_WEEKDAY = r"(?:mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_WEEKDAY_ITEM = rf"{_WEEKDAY}(?:\.\.{_WEEKDAY})?"
_WEEKDAYS_RE = re.compile(rf"^{_WEEKDAY_ITEM}(?:,{_WEEKDAY_ITEM})*$", re.IGNORECASE)
_CAL_VALUE_RE = re.compile(r"^(?:\*|(\d{1,4})(?:\.\.(\d{1,4}))?)(?:/(\d{1,4}))?$")
_CAL_TIME_RANGES = {1: ((0, 59),), 2: ((0, 23), (0, 59)), 3: ((0, 23), (0, 59), (0, 59))}
_CAL_DATE_RANGES = {2: ((1, 12), (1, 31)), 3: ((1970, 9999), (1, 12), (1, 31))}


def _calendar_component_ok(text: str, low: int, high: int) -> bool:
    """``*``, ``5``, ``1..7``, ``*/15``, ``8..18/2`` and comma lists of them, within ``low..high``."""
    for item in text.split(","):
        match = _CAL_VALUE_RE.search(item)
        if not match or "\n" in item:
            return False
        bounds = [int(group) for group in match.groups()[:2] if group is not None]
        if any(not low <= bound <= high for bound in bounds) or bounds != sorted(bounds):
            return False
        if match.group(3) is not None and int(match.group(3)) == 0:
            return False
    return True


def _calendar_fields_ok(token: str, separator: str, ranges: dict[int, tuple[tuple[int, int], ...]]) -> bool:
    fields = token.split(separator)
    limits = ranges.get(len(fields))
    return limits is not None and all(
        _calendar_component_ok(text, low, high) for text, (low, high) in zip(fields, limits, strict=True)
    )


def verify_calendar_event(value: str) -> None:
    """A systemd-like calendar event as proxmox-time accepts it: ``[WEEKDAYS] [DATE] [TIME]`` or a keyword.

    Fields are range-checked (hour 0-23, minute and second 0-59, month 1-12, day 1-31); a single time
    field is the minute (``*/5``). The text after " - " is this simulator's, the Rust parser words its own.
    """
    tokens = value.split()
    ok = bool(tokens)
    if len(tokens) == 1 and tokens[0].lower() in _CAL_KEYWORDS:
        tokens = []
    if tokens and _WEEKDAYS_RE.search(tokens[0]):
        tokens = tokens[1:]
    if tokens and ":" not in tokens[0] and "-" in tokens[0]:
        ok = ok and _calendar_fields_ok(tokens[0], "-", _CAL_DATE_RANGES)
        tokens = tokens[1:]
    if tokens:
        ok = ok and _calendar_fields_ok(tokens[0], ":", _CAL_TIME_RANGES)
        tokens = tokens[1:]
    if not ok or tokens:
        raise FormatError(f"invalid calendar event '{value}' - unable to parse calendar event\n")


# --- registries -------------------------------------------------------------------------------------------
VERIFIERS: dict[str, Verifier] = {
    "string": lambda value: None,
    "pve-node": verify_node,
    "pve-vmid": verify_vmid,
    "pve-storage-id": verify_storage_id,
    "pve-configid": verify_configid,
    "pve-poolid": verify_poolid,
    "pve-realm": verify_realm,
    "pve-userid": verify_userid,
    "pve-groupid": verify_groupid,
    "pve-roleid": verify_roleid,
    "pve-tokenid": verify_tokenid,
    "pve-volume-id": verify_volume_id,
    "disk-size": verify_disk_size,
    "pve-storage-content": verify_storage_content,
    "email-or-username": verify_email_or_username,
    "dns-name": verify_dns_name,
    "pve-day-of-week": verify_day_of_week,
    "pve-calendar-event": verify_calendar_event,
    "pve-lxc-mp-string": verify_lxc_mp_string,
    "pve-lxc-dev-string": verify_lxc_dev_string,
    "lxc-ip-with-ll-iface": verify_ip_with_ll_iface,
    "ip": verify_ip,
    "ipv4": verify_ipv4,
    "ipv6": verify_ipv6,
    "mac-addr": verify_mac_addr,
    "pve-ipv4-config": verify_ipv4_config,
    "pve-ipv6-config": verify_ipv6_config,
    "pve-startup-order": verify_startup_order,
    "pve-tag": verify_tag,
    "pve-ct-timezone": verify_ct_timezone,
    "timezone": verify_timezone,
    "pve-task-status-type": verify_task_status_type,
    "pve-priv": verify_privilege,
    "storage-pair": verify_storage_pair,
}


def _validate_prune_backups(parsed: dict[str, Any]) -> dict[str, Any]:
    """``PVE::Storage::Plugin::validate_prune_backups``."""
    rest = {key: value for key, value in parsed.items() if key != "keep-all"}
    if not any(float(value) > 0 for value in rest.values()):
        return {"keep-all": 1}
    if parsed.get("keep-all"):
        raise FormatError("keep-all cannot be set together with other options.\n")
    return rest


_PRUNE_OPTION = {"optional": 1, "type": "integer", "minimum": 0, "format_description": "N"}

# Named hash formats: their sub-keys (the API viewer shows only the name) and an optional validator run
# on the parsed result, as ``PVE::JSONSchema::register_format($name, $hash, $validator)`` does.
NAMED_PROPERTY_FORMATS: dict[str, dict[str, Any]] = {
    "prune-backups": {
        "keep-all": {"type": "boolean", "optional": 1},
        **{
            f"keep-{period}": dict(_PRUNE_OPTION)
            for period in ("last", "hourly", "daily", "weekly", "monthly", "yearly")
        },
    },
    "backup-performance": {
        "max-workers": {"type": "integer", "minimum": 1, "maximum": 256, "default": 16, "optional": 1},
        "pbs-entries-max": {"type": "integer", "minimum": 1, "default": 1048576, "optional": 1},
    },
    "backup-fleecing": {
        "enabled": {"type": "boolean", "default_key": 1, "default": 0, "optional": 1},
        "storage": {"type": "string", "format": "pve-storage-id", "optional": 1},
    },
}
NAMED_FORMAT_VALIDATORS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "prune-backups": _validate_prune_backups,
}


def split_format_name(name: str) -> tuple[str, str]:
    """``pve-vmid-list`` -> (``pve-vmid``, ``list``); PVE's ``m/^(.*?)(?:-(list|opt))?$/``."""
    match = re.search(r"^(.*?)(?:-(list|opt))?$", name, re.DOTALL)
    assert match is not None
    return match.group(1), match.group(2) or "none"


def is_known_format(name: str) -> bool:
    base, _kind = split_format_name(name)
    return base in VERIFIERS or base in NAMED_PROPERTY_FORMATS


def translate_perl_regex(pattern: str) -> str:
    """Turn a stringified Perl ``qr//`` (``(?^:...)``, ``(?^i:...)``) into Python ``re`` syntax."""
    return re.sub(r"\(\?\^([a-z]*):", lambda m: f"(?{m.group(1)}:" if m.group(1) else "(?:", pattern)
