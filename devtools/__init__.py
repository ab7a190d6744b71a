"""Development tools shared by the tests and the benchmarks: throwaway Dovecot and
PostgreSQL launchers, free ports, a test PKI, and mail/topic helpers.

Shipped with the package but used only in development; nothing in the services imports it.
"""
