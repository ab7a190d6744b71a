"""The mailer: sends `mail.outbound` (staff replies, notices) over SMTP, once per
outbound id, and reports sent / deferred / failed on `mail.delivery`.

Its sent ledger and retry queue are the `mail.sent` topic, which every mailer
instance shares (services.mailer.ledger). May import the kernel and `schemas`; never
another service.
"""
