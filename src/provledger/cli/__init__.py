"""The provledger command line."""


def main() -> None:
    """Run the provledger command line."""
