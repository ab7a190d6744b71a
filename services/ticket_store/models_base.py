"""The declarative base every table of the store maps onto.

On its own so the subject modules (models_access, models_mail, ...) can import it
without importing models.py, which imports them back to re-export their tables.
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
