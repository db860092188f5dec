"""The catalog: pure data (one file per app), its schema, loader, search and importers.

It knows nothing of Proxmox.
"""
