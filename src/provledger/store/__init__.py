"""The index store: schema, engine, and every SQL statement provledger runs."""
