"""The indexer: fetch the contracts' logs, decode them, project them into the store.

:mod:`~provledger.indexer.source` fetches, :mod:`~provledger.indexer.decoding` decodes,
:mod:`~provledger.indexer.projector` turns events into rows, and
:mod:`~provledger.indexer.scanner` owns ranges, retries, reorgs and the checkpoint.
"""
