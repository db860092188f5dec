"""What a simulated distribution offers: its base system, and the packages ``apt-get``/``apk`` can install.

Sizes and versions are plausible Debian 13 / Alpine 3.22 figures, rounded; they only drive simulated
durations, disk use and the messages printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MB = 1_000_000


@dataclass(frozen=True)
class OsProfile:
    family: str  # "debian" | "alpine" | "other"
    pretty_name: str
    os_release: str
    base_disk_bytes: int
    base_mem_bytes: int
    commands: frozenset[str]
    codename: str = ""
    mirror: str = ""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    download_bytes: int
    installed_bytes: int
    binaries: tuple[str, ...] = ()
    service: str | None = None  # started and enabled on install, as Debian's maintainer scripts do
    ports: tuple[int, ...] = ()
    depends: tuple[str, ...] = field(default=())


COMMON_COMMANDS = frozenset(
    {
        "true",
        "false",
        "echo",
        "cat",
        "tee",
        "mkdir",
        "rm",
        "chmod",
        "test",
        "[",
        "ls",
        "uname",
        "env",
        "sh",
        "sleep",
        "hostname",
        "id",
        "whoami",
        "pwd",
    }
)
DEBIAN_COMMANDS = COMMON_COMMANDS | {"bash", "apt-get", "apt", "systemctl", "journalctl"}
ALPINE_COMMANDS = COMMON_COMMANDS | {"apk", "rc-service", "rc-update"}
DEBIAN_CODENAMES = {"11": "bullseye", "12": "bookworm", "13": "trixie"}
UBUNTU_CODENAMES = {
    "20.04": "focal",
    "22.04": "jammy",
    "24.04": "noble",
    "25.04": "plucky",
    "25.10": "questing",
}


def _os_release(pretty: str, ident: str, version_id: str, codename: str = "") -> str:
    lines = [
        f'PRETTY_NAME="{pretty}"',
        f'NAME="{pretty.split(" ")[0]}"',
        f'VERSION_ID="{version_id}"',
        f"ID={ident}",
    ]
    if codename:
        lines.append(f"VERSION_CODENAME={codename}")
    return "\n".join(lines) + "\n"


def os_profile(ostemplate: str) -> OsProfile:
    """The system a template volid describes (``local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst``)."""
    name = ostemplate.rsplit("/", 1)[-1].lower()
    match = re.match(r"([a-z]+)-(\d+(?:\.\d+)?)", name)
    distro, version = (match.group(1), match.group(2)) if match else ("debian", "13")
    if distro == "alpine":
        return OsProfile(
            "alpine",
            f"Alpine Linux v{version}",
            _os_release(f"Alpine Linux v{version}", "alpine", f"{version}.0"),
            9 * MB,
            4 * MB,
            ALPINE_COMMANDS,
        )
    if distro == "ubuntu":
        lts = version.endswith(".04") and int(version.split(".")[0]) % 2 == 0
        pretty = f"Ubuntu {version} LTS" if lts else f"Ubuntu {version}"
        codename = UBUNTU_CODENAMES.get(version, "noble")
        return OsProfile(
            "debian",
            pretty,
            _os_release(pretty, "ubuntu", version, codename),
            620 * MB,
            34 * MB,
            DEBIAN_COMMANDS,
            codename,
            "http://archive.ubuntu.com/ubuntu",
        )
    if distro == "debian":
        major = version.split(".")[0]
        codename = DEBIAN_CODENAMES.get(major, "sid")
        pretty = f"Debian GNU/Linux {major} ({codename})"
        return OsProfile(
            "debian",
            pretty,
            _os_release(pretty, "debian", major, codename),
            480 * MB,
            28 * MB,
            DEBIAN_COMMANDS,
            codename,
            "http://deb.debian.org/debian",
        )
    # Other templates (Arch, Fedora, Rocky, ...): a systemd system without a package manager we simulate.
    pretty = f"{distro.capitalize()} Linux {version}"
    return OsProfile(
        "other",
        pretty,
        _os_release(pretty, distro, version),
        600 * MB,
        30 * MB,
        COMMON_COMMANDS | {"bash", "systemctl", "journalctl"},
    )


DEBIAN_PACKAGES: dict[str, Package] = {
    p.name: p
    for p in (
        Package(
            "containerd", "1.7.24~ds1-6+b4", 24 * MB, 96 * MB, ("containerd", "ctr"), service="containerd"
        ),
        Package("runc", "1.1.15+ds1-2+b4", 3 * MB, 10 * MB, ("runc",)),
        Package(
            "docker.io",
            "26.1.5+dfsg1-9+b9",
            30 * MB,
            118 * MB,
            ("docker", "dockerd"),
            service="docker",
            depends=("containerd", "runc"),
        ),
        Package("docker-compose", "2.26.1-4", 14 * MB, 58 * MB, ("docker-compose",), depends=("docker.io",)),
        Package("curl", "8.14.1-2", 1 * MB, 3 * MB, ("curl",)),
        Package("wget", "1.25.0-2", 1 * MB, 4 * MB, ("wget",)),
        Package("ca-certificates", "20250419", 1 * MB, 1 * MB),
        Package("gnupg", "2.4.7-21", 1 * MB, 2 * MB, ("gpg",)),
        Package("git", "1:2.47.3-0+deb13u1", 9 * MB, 48 * MB, ("git",)),
        Package("sudo", "1.9.16p2-3", 2 * MB, 6 * MB, ("sudo",)),
        Package("jq", "1.7.1-6", 1 * MB, 1 * MB, ("jq",)),
        Package("unzip", "6.0-29", 1 * MB, 1 * MB, ("unzip",)),
        Package("xz-utils", "5.8.1-1", 1 * MB, 1 * MB, ("xz",)),
        Package("openssl", "3.5.1-1", 1 * MB, 3 * MB, ("openssl",)),
        Package("sqlite3", "3.46.1-7", 1 * MB, 2 * MB, ("sqlite3",)),
        Package("python3", "3.13.5-1", 6 * MB, 26 * MB, ("python3",)),
        Package("python3-venv", "3.13.5-1", 1 * MB, 1 * MB, depends=("python3",)),
        Package("python3-pip", "25.1.1+dfsg-1", 2 * MB, 9 * MB, ("pip3",), depends=("python3",)),
        Package("nodejs", "20.19.2+dfsg-1", 12 * MB, 45 * MB, ("node", "nodejs")),
        Package("npm", "9.2.0~ds1-3", 3 * MB, 14 * MB, ("npm",), depends=("nodejs",)),
        Package("build-essential", "12.12", 70 * MB, 260 * MB, ("gcc", "make")),
        Package("cron", "3.0pl1-197", 1 * MB, 1 * MB, service="cron"),
        Package("nginx", "1.26.3-3", 1 * MB, 3 * MB, ("nginx",), service="nginx", ports=(80,)),
        Package("apache2", "2.4.65-2", 2 * MB, 8 * MB, ("apache2ctl",), service="apache2", ports=(80,)),
        Package("postgresql", "17+278", 20 * MB, 62 * MB, ("psql",), service="postgresql", ports=(5432,)),
        Package(
            "redis-server",
            "5:8.0.2-3",
            2 * MB,
            7 * MB,
            ("redis-server", "redis-cli"),
            service="redis-server",
            ports=(6379,),
        ),
        Package(
            "mariadb-server",
            "1:11.8.3-0+deb13u1",
            18 * MB,
            190 * MB,
            ("mariadb", "mysql"),
            service="mariadb",
            ports=(3306,),
        ),
        Package("openssh-server", "1:10.0p1-7", 1 * MB, 5 * MB, ("sshd",), service="ssh", ports=(22,)),
        Package("bash", "5.2.37-2", 1 * MB, 7 * MB, ("bash",)),
    )
}

ALPINE_PACKAGES: dict[str, Package] = {
    p.name: p
    for p in (
        Package("bash", "5.2.37-r0", 1 * MB, 3 * MB, ("bash",)),
        Package("curl", "8.14.1-r1", 1 * MB, 1 * MB, ("curl",)),
        Package("docker", "28.3.3-r0", 28 * MB, 110 * MB, ("docker", "dockerd"), service="docker"),
        Package("docker-cli-compose", "2.36.2-r1", 12 * MB, 48 * MB, depends=("docker",)),
        Package("git", "2.49.1-r0", 5 * MB, 18 * MB, ("git",)),
        Package("nginx", "1.28.0-r3", 1 * MB, 2 * MB, ("nginx",), service="nginx", ports=(80,)),
        Package("jq", "1.8.0-r0", 1 * MB, 1 * MB, ("jq",)),
        Package("python3", "3.12.11-r0", 12 * MB, 48 * MB, ("python3",)),
        Package("nodejs", "22.16.0-r2", 10 * MB, 40 * MB, ("node",)),
    )
}

# Packages that make ``docker compose`` (the CLI plugin) work.
COMPOSE_PLUGIN_PACKAGES = frozenset({"docker-compose", "docker-cli-compose"})


def packages_for(family: str) -> dict[str, Package]:
    return ALPINE_PACKAGES if family == "alpine" else DEBIAN_PACKAGES if family == "debian" else {}


def with_dependencies(names: list[str], table: dict[str, Package]) -> list[Package]:
    """The packages named plus everything they depend on, dependencies first, each once."""
    ordered: list[Package] = []

    def add(name: str) -> None:
        package = table[name]
        if package in ordered:
            return
        for dependency in package.depends:
            add(dependency)
        ordered.append(package)

    for name in names:
        add(name)
    return ordered
