"""What the gateway and the command line share: provenance queries, verification, proof
bundles. Services read the store (and, for proofs, a node); they know nothing of HTTP."""
