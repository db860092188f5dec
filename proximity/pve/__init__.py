"""Ground floor: everything Proxmox-specific (API over proxmoxer, tasks, property strings, SSH ``pct``)."""

from proximity.pve.api import ApiRetry, Connection, PveApi
from proximity.pve.host import PveHost
from proximity.pve.ssh import ExecResult, NodeShell, SshTarget, pct, pct_exec
from proximity.pve.tasks import PollPolicy, wait_task

__all__ = [
    "ApiRetry",
    "Connection",
    "ExecResult",
    "NodeShell",
    "PollPolicy",
    "PveApi",
    "PveHost",
    "SshTarget",
    "pct",
    "pct_exec",
    "wait_task",
]
