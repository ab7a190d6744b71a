"""The mailer: sends `mail.outbound` (staff replies, notices) over SMTP, once per
outbound id, and reports sent / deferred / failed on `mail.delivery`.

Owns its sent ledger and retry queue. May import the kernel and `schemas`; never
another service.
"""
