"""The registry's and the market's rules in plain Python, for the model-based test.

:mod:`.records` holds the constants of the rules and what the model remembers of the registry
(one record per participant, asset, license, dispute, objection, permit, change of holder);
:mod:`.registry` the registry's rules; :mod:`.market` the market's records (offers, bids) and
rules, which complete :class:`~contracts.model.market.Rules`. Nothing here touches a chain: the
driver in :mod:`contracts.machine` holds the chain to what these rules predict.
"""
