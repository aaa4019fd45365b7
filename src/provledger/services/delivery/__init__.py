"""The data room: an asset's bytes kept encrypted and handed only to those the chain allows.

:mod:`envelope` encrypts at rest (a data key per asset, wrapped by a master key kept outside the
database and the storage), :mod:`rules` decides from the contracts' views at the head who may
receive, :mod:`requests` reads the EIP-712 signed requests, :mod:`accesslog` makes every access
provable, and :mod:`service` ties them together for the gateway and the command line.
"""
