"""Change notifications: subscriptions' webhooks and streams, delivered from the index's
transactional outbox by `provledger notify` workers."""
