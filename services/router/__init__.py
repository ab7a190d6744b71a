"""The router: the seed's rules as a faust-streaming app, one outcome per raw email
(`rules/` holds one module per rule, `pipeline` the order). See README.md here.

Owns the incident ledger tables and the directory it reads from compacted topics.
May import the kernel and `schemas`; never another service.
"""
