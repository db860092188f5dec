"""Hot reload: a background thread that reloads a :class:`Catalog` when its folders change on disk."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import watchfiles

if TYPE_CHECKING:
    from proximity.catalog.loader import Catalog, CatalogChange

log = logging.getLogger(__name__)

SAFETY_CHECK_MS = 2_000

ChangeCallback = Callable[["Catalog", "CatalogChange"], None]


class CatalogWatcher:
    """Watches the catalog's existing source folders; on a change calls ``catalog.reload_if_changed()``
    and then ``on_change(catalog, change)`` when entries were added, removed or updated.

    A callback that raises is logged and does not stop the watcher. Use as a context manager or call
    :meth:`stop`.
    """

    def __init__(
        self,
        catalog: Catalog,
        on_change: ChangeCallback | None = None,
        *,
        debounce_ms: int = 200,
        force_polling: bool | None = None,
    ) -> None:
        self.catalog = catalog
        self._on_change = on_change
        self._debounce_ms = debounce_ms
        self._force_polling = force_polling
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="proximity-catalog-watch", daemon=True)
        self.reloads = 0

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=5)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> CatalogWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        folders = [source.path for source in self.catalog.sources if source.path.is_dir()]
        if not folders:
            self._ready.set()
            return
        self._ready.set()
        self._reload()
        # On every quiet period (rust_timeout) the cheap mtime check runs too: it catches a change made
        # while the OS watcher was being set up, and changes on file systems that send no events.
        for _changes in watchfiles.watch(
            *folders,
            stop_event=self._stop,
            debounce=self._debounce_ms,
            step=50,
            rust_timeout=SAFETY_CHECK_MS,
            yield_on_timeout=True,
            force_polling=self._force_polling,
            poll_delay_ms=100,
            raise_interrupt=False,
        ):
            self._reload()

    def _reload(self) -> None:
        try:
            change = self.catalog.reload_if_changed()
        except Exception:  # a reload must never kill the watcher thread
            log.exception("catalog reload failed")
            return
        if not change:
            return
        self.reloads += 1
        if self._on_change is not None:
            try:
                self._on_change(self.catalog, change)
            except Exception:
                log.exception("catalog change callback failed")
