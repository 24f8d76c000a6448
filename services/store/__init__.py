"""Storage: SQLAlchemy 2.0 models and the engine/session factory (SQLite or PostgreSQL)."""
