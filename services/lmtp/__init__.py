"""The LMTP gateway: push delivery from the MTA (Postfix, Exim, Dovecot's LDA) into `mail.raw`.

Owns `supportdesk lmtp`, an aiosmtpd LMTP server for the "local" gateways whose protocol is
lmtp. A recipient is answered 250 only once its mail is on `mail.raw` with acks=all, and 4xx
while the broker cannot take it, so the MTA keeps the mail queued and retries. Imports the
kernel (settings, the reliable producer, the blob store, the gateway directory) and the
events in schemas/, never another service.
"""
