"""Alembic environment: always given a live connection by logistics.storage.migrate."""

from alembic import context

from logistics.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `certpost db upgrade`")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
context.run_migrations()
