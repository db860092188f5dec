"""Floor 3: the collections (hosts, catalog, apps, backups, jobs): verbs that read as intent."""

from proximity.collections.apps import AsyncApps
from proximity.collections.backups import AsyncBackups, Scheduler
from proximity.collections.catalog import CatalogCollection
from proximity.collections.core import Core
from proximity.collections.hosts import AsyncHosts
from proximity.collections.jobs import AsyncJobs

__all__ = ["AsyncApps", "AsyncBackups", "AsyncHosts", "AsyncJobs", "CatalogCollection", "Core", "Scheduler"]
