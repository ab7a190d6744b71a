"""The base of every view: built from a row's attributes of the same names, and the rest."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, row: object, **extra: Any) -> Self:
        """The view of `row`: its attributes named like the fields, `extra` for the others."""
        values = {
            n: getattr(row, n) for n in cls.model_fields if n not in extra and hasattr(row, n)
        }
        return cls.model_validate(values | extra)
