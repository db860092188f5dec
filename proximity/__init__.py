"""Proximity: a typed Python SDK that turns Proxmox VE into a personal app store."""

__version__ = "0.1.0"
