"""Which kind of gateway a protocol makes: IMAP and POP3 read a server (an external
gateway, which needs its host and port), Maildir reads a folder on this host (a local
gateway, which needs the folder), LMTP takes what the MTA delivers (a local gateway).
The API's body and the web's form both ask here."""

from __future__ import annotations


def gateway_type(protocol: str, *, host: str, port: int | None, maildir_path: str) -> str:
    """ "external" or "local" for this protocol, or ValueError naming what is missing."""
    if protocol == "lmtp":  # the MTA delivers to `supportdesk lmtp`: nothing to reach
        return "local"
    if protocol == "maildir":
        if not maildir_path:
            raise ValueError("a local (Maildir) gateway needs maildir_path")
        return "local"
    if not host or not port:
        raise ValueError("an external gateway needs host and port")
    return "external"
