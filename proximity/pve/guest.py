"""Inside a container, through ``pct exec`` over SSH (the commands of docs/architecture.md).

Every command line is built with ``shlex.join``. File contents travel on stdin and are never echoed or
logged; errors name the action, not the command line.
"""

from __future__ import annotations

import posixpath

from proximity.pve.ssh import ExecResult, NodeShell, pct, pct_exec

COMPOSE_ROOT = "/opt/proximity"


class Guest:
    def __init__(self, shell: NodeShell, vmid: int):
        self.shell = shell
        self.vmid = int(vmid)

    async def exec(
        self,
        argv: list[str],
        *,
        stdin: bytes | str | None = None,
        check: bool = True,
        what: str | None = None,
        timeout_s: float = 900.0,
    ) -> ExecResult:
        return await self.shell.run(
            pct_exec(self.vmid, argv),
            stdin=stdin,
            check=check,
            what=what or f"CT {self.vmid}: {argv[0]}",
            timeout_s=timeout_s,
        )

    async def status(self) -> str:
        result = await self.shell.run(pct("status", self.vmid), what=f"pct status {self.vmid}")
        return result.stdout.strip().removeprefix("status:").strip()

    async def write_file(self, path: str, content: str, *, secret: bool = False) -> None:
        """mkdir -p, then tee with the content on stdin (its echo discarded). A secret file is made empty and
        mode 600 first, so its content never sits in a file other users of the container may read."""
        await self.exec(["mkdir", "-p", posixpath.dirname(path)], what=f"CT {self.vmid}: mkdir")
        if secret:
            await self.exec(["tee", path], stdin="", what=f"CT {self.vmid}: create {path}")
            await self.exec(["chmod", "600", path], what=f"CT {self.vmid}: chmod {path}")
        await self.exec(["tee", path], stdin=content, what=f"CT {self.vmid}: write {path}")

    async def install_docker(self) -> None:
        await self.exec(["apt-get", "update"], what=f"CT {self.vmid}: apt-get update")
        await self.exec(
            [
                "env",
                "DEBIAN_FRONTEND=noninteractive",
                "apt-get",
                "install",
                "-y",
                "docker.io",
                "docker-compose",
            ],
            what=f"CT {self.vmid}: install Docker",
        )

    def compose_dir(self, project: str) -> str:
        return f"{COMPOSE_ROOT}/{project}"

    async def compose(self, project: str, *args: str, check: bool = True) -> ExecResult:
        folder = self.compose_dir(project)
        argv = [
            "docker",
            "compose",
            "--project-directory",
            folder,
            "-f",
            f"{folder}/compose.yaml",
            "-p",
            project,
            *args,
        ]
        return await self.exec(argv, check=check, what=f"CT {self.vmid}: docker compose {args[0]}")

    async def ensure_bash_alpine(self) -> None:
        """Alpine ships busybox ``sh`` only; the install scripts are bash scripts."""
        await self.exec(["apk", "add", "--no-cache", "bash"], what=f"CT {self.vmid}: apk add bash")

    async def run_script(self, path: str) -> ExecResult:
        return await self.exec(["bash", path], what=f"CT {self.vmid}: bash {path}")

    async def service_active(self, service: str) -> bool:
        result = await self.exec(["systemctl", "is-active", service], check=False)
        return result.stdout.strip() == "active"

    async def journal(self, service: str, lines: int) -> str:
        result = await self.exec(
            ["journalctl", "-u", service, "-n", str(int(lines)), "--no-pager"], check=False
        )
        return result.stdout
