"""provledger: a ledger for data asset provenance."""

__version__ = "0.1.0"
