"""Pure pieces: property strings, error mapping, fingerprints, inputs and per-install secrets, reprs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from proxmoxer.core import ResourceException
from pydantic import SecretStr

from proximity.catalog.loader import load_catalog
from proximity.collections.install import choose_method, env_file, resolve_inputs
from proximity.errors import (
    AlreadyExists,
    AuthFailed,
    Locked,
    NotFound,
    PermissionDenied,
    ServerError,
    ValidationError,
)
from proximity.models import HostCredentials
from proximity.pve import props
from proximity.pve.api import Connection, _wire
from proximity.pve.errors import map_resource_error
from proximity.pve.tasks import PollPolicy, upid_node
from proximity.pve.tls import normalise_fingerprint


def test_property_strings() -> None:
    assert props.net0("vmbr0") == "name=eth0,bridge=vmbr0,ip=dhcp"
    assert props.rootfs("local-lvm", 8) == "local-lvm:8"
    assert props.features(nesting=True, keyctl=True) == "nesting=1,keyctl=1"
    assert props.features() is None
    assert props.parse("local-lvm:vm-100-disk-0,size=8G", "volume") == {
        "volume": "local-lvm:vm-100-disk-0",
        "size": "8G",
    }
    assert props.size_gb("512M") == 1 and props.size_gb("8G") == 8 and props.size_gb("1T") == 1024
    with pytest.raises(ValidationError):
        props.net0("vmbr0,ip=1.2.3.4")  # no injection of extra keys


def test_booleans_go_on_the_wire_as_1_and_0() -> None:
    assert _wire(True) == 1 and _wire(False) == 0 and _wire("x") == "x" and _wire(3) == 3


@pytest.mark.parametrize(
    ("status", "reason", "errors", "expected"),
    [
        (500, "CT 105 already exists on node 'pve1'", None, AlreadyExists),
        (500, "CT is locked (backup)", None, Locked),
        (500, "Configuration file 'nodes/pve1/lxc/999.conf' does not exist", None, NotFound),
        (400, "Parameter verification failed.", {"memory": "value must be at least 16"}, ValidationError),
        (401, "authentication failure", None, AuthFailed),
        (403, "Permission check failed (/vms/100, VM.PowerMgmt)", None, PermissionDenied),
        (503, "Service Unavailable", None, ServerError),
    ],
)
def test_pve_errors_are_typed_and_keep_the_message(
    status: int, reason: str, errors: dict | None, expected: type
) -> None:
    mapped = map_resource_error(ResourceException(status, "x", reason, errors=errors), "POST /nodes/pve1/lxc")
    assert type(mapped) is expected
    assert reason.rstrip(".").split(" (")[0] in str(mapped)
    if errors:
        assert mapped.details == {"memory": "value must be at least 16"}
    assert mapped.retryable == (expected in (Locked, ServerError))


def test_fingerprints_normalise() -> None:
    digest = "ab" * 32
    assert normalise_fingerprint(":".join(["AB"] * 32)) == digest
    assert normalise_fingerprint(digest) == digest
    with pytest.raises(ValidationError):
        normalise_fingerprint("AB:CD")


def test_tls_is_verified_unless_opted_out() -> None:
    assert Connection(url="https://h:8006").verify() is True
    assert Connection(url="https://h:8006", verify_tls=False).verify() is False
    assert Connection(url="https://h:8006", ca_path="/ca.pem").verify() == "/ca.pem"
    # pinning replaces CA checks (self-signed PVE certificates) but the pin itself is enforced by the adapter
    assert Connection(url="https://h:8006", fingerprint="ab" * 32).verify() is False
    with pytest.raises(ValidationError):
        Connection(url="http://h:8006").base_url()


def test_upid_and_poll_intervals() -> None:
    assert upid_node("UPID:pve2:0000A1B2:00C0FFEE:65000000:vzcreate:101:root@pam:") == "pve2"
    intervals = PollPolicy().intervals()
    first = [next(intervals) for _ in range(12)]
    assert first[0] == 0.05 and first == sorted(first) and first[-1] == 1.5


def test_secrets_are_generated_per_install_and_never_shared() -> None:
    catalog = load_catalog()
    entry = next(e for e in catalog if any(i.generate for i in e.env))
    public_a, hidden_a = resolve_inputs(entry, {})
    _, hidden_b = resolve_inputs(entry, {})
    generated = [i.name for i in entry.env if i.generate]
    assert generated and all(hidden_a[n] != hidden_b[n] and len(hidden_a[n]) >= 16 for n in generated)
    assert not set(hidden_a) & set(public_a)


def test_unknown_or_missing_inputs_are_refused() -> None:
    entry = load_catalog().get("jellyfin")
    assert entry is not None
    with pytest.raises(ValidationError, match="NOPE"):
        resolve_inputs(entry, {"NOPE": "1"})


def test_oci_needs_pve_9_1() -> None:
    entry = load_catalog().get("jellyfin")
    assert entry is not None
    assert choose_method(entry, "oci", "9.1.2").type == "oci"
    assert choose_method(entry, "oci", "8.4.1").type == "compose"


def _read_compose_dotenv(text: str) -> dict[str, str]:
    """Values as compose-go's dotenv parser reads them (quoted values only, which is all the writer emits):
    single quotes literal up to the first unescaped ``'``; double quotes with ``\\`` escapes, where
    ``\\n``/``\\r`` are line breaks, ``\\$`` a literal ``$`` and ``\\X`` is ``X``."""
    values: dict[str, str] = {}
    rest = text
    while rest.strip():
        key, _, rest = rest.lstrip("\n").partition("=")
        quote, rest = rest[0], rest[1:]
        assert quote in "'\"", f"unquoted value for {key}"
        chars: list[str] = []
        i = 0
        while rest[i] != quote:
            if rest[i] == "\\" and quote == '"':
                escaped = rest[i + 1]
                chars.append({"n": "\n", "r": "\r"}.get(escaped, escaped))
                i += 2
                continue
            assert rest[i] != "\\" or rest[i + 1] != quote, "an escaped quote inside single quotes"
            assert quote != '"' or rest[i] != "$", "a bare $ inside double quotes would be interpolated"
            chars.append(rest[i])
            i += 1
        values[key] = "".join(chars)
        rest = rest[i + 1 :]
        assert rest.startswith("\n")
    return values


@given(
    st.dictionaries(
        st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True),
        st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=20),
        max_size=5,
    )
)
def test_env_file_is_read_back_by_compose_unchanged(values: dict[str, str]) -> None:
    text = env_file(values)
    assert text.count("\n") == len(values)  # one line per value, line breaks escaped
    assert _read_compose_dotenv(text) == values


def test_env_file_quoting_choices() -> None:
    assert env_file({"A": "pa$$ #x"}) == "A='pa$$ #x'\n"  # literal in single quotes
    assert env_file({"A": "it's $HOME"}) == 'A="it\'s \\$HOME"\n'
    assert env_file({"A": "a\nb"}) == 'A="a\\nb"\n'


def test_no_secret_in_reprs() -> None:
    creds = HostCredentials(token_id="root@pam!px", token_secret=SecretStr("hunter2-secret"))
    assert "hunter2" not in repr(creds) and "hunter2" not in creds._repr_html_()
    assert "hunter2" not in str(creds.model_dump())


def test_catalog_collection() -> None:
    from proximity.collections.catalog import CatalogCollection
    from proximity.errors import NotFound

    catalog = CatalogCollection(load_catalog())
    assert catalog.get("jellyfin").name == "Jellyfin"
    assert "jellyfin" in [hit.entry.id for hit in catalog.search("jellyfin")][:3]
    assert all("media" in e.categories for e in catalog.list("media"))
    with pytest.raises(NotFound):
        catalog.get("no-such-app")
