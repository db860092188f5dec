"""The simulator's parameter validator answers as PVE's ``PVE::JSONSchema`` does, word for word."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proximity.sim.schema import (
    ParameterError,
    PropertyStringError,
    PveSchema,
    UnknownEndpointError,
    parse_property_string,
    to_json_schema,
)
from proximity.sim.schema_formats import (
    FormatError,
    is_known_format,
    split_list,
    translate_perl_regex,
    verify_calendar_event,
    verify_ct_timezone,
    verify_ipv6_config,
    verify_mac_addr,
    verify_poolid,
    verify_storage_pair,
    verify_tokenid,
    verify_userid,
)

CREATE = ("POST", "/nodes/{node}/lxc")
ADDITIONAL = "property is not defined in schema and the schema does not allow additional properties"
MISSING = "property is missing and it is not optional"


@pytest.fixture(scope="module")
def schema() -> PveSchema:
    return PveSchema.load()


def create_params(**extra: Any) -> dict[str, Any]:
    return {"node": "pve1", "vmid": "100", "ostemplate": "local:vztmpl/debian-12-standard.tar.zst", **extra}


def errors_of(schema: PveSchema, method: str, template: str, params: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ParameterError) as caught:
        schema.validate(method, template, params)
    assert caught.value.message == "Parameter verification failed."
    assert caught.value.status == 400
    return caught.value.errors


# --- lookup -----------------------------------------------------------------------------------------------
def test_served_endpoints_are_known_and_others_are_not(schema: PveSchema) -> None:
    assert schema.has("POST", "/nodes/{node}/lxc/{vmid}/status/start")
    assert schema.has("get", "/cluster/resources")
    assert not schema.has("GET", "/nodes/{node}/qemu")
    with pytest.raises(UnknownEndpointError):
        schema.validate("GET", "/nodes/{node}/qemu", {})
    endpoint = schema.endpoint("DELETE", "/nodes/{node}/tasks/{upid}")
    assert endpoint.path_parameters == ["node", "upid"]
    assert endpoint.protected is True and endpoint.allowtoken is True and endpoint.proxyto == "node"
    assert schema.endpoint("GET", "/version").protected is False


# --- wording of each check --------------------------------------------------------------------------------
def test_missing_and_unknown_parameters(schema: PveSchema) -> None:
    errors = errors_of(schema, *CREATE, {"node": "pve1", "vmid": "100", "bogus": "1"})
    assert errors == {"ostemplate": MISSING, "bogus": ADDITIONAL}


def test_unknown_parameters_refused_where_the_schema_lists_none(schema: PveSchema) -> None:
    assert schema.validate("GET", "/version", {}) == {}
    assert errors_of(schema, "GET", "/version", {"verbose": "1"}) == {"verbose": ADDITIONAL}


def test_path_parameters_are_validated(schema: PveSchema) -> None:
    current = ("GET", "/nodes/{node}/lxc/{vmid}/status/current")
    errors = errors_of(schema, *current, {"node": "pve_1", "vmid": "x"})
    assert errors == {
        "node": "invalid format - value does not look like a valid node name\n",
        "vmid": "type check ('integer') failed - got 'x'",
    }
    errors = errors_of(schema, *current, {"node": "pve1", "vmid": "99"})
    assert errors == {"vmid": "invalid format - value does not look like a valid VM ID\n"}


def test_booleans_only_as_one_or_zero(schema: PveSchema) -> None:
    errors = errors_of(schema, *CREATE, create_params(start="True", unprivileged="yes"))
    assert errors == {
        "start": "type check ('boolean') failed - got 'True'",
        "unprivileged": "type check ('boolean') failed - got 'yes'",
    }
    values = schema.validate(*CREATE, create_params(start="1", unprivileged="0"))
    assert values["start"] is True and values["unprivileged"] is False


def test_json_body_values_are_checked_as_pve_sees_them(schema: PveSchema) -> None:
    values = schema.validate(*CREATE, create_params(vmid=101, start=True, memory=1024))
    assert values["vmid"] == 101 and values["start"] is True and values["memory"] == 1024
    errors = errors_of(schema, *CREATE, create_params(memory=True, hostname=["a", "b"]))
    assert errors == {
        "memory": "type check ('integer') failed - got JSON::PP::Boolean",
        "hostname": "type check ('string') failed - got ARRAY",
    }


def test_numbers_ranges_and_lengths(schema: PveSchema) -> None:
    errors = errors_of(schema, *CREATE, create_params(cores="0", memory="15", tty="7", password="abc"))
    assert errors == {
        "cores": "value must have a minimum value of 1",
        "memory": "value must have a minimum value of 16",
        "tty": "value must have a maximum value of 6",
        "password": "value must be at least 5 characters long",
    }
    errors = errors_of(schema, *CREATE, create_params(ostemplate="x" * 256, cpulimit="1.5.2"))
    assert errors == {
        "ostemplate": "value may only be 255 characters long",
        "cpulimit": "type check ('number') failed - got '1.5.2'",
    }


def test_enumeration_and_pattern(schema: PveSchema) -> None:
    errors = errors_of(schema, *CREATE, create_params(arch="sparc"))
    assert errors == {
        "arch": "value 'sparc' does not have a value in the enumeration "
        "'amd64, i386, arm64, armhf, riscv32, riscv64'"
    }
    download = ("POST", "/nodes/{node}/storage/{storage}/download-url")
    params = {"node": "pve1", "storage": "local", "content": "iso", "filename": "x.iso", "url": "ftp://x"}
    assert errors_of(schema, *download, params) == {"url": "value does not match the regex pattern"}
    params["url"] = "https://example.com/x.iso"
    assert schema.validate(*download, params)["url"] == "https://example.com/x.iso"


def test_named_formats_answer_with_pve_text(schema: PveSchema) -> None:
    errors = errors_of(
        schema,
        "GET",
        "/nodes/{node}/storage/{storage}/content",
        {"node": "pve1", "storage": "1bad", "content": "movies"},
    )
    assert errors == {
        "storage": "invalid format - storage ID '1bad' contains illegal characters\n",
        "content": "invalid format - invalid content type 'movies'\n",
    }
    errors = errors_of(
        schema,
        "POST",
        "/nodes/{node}/lxc/{vmid}/snapshot",
        {"node": "pve1", "vmid": "100", "snapname": "1st"},
    )
    assert errors == {"snapname": "invalid format - invalid configuration ID '1st'\n"}


def test_list_formats_split_and_join(schema: PveSchema) -> None:
    vzdump = ("POST", "/nodes/{node}/vzdump")
    assert schema.validate(*vzdump, {"node": "pve1", "vmid": "100,101 102"})["vmid"] == "100,101 102"
    # a repeated key arrives as a list and is joined for '-list' formats, as PVE::RESTHandler does
    assert schema.validate(*vzdump, {"node": "pve1", "vmid": ["100", "101"]})["vmid"] == "100,101"
    errors = errors_of(schema, *vzdump, {"node": "pve1", "vmid": "100,abc"})
    assert errors == {"vmid": "invalid format - value does not look like a valid VM ID\n"}
    assert schema.validate(*CREATE, create_params(tags="web;prod media"))["tags"] == "web;prod media"


def test_requires_names_the_missing_partner(schema: PveSchema) -> None:
    errors = errors_of(
        schema, "POST", "/access/ticket", {"username": "root@pam", "password": "secret", "privs": "VM.Audit"}
    )
    assert errors == {"path": "missing property - 'privs' requires this property"}


def test_integers_and_numbers_are_coerced(schema: PveSchema) -> None:
    values = schema.validate(*CREATE, create_params(memory="+1024", cpulimit="1.5", swap="0512", start="0"))
    assert values == {
        "node": "pve1",
        "vmid": 100,
        "ostemplate": "local:vztmpl/debian-12-standard.tar.zst",
        "memory": 1024,
        "cpulimit": 1.5,
        "swap": 512,
        "start": False,
    }
    # the format check runs before the number check, so a signed VMID is refused as PVE refuses it
    assert errors_of(schema, *CREATE, create_params(vmid="+105")) == {
        "vmid": "invalid format - value does not look like a valid VM ID\n"
    }


def test_every_failing_parameter_is_reported_at_once(schema: PveSchema) -> None:
    errors = errors_of(schema, *CREATE, {"node": "-x", "vmid": "abc", "memory": "x", "swap": "-1"})
    assert set(errors) == {"node", "vmid", "ostemplate", "memory", "swap"}


# --- property strings -------------------------------------------------------------------------------------
def test_net_property_string_sub_keys(schema: PveSchema) -> None:
    good = create_params(net0="name=eth0,bridge=vmbr0,ip=dhcp,firewall=true,tag=10,rate=12.5")
    assert schema.validate(*CREATE, good)["net0"] == good["net0"]
    errors = errors_of(schema, *CREATE, create_params(net0="bridge=vmbr0,ip=10.0.0.1,tag=5000"))
    assert errors == {
        "net0": "invalid format - format error\n"
        "net0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n"
        "net0.name: property is missing and it is not optional\n"
        "net0.tag: value must have a maximum value of 4094\n"
    }


def test_property_string_parse_errors(schema: PveSchema) -> None:
    cases = {
        "name=eth0,colour=red": "invalid key in comma-separated list property: colour\n",
        "name=eth0,name=eth1": "duplicate key in comma-separated list property: name\n",
        "eth0": "value without key, but schema does not define a default key\n",
        "name=": "missing key in comma-separated list property\n",
    }
    for value, message in cases.items():
        errors = errors_of(schema, *CREATE, create_params(net1=value))
        assert errors == {"net1": f"invalid format - {message}"}


def test_rootfs_default_key_and_sizes(schema: PveSchema) -> None:
    assert schema.validate(*CREATE, create_params(rootfs="local-lvm:8"))["rootfs"] == "local-lvm:8"
    errors = errors_of(schema, *CREATE, create_params(rootfs="local-lvm:8,other:4"))
    assert errors == {"rootfs": "invalid format - duplicate key in comma-separated list property: volume\n"}
    errors = errors_of(schema, *CREATE, create_params(rootfs="local-lvm:8,size=big,mountoptions=fast"))
    assert errors == {
        "rootfs": "invalid format - format error\n"
        "rootfs.mountoptions: value does not match the regex pattern\n"
        "rootfs.size: invalid format - value does not look like a valid disk size: big\n\n"
    }


def test_indexed_keys_within_pve_ranges(schema: PveSchema) -> None:
    assert "net31" in schema.validate(*CREATE, create_params(net31="name=eth31"))
    assert "mp255" in schema.validate(*CREATE, create_params(mp255="local-lvm:4,mp=/data"))
    for key in ("net32", "net01", "mp256", "netx"):
        assert errors_of(schema, *CREATE, create_params(**{key: "name=eth0"})) == {key: ADDITIONAL}


def test_named_hash_format_with_validator(schema: PveSchema) -> None:
    vzdump = ("POST", "/nodes/{node}/vzdump")
    assert schema.validate(*vzdump, {"node": "pve1", "all": "1", "prune-backups": "keep-last=3,keep-daily=7"})
    errors = errors_of(schema, *vzdump, {"node": "pve1", "prune-backups": "keep-all=1,keep-last=2"})
    assert errors == {
        "prune-backups": "invalid format - keep-all cannot be set together with other options.\n"
    }
    errors = errors_of(schema, *vzdump, {"node": "pve1", "performance": "max-workers=0"})
    assert errors == {
        "performance": "invalid format - format error\n"
        "performance.max-workers: value must have a minimum value of 1\n"
    }


def test_parse_property_string_helper(schema: PveSchema) -> None:
    net = schema.property_schema(*CREATE, "net3")
    assert net is not None and isinstance(net["format"], dict)
    parsed = parse_property_string(net["format"], "name=eth0,bridge=vmbr0,firewall=on,tag=5,rate=1.5,ip=dhcp")
    assert parsed == {
        "name": "eth0",
        "bridge": "vmbr0",
        "firewall": True,
        "tag": 5,
        "rate": 1.5,
        "ip": "dhcp",
    }
    rootfs = schema.property_schema(*CREATE, "rootfs")
    assert rootfs is not None
    assert parse_property_string(rootfs["format"], "local-lvm:vm-100-disk-0,size=8G") == {
        "volume": "local-lvm:vm-100-disk-0",
        "size": "8G",
    }
    assert parse_property_string("prune-backups", "keep-last=0") == {"keep-all": True}
    with pytest.raises(PropertyStringError) as caught:
        parse_property_string(net["format"], "bridge=vmbr0")
    assert caught.value.errors == {"name": MISSING}
    with pytest.raises(FormatError, match="unknown format: nope"):
        parse_property_string("nope", "a=b")


# --- named formats ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("verifier", "good", "bad", "message"),
    [
        (
            verify_ipv6_config,
            ["auto", "fd00::1/64"],
            ["fd00::1", "fd00::1/200"],
            "value does not look like a valid ipv6 network configuration\n",
        ),
        (
            verify_mac_addr,
            ["BC:24:11:00:00:01"],
            ["01:00:5e:00:00:01", "bc:24:11"],
            "value does not look like a valid unicast MAC address\n",
        ),
        (verify_poolid, ["media", "lab/web"], ["a b", "a/b/c/d"], None),
        (
            verify_tokenid,
            ["root@pam!proximity", "a.b@pve!x-1"],
            ["root@pam"],
            "value 'root@pam' does not look like a valid token ID\n",
        ),
        (
            verify_ct_timezone,
            ["host", "UTC", "Europe/Vienna"],
            ["Mars/Base"],
            "invalid time zone 'Mars/Base'\n",
        ),
        (
            verify_calendar_event,
            [
                "daily",
                "sat 02:00",
                "mon..fri *-*-* 3:30",
                "*/15",
                "sat *-1..7 15:00",
                "12,14,16:05",
                "2024-06-01",
            ],
            ["sometimes", "mon 25:00", "02:60", "*-13-01", "mon mon", "1..0:00", "*/0"],
            None,
        ),
        (verify_storage_pair, ["1", "local-lvm", "local:other"], ["a:b:c", "1x:2y"], None),
    ],
)
def test_named_format_rules(verifier: Any, good: list[str], bad: list[str], message: str | None) -> None:
    for value in good:
        verifier(value)
    for value in bad:
        with pytest.raises(FormatError) as caught:
            verifier(value)
        if message is not None:
            assert caught.value.message == message
        assert caught.value.message.endswith("\n")


def test_userid_rules() -> None:
    verify_userid("root@pam")
    for value, message in {
        "ro": "user name 'ro' is too short\n",
        "a" * 60 + "@pam": f"user name '{'a' * 60}@pam' is too long (64 > 64)\n",
        "root": "value 'root' does not look like a valid user name\n",
        "a/b@pam": "value 'a/b@pam' does not look like a valid user name\n",
    }.items():
        if len(value) == 64:
            verify_userid(value)
            continue
        with pytest.raises(FormatError) as caught:
            verify_userid(value)
        assert caught.value.message == message


def test_split_list_as_pve_tools() -> None:
    assert split_list("100,101;102 103") == ["100", "101", "102", "103"]
    assert split_list(" ,a,,b, ") == ["a", "b"]
    assert split_list("a\0b c") == ["a", "b c"]
    assert split_list("") == []


def test_every_format_and_pattern_in_the_schema_is_supported(schema: PveSchema) -> None:
    formats: set[str] = set()
    patterns: set[str] = set()
    unsupported: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            # keywords PVE's checker knows that this validator does not implement (none are served today)
            unsupported.update({"oneOf", "type-property", "instance-types", "disallow"} & node.keys())
            if isinstance(node.get("format"), str):
                formats.add(node["format"])
            if isinstance(node.get("pattern"), str):
                patterns.add(node["pattern"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    for endpoint in schema.endpoints():
        collect(endpoint.parameters)
    assert formats, "the schema names formats"
    assert sorted(name for name in formats if not is_known_format(name)) == []
    assert unsupported == set()
    for pattern in patterns:
        re.compile(translate_perl_regex(pattern))


def test_perl_regex_translation() -> None:
    assert translate_perl_regex(r"(?^:\d+(?:;\d+)*)") == r"(?:\d+(?:;\d+)*)"
    assert translate_perl_regex(r"(?^i:abc)") == r"(?i:abc)"


# --- returns as JSON Schema -------------------------------------------------------------------------------
def test_returns_schema_checks_required_and_optional_fields(schema: PveSchema) -> None:
    current = schema.returns_schema("GET", "/nodes/{node}/lxc/{vmid}/status/current")
    validator = jsonschema.Draft202012Validator(current)
    validator.check_schema(current)
    sample = {"status": "running", "vmid": 100, "ha": {"managed": 0}, "name": None, "cpu": 0.01}
    assert list(validator.iter_errors(sample)) == []
    assert [error.message for error in validator.iter_errors({"vmid": 100, "ha": {}})] == [
        "'status' is a required property"
    ]
    assert list(validator.iter_errors({**sample, "status": "paused"}))  # not in the enumeration


def test_returns_schema_lenient_and_strict_numbers(schema: PveSchema) -> None:
    lenient = schema.returns_schema("GET", "/cluster/nextid")
    strict = schema.returns_schema("GET", "/cluster/nextid", strict=True)
    jsonschema.validate("100", lenient)  # PVE answers nextid as a string
    jsonschema.validate(100, strict)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("100", strict)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("abc", lenient)


def test_returns_schema_numeric_enumerations() -> None:
    pve = {"type": "integer", "enum": [0, 1, 2]}
    jsonschema.validate(2, to_json_schema(pve, strict=True))
    jsonschema.validate("2", to_json_schema(pve))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(3, to_json_schema(pve))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("2", to_json_schema(pve, strict=True))


def test_returns_schema_of_every_endpoint_is_valid_json_schema(schema: PveSchema) -> None:
    for endpoint in schema.endpoints():
        for strict in (False, True):
            converted = schema.returns_schema(endpoint.method, endpoint.template, strict=strict)
            jsonschema.Draft202012Validator.check_schema(converted)
    assert schema.returns_schema("DELETE", "/cluster/backup/{id}")["type"] == "null"


# --- robustness: any input ends in a result or a ParameterError, never a crash ----------------------------
_KEYS = st.sampled_from(
    [
        "vmid",
        "node",
        "memory",
        "cpulimit",
        "net0",
        "net7",
        "rootfs",
        "mp3",
        "features",
        "tags",
        "start",
        "arch",
        "startup",
        "hostname",
        "nameserver",
        "timezone",
        "dev0",
        "unused2",
        "ssh-public-keys",
        "bogus",
    ]
)
_SHAPED = ["name=eth0", "name=eth0,ip=dhcp,,", "=", ",", "a=b=c", "local-lvm:8,size=1.5G", "+1", "1e3", ""]
_CHARACTERS = st.characters(codec="utf-8", exclude_categories=("Cs",))
_TEXT = st.text(_CHARACTERS, max_size=40) | st.sampled_from(_SHAPED)


@settings(max_examples=300, deadline=None)
@given(params=st.dictionaries(_KEYS, _TEXT | st.lists(_TEXT, max_size=2) | st.booleans() | st.integers()))
def test_validation_never_crashes(params: dict[str, Any]) -> None:
    schema = PveSchema.load()
    request = {**create_params(), **params}
    try:
        values = schema.validate(*CREATE, request)
    except ParameterError as error:
        assert error.errors and all(isinstance(message, str) for message in error.errors.values())
        assert set(error.errors) <= set(request) | {"ostemplate", "vmid", "node"}
    else:
        assert set(values) == set(request)
