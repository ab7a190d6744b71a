"""`supportdesk blobs gc`: remove raw mail's claim-check blobs once mail.raw no longer
keeps the records that refer to them (`supportdesk up` runs it daily).

A blob is removed when it was last stored longer ago than mail.raw's retention (as the
broker has it) plus a grace period, and no message or incoming email refers to it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from kernel.config import Settings
from supportdesk.cli_common import db

DAY_S = 24 * 3600.0


def cmd_blobs_gc(args: argparse.Namespace, settings: Settings) -> int:
    from kernel.blobs import BlobStore, gc
    from kernel.topics import retention_ms, topic_config_for
    from services.ticket_store.queries.blobs import attachment_refs

    retention = retention_ms(settings.kafka_bootstrap, settings.topics.raw)
    source = "broker"
    if retention is None:
        retention, source = int(topic_config_for("raw")["retention.ms"]), "default"
    if retention < 0:
        print(f"{settings.topics.raw} keeps records forever: no blob is removed")
        return 0
    older_than = time.time() - retention / 1000 - args.grace_days * DAY_S
    with db(settings).transaction() as session:
        keep = attachment_refs(session)
    store = BlobStore(Path(settings.blob_dir or settings.var_dir / "blobs"))
    result = gc(store, older_than, keep.__contains__, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    print(
        f"blobs gc: {settings.topics.raw} retention {retention / 1000 / DAY_S:g} days "
        f"({source}) + {args.grace_days:g} days grace; {result.scanned} old blobs, {verb} "
        f"{result.removed} ({result.freed_bytes} bytes), kept {result.kept_referenced} "
        "referenced by attachments"
    )
    return 0


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    blobs = add("blobs", lambda a, s: 0, "the blob store").add_subparsers(dest="b", required=True)
    g = add("gc", cmd_blobs_gc, "remove blobs past mail.raw's retention", blobs)
    g.add_argument("--grace-days", type=float, default=1.0,
                   help="kept this long after the retention (default 1)")  # fmt: skip
    g.add_argument("--dry-run", action="store_true", help="count, remove nothing")
