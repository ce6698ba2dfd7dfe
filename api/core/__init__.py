"""The plumbing every domain stands on: database, errors, configuration, fields, the
shared Flask extensions, observability, migrations, health, signals and encryption at
rest. Nothing here imports a domain."""
