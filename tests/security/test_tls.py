"""TLS to the PVE API: verification on by default, pins honoured (and a wrong pin refused even where the
CA would validate), ``verify_tls=False`` only when asked and then with a warning.

tests/sdk/test_sdk_e2e_hosts.py::test_tls_is_verified_by_default covers the basic three (unverified
refused, a wrong pin alone refused, a CA file accepted); this module adds the combinations, the wording
of the refusal, what is left behind, the pin formats, a certificate that changed, and the opt-out.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from proximity import Proximity
from proximity.errors import InsecureConnectionWarning, TLSVerificationFailed
from proximity.pve.api import Connection, PveApi
from proximity.sim import Simulator
from tests.sdk.conftest import FAST
from tests.security.helpers import Figures

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def other_sim() -> Iterator[Any]:
    """A second simulator: another self-signed certificate (what a machine in the middle would show)."""
    with Simulator(nodes=1, time_scale=0.01, ssh=False) as sim:
        yield sim


def _add(px: Any, sim: Any, **tls: Any) -> Any:
    return px.hosts.add(
        "lab", sim.url, token_id=sim.token_id, token_secret=sim.token_secret, pin_ssh=False, **tls
    )


def _nothing_left(px: Any, state: Path) -> None:
    assert px.hosts.list() == []
    stored = json.loads((state / "secrets.json").read_text()) if (state / "secrets.json").exists() else {}
    assert stored.get("hosts", {}) == {}


def test_a_self_signed_host_is_refused_by_default_with_the_fix_named(
    module_sim: Any, tmp_path: Path, figures: Figures
) -> None:
    with Proximity(tmp_path / "s", **FAST) as px:
        with pytest.raises(TLSVerificationFailed) as refused:
            _add(px, module_sim)
        message = str(refused.value)
        assert "self-signed certificate" in message
        assert (
            "proximity hosts fingerprint" in message
            and "CA file" in message
            and "verify_tls=False" in message
        )
        assert module_sim.token_secret not in message
        assert not refused.value.retryable
        _nothing_left(px, tmp_path / "s")
    figures.add("TLS cases", 1)


@pytest.mark.parametrize(
    "form",
    ["colons upper", "colons lower", "bare hex", "sha256= prefix", "spaces"],
)
def test_a_pinned_fingerprint_is_honoured_in_every_spelling(
    module_sim: Any, tmp_path: Path, form: str, figures: Figures
) -> None:
    canonical = module_sim.fingerprint
    spelled = {
        "colons upper": canonical,
        "colons lower": canonical.lower(),
        "bare hex": canonical.replace(":", "").lower(),
        "sha256= prefix": "sha256=" + canonical.replace(":", ""),
        "spaces": " " + canonical.replace(":", " ") + " ",
    }[form]
    with Proximity(tmp_path / "s", **FAST) as px:
        host = _add(px, module_sim, fingerprint=spelled)
        assert host.fingerprint == canonical
        assert px.hosts.test("lab").version
    figures.add("TLS cases", 1)


def test_a_wrong_pin_is_refused_even_where_the_ca_validates(
    module_sim: Any, other_sim: Any, tmp_path: Path, figures: Figures
) -> None:
    with Proximity(tmp_path / "s", **FAST) as px:
        with pytest.raises(TLSVerificationFailed, match="pinned fingerprint"):
            _add(px, module_sim, ca_path=module_sim.ca_path, fingerprint=other_sim.fingerprint)
        _nothing_left(px, tmp_path / "s")
        with pytest.raises(TLSVerificationFailed, match="pinned fingerprint"):
            _add(
                px,
                module_sim,
                ca_path=module_sim.ca_path,
                fingerprint=other_sim.fingerprint,
                verify_tls=False,
            )
        _nothing_left(px, tmp_path / "s")
    figures.add("TLS cases", 2)


def test_a_right_pin_wins_over_a_ca_file_that_does_not_match(
    module_sim: Any, other_sim: Any, tmp_path: Path, figures: Figures
) -> None:
    """The pin replaces CA checks (PVE certificates are self-signed): a stale CA file does not break it."""
    with Proximity(tmp_path / "s", **FAST) as px:
        _add(px, module_sim, ca_path=other_sim.ca_path, fingerprint=module_sim.fingerprint)
        assert px.hosts.test("lab").version
    figures.add("TLS cases", 1)


def test_a_ca_file_of_another_server_is_refused(
    module_sim: Any, other_sim: Any, tmp_path: Path, figures: Figures
) -> None:
    with Proximity(tmp_path / "s", **FAST) as px:
        with pytest.raises(TLSVerificationFailed):
            _add(px, module_sim, ca_path=other_sim.ca_path)
        _nothing_left(px, tmp_path / "s")
    figures.add("TLS cases", 1)


def test_a_host_whose_certificate_changes_is_refused_from_then_on(
    module_sim: Any, other_sim: Any, tmp_path: Path, figures: Figures
) -> None:
    """Pinned to one server, a connection that meets another certificate (a machine in the middle, or a
    re-keyed host) is refused before any request is answered."""
    pinned = Connection(
        url=other_sim.url,
        token_id=module_sim.token_id,
        token_secret=SecretStr(module_sim.token_secret),
        fingerprint=module_sim.fingerprint,
    )
    api = PveApi(pinned)
    try:
        with pytest.raises(TLSVerificationFailed, match="pinned fingerprint"):
            api.get("version")
    finally:
        api.close()
    figures.add("TLS cases", 1)


def test_turning_verification_off_must_be_explicit_and_warns(
    module_sim: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, figures: Figures
) -> None:
    with Proximity(tmp_path / "s", **FAST) as px:
        with (
            warnings.catch_warnings(record=True) as caught,
            caplog.at_level(logging.WARNING, "proximity.pve.api"),
        ):
            warnings.simplefilter("always")
            host = _add(px, module_sim, verify_tls=False)
        assert not host.verify_tls and host.fingerprint is None
        insecure = [w for w in caught if issubclass(w.category, InsecureConnectionWarning)]
        assert insecure and "TLS verification is OFF" in str(insecure[0].message)
        assert any("TLS verification is OFF" in record.getMessage() for record in caplog.records)
    with Proximity(tmp_path / "s2", **FAST) as px, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _add(px, module_sim, fingerprint=module_sim.fingerprint)  # pinned: no warning
        assert [w for w in caught if issubclass(w.category, InsecureConnectionWarning)] == []
    figures.add("TLS cases", 2)
