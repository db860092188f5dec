"""The deck's pages; each is a class with a ``view`` (built once per session) and async ``refresh``/``tick``."""
