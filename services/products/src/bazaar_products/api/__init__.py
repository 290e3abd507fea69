"""HTTP entrypoints: the public catalog, admin writes and the internal reservation API.

Only this package turns domain errors into problem+json answers (see ``problems``).
"""

from .catalog import admin, catalog
from .reservations import internal

__all__ = ["admin", "catalog", "internal"]
