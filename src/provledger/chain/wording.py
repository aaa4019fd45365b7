"""How an explanation of a revert names things: assets, accounts ("you", names), times,
amounts, statuses and codes.

:class:`Words` answers for one call (who "you" are), one clock and one set of
:class:`~provledger.chain.calls.Facts`. It also fills the explanations' templates: in
``"offer #{offerId} expired {expiresAt:time}"`` a field names an argument of the error, and the
kind after the colon says how to show it (:data:`FIELD_KINDS`); without a kind the value is
shown as it is.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Any, Final

from provledger.chain.calls import Call, Facts
from provledger.chain.reverts import render_value
from provledger.units import NATIVE, format_amount, format_time


def status_name(value: Any) -> str:
    """An enum member as a lowercase word (``certified``); anything else as it is."""
    return value.name.lower() if isinstance(value, IntEnum) else str(value)


def code_text(value: Any) -> str:
    """A fixed-bytes code (a jurisdiction, a currency) as its text."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class Words(string.Formatter):
    """How an explanation names things, for the call ``call`` at the time ``now``."""

    def __init__(self, call: Call, now: float | None, facts: Facts) -> None:
        super().__init__()
        self.call = call
        self.now = now
        self.facts = facts

    def sentence(self, template: str, args: Mapping[str, Any]) -> str:
        """``template`` with its fields filled from the error's ``args``."""
        return self.vformat(template, (), args)

    def format_field(self, value: Any, format_spec: str) -> str:
        """A field of a template: shown by its kind, or as it is without one."""
        kind = FIELD_KINDS.get(format_spec)
        return kind(self, value) if kind else str(super().format_field(value, format_spec))

    def asset(self, value: Any) -> str:
        """An asset id as 0x and 64 hex digits."""
        return render_value(value, asset=True)

    def is_you(self, account: Any) -> bool:
        """Whether ``account`` sent the call."""
        return self.call.sender is not None and account == self.call.sender

    def who(self, account: Any) -> str:
        """``you (0x…)`` for the sender, ``Name (0x…)`` when a name is known, else the
        address."""
        if self.is_you(account):
            return f"you ({account})"
        return self.party(account)

    def party(self, account: Any) -> str:
        """An account other than "you": ``Name (0x…)`` when a name is known."""
        name = self.facts.name_of(str(account))
        return f"{name} ({account})" if name else str(account)

    def you(self, account: Any) -> str:
        """ "you" for the sender, else :meth:`party`."""
        return "you" if self.is_you(account) else self.party(account)

    def yours(self, account: Any) -> str:
        """ "yours" for the sender, else the possessive of :meth:`party`."""
        return "yours" if self.is_you(account) else f"{self.party(account)}'s"

    def verb(self, account: Any, plural: str, singular: str) -> str:
        """The verb agreeing with :meth:`who`: "you are" and "0x… is"."""
        return plural if self.is_you(account) else singular

    def time(self, value: Any) -> str:
        """A time as a date and how far it is from now."""
        return format_time(int(value), self.now)

    def native(self, value: Any) -> str:
        """An amount of the chain's own currency."""
        return format_amount(int(value), NATIVE)

    def call_arg(self, *names: str) -> Any:
        """The first of ``names`` that is an argument of the call, or None."""
        for name in names:
            if name in self.call.args:
                return self.call.args[name]
        return None


#: The kinds a template field may name (``{name:kind}``), and how each shows the argument.
FIELD_KINDS: Final[dict[str, Callable[[Words, Any], str]]] = {
    "asset": Words.asset,
    "party": Words.party,
    "who": Words.who,
    "you": Words.you,
    "yours": Words.yours,
    "time": Words.time,
    "native": Words.native,
    "status": lambda _, value: status_name(value),
    "code": lambda _, value: code_text(value),
    "quoted": lambda _, value: repr(code_text(value)),
    "raw": lambda _, value: render_value(value),
}
