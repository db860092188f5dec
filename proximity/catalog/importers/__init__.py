"""Importers that turn other app catalogs (Helper-Scripts, Portainer templates) into catalog entries."""

from proximity.catalog.importers.common import ImportResult, ImportSourceError, write_entries

__all__ = ["ImportResult", "ImportSourceError", "write_entries"]
