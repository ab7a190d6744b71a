"""The base of every view: built from attributes (a row, a dataclass) as well as fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)
