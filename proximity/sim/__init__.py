"""The Proxmox VE simulator: HTTPS API, SSH ``pct`` and app responders on loopback.

It shares no code with the SDK; see docs/simulator.md.
"""

from proximity.sim.simulator import Simulator

__all__ = ["Simulator"]
