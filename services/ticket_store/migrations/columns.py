"""Runs of columns of one type, in the order given, for the revisions' tables.

Most of the store's columns are NOT NULL and of a handful of types, so a table reads as
runs of them, with unusual columns written out in full between the runs.
A revision that has run must keep making the same schema: never change what a helper
here makes (add another one instead).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

Columns = list[sa.Column[Any]]


def integers(*names: str, nullable: bool = False) -> Columns:
    return [sa.Column(name, sa.Integer(), nullable=nullable) for name in names]


def booleans(*names: str) -> Columns:
    return [sa.Column(name, sa.Boolean(), nullable=False) for name in names]


def texts(*names: str) -> Columns:
    return [sa.Column(name, sa.Text(), nullable=False) for name in names]


def stamps(*names: str, nullable: bool = False) -> Columns:
    """Timestamps with their time zone (models: `UtcDateTime`)."""
    return [sa.Column(name, sa.DateTime(timezone=True), nullable=nullable) for name in names]


def strings(*, nullable: bool = False, **lengths: int) -> Columns:
    """VARCHAR columns given as name=length."""
    return [sa.Column(name, sa.String(length=n), nullable=nullable) for name, n in lengths.items()]
