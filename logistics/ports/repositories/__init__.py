"""What each repository offers the use cases: `storage` implements them on SQLAlchemy, tests/fakes in
memory."""
