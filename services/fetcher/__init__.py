"""The fetcher: takes new mail from IMAP, POP3 and local Maildir gateways into `mail.raw`,
and marks it read (or deletes it) only after the broker has it.

Owns the gateways' fetch state (`fetcher.state` topic). May import the kernel and
`schemas`; never another service.
"""
