"""Domain rules of the support center, each written once: errors, status transitions,
reply subjects and Message-IDs, the incident balance, pre-defined reply scopes and
placeholders.

May import: the standard library, SQLAlchemy, the store's models, `schemas`.
Never: fastapi, starlette, jinja2, or the store's adapters (api, web).
"""
