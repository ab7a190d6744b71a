"""Offset commits on a transactional topic (a commit marker after every record) keep up
with what was handled: faust 0.15.3's own bookkeeping moved them on by two a commit."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from faust.transport.consumer import Consumer as FaustConsumer
from intervaltree import IntervalTree

from services.router.transport import Consumer

TP = "mail.raw/0"


class Books:
    """The acked-offset bookkeeping of a faust consumer, without the consumer."""

    def __init__(self, committed: int | None) -> None:
        self._acked: defaultdict = defaultdict(list)
        self._acked_index: defaultdict = defaultdict(set)
        self._gap: defaultdict = defaultdict(IntervalTree)
        self._committed_offset: defaultdict = defaultdict(lambda: None)
        self._committed_offset[TP] = committed
        self.read: int | None = committed  # faust's read offset after seeking to committed

    def deliver(self, cls: type, offset: int) -> None:
        """What faust's drain loop and ack do with one record."""
        if self.read and offset - self.read > 1:
            asyncio.run(cls._add_gap(self, TP, self.read + 1, offset))
        self.read = offset
        if offset not in self._acked_index[TP]:
            self._acked[TP].append(offset)
            self._acked_index[TP].add(offset)

    def commit(self, cls: type) -> int | None:
        offset = cls._new_offset(self, TP)
        if offset is not None:
            self._committed_offset[TP] = offset
        return offset


def backlog(cls: type, records: range) -> list[int | None]:
    """A restart 5 records behind: the backlog handled, then three commits."""
    books = Books(committed=records[0])
    for offset in records:
        books.deliver(cls, offset)
    return [books.commit(cls) for _ in range(3)]


def test_faust_0_15_3_commits_two_offsets_at_a_time_past_markers() -> None:
    # Records at odd offsets, a transaction marker after each: the bug this works around.
    assert backlog(FaustConsumer, range(5, 40, 2)) == [8, 10, 12]


def test_one_commit_covers_every_record_handled_and_the_markers_between() -> None:
    assert backlog(Consumer, range(5, 40, 2)) == [40, None, None]


def test_records_read_again_after_a_seek_back_do_not_cut_the_run() -> None:
    books = Books(committed=5)
    for offset in range(5, 21, 2):
        books.deliver(Consumer, offset)
    books.read = 11  # sought back: 11..19 are delivered and acked again
    for offset in range(11, 31, 2):
        books.deliver(Consumer, offset)
    assert books.commit(Consumer) == 30
    for offset in range(31, 36, 2):
        books.deliver(Consumer, offset)
    assert books.commit(Consumer) == 36


def test_an_offset_neither_handled_nor_a_marker_holds_the_commit() -> None:
    books = Books(committed=5)
    for offset in (5, 6, 7):
        books.deliver(Consumer, offset)
    books.read = 9  # 8 and 9 fetched but never handled (no gap: the next record follows)
    for offset in (10, 11):
        books.deliver(Consumer, offset)
    assert books.commit(Consumer) == 8
    assert books.commit(Consumer) is None  # never past 8 and 9 until they are handled
