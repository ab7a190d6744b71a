"""OAuth2 for mailboxes: provider presets, the shared token records, token refresh.

Shared by the fetcher, the mailer, the store's web pages and the CLI (none of
them imports another); the flows themselves are authlib's.
"""
