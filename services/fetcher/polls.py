"""One poll of a gateway, per protocol: take what is new, publish it with the state in one
Kafka transaction (`GatewayRunner._commit`), and only then mark it read or delete it.

Functions of the runner (its state, mailbox and commit), kept apart from the loop.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from schemas.events import MailSource
from services.fetcher.imap import ImapMailbox
from services.fetcher.maildir import LocalMaildir
from services.fetcher.pop3 import Pop3Mailbox
from services.fetcher.publisher import chunks

if TYPE_CHECKING:
    from services.fetcher.gateway import GatewayRunner

log = logging.getLogger(__name__)


def connect_imap(self: GatewayRunner, select: bool = True) -> ImapMailbox:
    """Connected and logged in; the folder selected unless asked not to."""
    return ImapMailbox(
        self.entry,
        self.password,
        ca_file=self.ca_file,
        timeout=self.options.timeout_s,
        select=select,
    )


def poll_imap(self: GatewayRunner) -> int:
    """IMAP: UNSEEN above the UID watermark, BODY.PEEK[], then \\Seen or delete."""
    entry = self.entry
    if self.imap is None:
        self.imap = connect_imap(self)
    else:
        self.imap.select()  # refreshes UIDVALIDITY/UIDNEXT after IDLE (or a bare login)
    mb = self.imap
    st = self._base_state("imap")
    if st.uidvalidity != mb.uidvalidity or st.folder != entry.folder:
        if st.uidvalidity is not None:
            log.warning(
                "gateway %s: UIDVALIDITY or folder changed (%s/%s → %s/%s); "
                "taking unseen mail only",
                entry.name,
                st.folder,
                st.uidvalidity,
                entry.folder,
                mb.uidvalidity,
            )
        high = mb.uidnext - 1 if mb.uidnext else max(mb.client.search("ALL") or [0])
        st = st.model_copy(
            update={
                "folder": entry.folder,
                "uidvalidity": mb.uidvalidity,
                "high_uid": high,
                "uids": [],
            }
        )
    high_uid = st.high_uid if st.high_uid is not None else -1
    cands = mb.candidates(high_uid)
    present = set(cands)
    published = set(st.uids) & present
    if published:  # published earlier, never marked (crash or failed mark): mark only
        mb.mark_done(sorted(published), entry.after_fetch)
    todo = [u for u in cands if u not in published]
    if not todo:
        self.state = st
        return 0
    sizes = mb.sizes(todo)
    taken = 0
    for batch in chunks(
        todo,
        lambda u: sizes.get(u, 0),
        self.options.batch_mails,
        self.options.batch_bytes,
        self.options.first_batch_mails,
    ):
        if self._stopping():
            break
        mails = mb.fetch(batch)
        raws = [
            self._raw(
                MailSource(
                    protocol="imap",
                    mailbox=entry.folder,
                    uidvalidity=mb.uidvalidity,
                    uid=m.uid,
                ),
                m.data,
            )
            for m in mails
        ]
        published |= {m.uid for m in mails}
        st = st.model_copy(
            update={
                "uids": sorted(published & present),
                "high_uid": max(st.high_uid or 0, max(batch)),
            }
        )
        self._commit(raws, st)
        st = self.state or st
        mb.mark_done([m.uid for m in mails], entry.after_fetch)
        self._hook("marked")
        taken += len(mails)
    return taken


def poll_pop3(self: GatewayRunner) -> int:
    """POP3: UIDL memory; DELE and QUIT only after the broker has the mail."""
    entry = self.entry
    mb = Pop3Mailbox(entry, self.password, ca_file=self.ca_file, timeout=self.options.timeout_s)
    try:
        items = mb.listing()
        st = self._base_state("pop3")
        present = {i.uidl for i in items}
        published = set(st.uidls) & present
        delete = entry.after_fetch == "delete"
        if delete:  # published earlier but the DELE never reached a QUIT
            for i in items:
                if i.uidl in published:
                    mb.delete(i.number)
        seen: set[str] = set()
        todo = []
        for i in items:
            if i.uidl not in published and i.uidl not in seen:
                seen.add(i.uidl)
                todo.append(i)
        taken = 0
        batch: list[tuple[int, str, bytes]] = []
        size = 0

        def flush() -> None:
            nonlocal st, taken, batch, size
            if not batch:
                return
            raws = [self._raw(MailSource(protocol="pop3", uidl=u), d) for _, u, d in batch]
            published.update(u for _, u, _ in batch)
            st = st.model_copy(update={"uidls": sorted(published & present)})
            self._commit(raws, st)
            st = self.state or st
            if delete:
                for n, _, _ in batch:
                    mb.delete(n)
            self._hook("marked")
            taken += len(batch)
            batch, size = [], 0

        for item in todo:
            if self._stopping():
                break
            data = item.data if item.data is not None else mb.retr(item.number)
            batch.append((item.number, item.uidl, data))
            size += len(data)
            if len(batch) >= self.options.batch_mails or size >= self.options.batch_bytes:
                flush()
        flush()
        self.state = st
        mb.quit()  # applies DELE; servers with flag updates set \Seen now
        return taken
    except BaseException:
        mb.abort()
        raise


def poll_maildir(self: GatewayRunner) -> int:
    """Local Maildir: new/ to cur/ with S, or delete."""
    entry = self.entry
    md = LocalMaildir(entry.maildir_path)
    names = md.names()
    st = self._base_state("maildir")
    present = set(names)
    published = set(st.names) & present
    if published:
        md.mark_done(sorted(published), entry.after_fetch)
    todo = [n for n in names if n not in published]
    taken = 0
    for batch in chunks(
        todo,
        lambda n: 0,
        self.options.batch_mails,
        self.options.batch_bytes,
    ):
        if self._stopping():
            break
        mails = [(n, d) for n in batch if (d := md.read(n)) is not None]
        raws = [self._raw(MailSource(protocol="maildir", filename=n), d) for n, d in mails]
        published.update(n for n, _ in mails)
        st = st.model_copy(update={"names": sorted(published & present)})
        self._commit(raws, st)
        st = self.state or st
        md.mark_done([n for n, _ in mails], entry.after_fetch)
        self._hook("marked")
        taken += len(mails)
    self.state = st
    return taken
