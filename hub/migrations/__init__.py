"""Alembic migrations of the Vigil schema (SQLite and PostgreSQL)."""
