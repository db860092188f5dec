"""A small virtual file system for a simulated container: files (bytes + mode) and directories."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any


class FsError(Exception):
    """A file-system operation failed; ``reason`` is the errno text ("No such file or directory")."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


NOT_FOUND = "No such file or directory"
IS_DIR = "Is a directory"
NOT_DIR = "Not a directory"
EXISTS = "File exists"
NOT_EMPTY = "Directory not empty"


@dataclass
class File:
    data: bytes
    mode: int = 0o644


def normalize(path: str, cwd: str = "/root") -> str:
    """An absolute, normalised path (``..`` resolved lexically, as the simulator has no symlinks)."""
    joined = posixpath.join(cwd, path) if not path.startswith("/") else path
    normal = posixpath.normpath(joined)
    return "/" + normal.lstrip("/") if normal != "/" else "/"


class VirtualFs:
    """Paths are absolute and normalised; every parent of a file or directory is a directory."""

    def __init__(self) -> None:
        self.files: dict[str, File] = {}
        self.dirs: dict[str, int] = {"/": 0o755}

    # -- queries ---------------------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        return path in self.files or path in self.dirs

    def is_file(self, path: str) -> bool:
        return path in self.files

    def is_dir(self, path: str) -> bool:
        return path in self.dirs

    def read(self, path: str) -> bytes:
        if path in self.dirs:
            raise FsError(path, IS_DIR)
        entry = self.files.get(path)
        if entry is None:
            raise FsError(path, NOT_FOUND)
        return entry.data

    def mode(self, path: str) -> int:
        if path in self.dirs:
            return self.dirs[path]
        if path in self.files:
            return self.files[path].mode
        raise FsError(path, NOT_FOUND)

    def children(self, path: str) -> list[str]:
        if path in self.files:
            return [posixpath.basename(path)]
        if path not in self.dirs:
            raise FsError(path, NOT_FOUND)
        prefix = path.rstrip("/") + "/"
        names = {
            p[len(prefix) :].split("/", 1)[0]
            for p in (*self.files, *self.dirs)
            if p.startswith(prefix) and p != path
        }
        return sorted(names)

    def total_bytes(self) -> int:
        return sum(len(f.data) for f in self.files.values())

    # -- changes ---------------------------------------------------------------------------------------
    def _check_parent(self, path: str) -> None:
        parent = posixpath.dirname(path)
        if parent in self.files:
            raise FsError(path, NOT_DIR)
        if parent not in self.dirs:
            raise FsError(path, NOT_FOUND)

    def write(self, path: str, data: bytes, *, append: bool = False, mode: int | None = None) -> None:
        if path in self.dirs:
            raise FsError(path, IS_DIR)
        self._check_parent(path)
        existing = self.files.get(path)
        if existing is not None:
            existing.data = existing.data + data if append else data
            if mode is not None:
                existing.mode = mode
        else:
            self.files[path] = File(data, 0o644 if mode is None else mode)

    def mkdir(self, path: str, *, parents: bool = False, mode: int = 0o755) -> None:
        if path in self.files:
            raise FsError(path, EXISTS)
        if path in self.dirs:
            if parents:
                return
            raise FsError(path, EXISTS)
        if parents:
            parent = posixpath.dirname(path)
            if parent != path:
                self.mkdir(parent, parents=True)
        else:
            self._check_parent(path)
        self.dirs[path] = mode

    def remove(self, path: str, *, recursive: bool = False) -> None:
        if path in self.files:
            del self.files[path]
            return
        if path not in self.dirs:
            raise FsError(path, NOT_FOUND)
        if path == "/":
            raise FsError(path, "Device or resource busy")
        if not recursive:
            raise FsError(path, IS_DIR)
        prefix = path + "/"
        for name in [p for p in self.files if p.startswith(prefix)]:
            del self.files[name]
        for name in [p for p in self.dirs if p.startswith(prefix) or p == path]:
            del self.dirs[name]

    def chmod(self, path: str, mode: int) -> None:
        if path in self.dirs:
            self.dirs[path] = mode
        elif path in self.files:
            self.files[path].mode = mode
        else:
            raise FsError(path, NOT_FOUND)

    # -- persistence -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "dirs": {path: mode for path, mode in sorted(self.dirs.items())},
            "files": {
                path: {"data": entry.data.decode("latin-1"), "mode": entry.mode}
                for path, entry in sorted(self.files.items())
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VirtualFs:
        fs = cls()
        fs.dirs = {path: int(mode) for path, mode in data["dirs"].items()}
        fs.dirs.setdefault("/", 0o755)
        fs.files = {
            path: File(entry["data"].encode("latin-1"), int(entry["mode"]))
            for path, entry in data["files"].items()
        }
        return fs
