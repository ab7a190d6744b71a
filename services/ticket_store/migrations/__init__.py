"""The store's schema as Alembic migrations: the only way its tables are made or changed
(`supportdesk db upgrade`, `db.upgrade`). Imports SQLAlchemy and Alembic only."""
