"""Verdicts of named checks: a check's outcome, a verdict's questions, and running one check
(shared by proof bundles, access receipts, presentations and manifests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web3.exceptions import Web3Exception

from provledger.errors import ProvledgerError, ServiceUnavailableError


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    name: str
    """One of :data:`CHECKS`."""
    title: str
    """What passing it proves."""
    passed: bool
    reason: str
    """One line: what was found."""


class Verdict:
    """What a verdict of named checks answers: whether they all passed, which failed, and the
    checks as JSON (a bundle's report, an access receipt's verdict, a manifest's)."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def failed(self) -> tuple[str, ...]:
        """The names of the failed checks."""
        return tuple(check.name for check in self.checks if not check.passed)

    def checks_json(self) -> list[dict[str, Any]]:
        """The checks as JSON: name, title, passed, reason."""
        return [
            {"name": c.name, "title": c.title, "passed": c.passed, "reason": c.reason}
            for c in self.checks
        ]


class CheckFailedError(ProvledgerError):
    """A check found a claim the node (or arithmetic) contradicts; the message says which."""


def run_check(name: str, title: str, check: Callable[[], str]) -> Check:
    """The outcome of ``check`` (which returns why it passed, or raises why not) as a
    :class:`Check`; a node that cannot be reached gives no verdict: raised, not reported."""
    try:
        return Check(name, title, True, check())
    except CheckFailedError as failure:
        return Check(name, title, False, str(failure))
    except ServiceUnavailableError:
        raise
    except (Web3Exception, ProvledgerError) as error:
        # The node refused a read (unknown block, a call that reverted): the claim that needed
        # it is not confirmed. Transport failures are not caught: they are no verdict.
        return Check(name, title, False, f"the node answered: {error}")
