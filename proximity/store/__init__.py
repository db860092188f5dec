"""Ground floor: the SQLite store (sqlite-utils, WAL, versioned migrations) and the secrets file."""

from proximity.store.db import Store, default_who
from proximity.store.secrets import SecretsFile

__all__ = ["SecretsFile", "Store", "default_who"]
