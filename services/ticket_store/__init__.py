"""The ticket store: owns the database (departments, staff, clients and their incidents,
gateways, tickets and messages, incoming emails, pre-defined replies, ratings, outcomes)
and is the only service that writes it.

Inside, one application core with sibling adapters over it:

- `unit_of_work` (the transaction, its actor, `emit` to the outbox, `audit`) and `db`;
- `domain/` (rules written once, no framework), `actions/` (every change, by subject),
  `queries/` (every shared read), `presenters/` (the `*Out` views), `access` (who may
  see what);
- adapters: `consumer/` (router output in), `outbox` (events out after commit),
  `api/` (JSON) and `web/` (pages), both mounted by `http/`; the CLI in `supportdesk/`.

May import the kernel and `schemas`; never another service. The layering inside is
declared in `.importlinter` and checked by `make test`.
"""
