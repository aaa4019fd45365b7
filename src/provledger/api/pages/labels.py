"""Words for values on the pages: times, shortened hex, enum names, sizes, market amounts, and
the names of the accounts and the titles of the assets a page shows (:class:`Labels`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

from provledger.services.provenance import Provenance
from provledger.services.views import AssetView, PartyView
from provledger.units import NATIVE, Currency, format_amount, iso_time, relative_time


@dataclass(frozen=True)
class Clock:
    """Writes the times of one page, relative to ``now``: the later of the wall clock and the
    chain's (a development chain may have been moved ahead; nothing recorded is later)."""

    now: int

    def __call__(self, timestamp: int | None) -> Markup:
        """A time as ``<time>`` in ISO 8601 and how long ago (``-`` for none)."""
        if not timestamp:
            return Markup("-")
        stamp = iso_time(timestamp)
        return Markup('<time datetime="{0}">{0}</time> <span class="ago">({1})</span>').format(
            stamp, relative_time(timestamp, self.now)
        )


def short(value: str | None) -> str:
    """A long hex value shortened for display (the full value goes in a title attribute)."""
    if not value:
        return "-"
    return value if len(value) <= 18 else f"{value[:10]}…{value[-6:]}"


def tiny(value: str) -> str:
    """A hex value shortened further, for the boxes of the lineage picture."""
    return value if len(value) <= 12 else f"{value[:6]}…{value[-4:]}"


def words(value: object) -> str:
    """An enum name in words: ``PROCESSING_USE`` -> ``processing use``."""
    return str(value).lower().replace("_", " ")


#: The binary units of sizes after bytes (IEC 80000-13).
SIZE_UNITS: Final = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def byte_size(count: int) -> str:
    """A number of bytes in binary units, to one decimal: ``1.2 MiB``; under 1 KiB in bytes."""
    if count < 1024:
        return f"{count:,} byte{'' if count == 1 else 's'}"
    value, unit = count / 1024, SIZE_UNITS[0]
    for larger in SIZE_UNITS[1:]:
        if round(value, 1) < 1024:
            break
        value, unit = value / 1024, larger
    return f"{value:,.1f} {unit}"


def size(count: int) -> Markup:
    """A number of bytes in binary units, the exact count in a tooltip."""
    return Markup('<span class="size" title="{:,} bytes">{}</span>').format(count, byte_size(count))


def amount(value: int | str, currency: Currency) -> Markup:
    """A market amount in ``currency``'s units with its symbol (the exact smallest units in a
    tooltip); for a token whose symbol is unknown, in its smallest units naming the token."""
    number = f"{int(value):,}"
    if currency.symbol:
        return Markup('<span class="amount" title="{} {}">{}</span>').format(
            number, currency.smallest_unit, format_amount(value, currency)
        )
    return Markup(
        '<span class="amount">{} smallest units of token <code title="{}">{}</code></span>'
    ).format(number, currency.address, short(currency.address))


class Labels:
    """The names of the accounts and the titles of the assets one page shows.

    :meth:`learn` looks many up in one query each; any other is looked up when first shown.
    """

    def __init__(
        self, service: Provenance, currencies: Callable[[str], Currency] = lambda _: NATIVE
    ) -> None:
        self._service = service
        self._currencies = currencies
        self._parties: dict[str, PartyView] = {}
        self._titles: dict[str, str | None] = {}

    def learn(self, accounts: Iterable[str | None] = (), assets: Iterable[str | None] = ()) -> None:
        """Look up the accounts and the assets (``0x`` hex ids) not known yet."""
        fresh = [key.lower() for key in accounts if key and key.lower() not in self._parties]
        if fresh:
            self._parties.update(self._service.parties(fresh))
        unknown = [key for key in dict.fromkeys(assets) if key and key not in self._titles]
        if unknown:
            found = self._service.titles(unknown)
            self._titles.update({key: found.get(key) for key in unknown})

    def learn_listed(self, assets: Iterable[AssetView]) -> None:
        """Look up the titles and the people (registrant, holder) of a list of assets at once."""
        items = list(assets)
        self.learn(
            accounts=[account for item in items for account in (item.registrant, item.holder)],
            assets=[item.asset_id for item in items],
        )

    def party(self, account: str) -> PartyView:
        """How to name ``account``."""
        self.learn(accounts=[account])
        return self._parties[account.lower()]

    def title(self, asset: str) -> str | None:
        """The title of asset ``asset`` (``0x`` hex id), if the index knows it."""
        self.learn(assets=[asset])
        return self._titles[asset]

    def who(self, account: str | None, full: bool = False) -> Markup:
        """An account as a link to its participant page: the name, with the jurisdiction, the
        authority roles and the address beside it; or the address with its roles beside it
        (``full``: the address unshortened)."""
        if not account:
            return Markup("-")
        party = self.party(account)
        address = party.account
        link = f"/participant/{address}"
        hex_text = (
            Markup('<code class="whole">{}</code>').format(address)
            if full
            else (Markup("<code>{}</code>").format(short(address)))
        )
        beside = [part for part in (party.jurisdiction, ", ".join(party.roles)) if part]
        if party.name:
            return Markup('<a href="{}" title="{}">{}</a> <span class="sub">{}{}</span>').format(
                link, address, party.name, "".join(f"{part} · " for part in beside), hex_text
            )
        shown = Markup('<a href="{}" title="{}">{}</a>').format(link, address, hex_text)
        if beside:
            return shown + Markup(' <span class="sub">{}</span>').format(" · ".join(beside))
        return shown

    def money(self, value: int | str, currency: str) -> Markup:
        """A market amount in ``currency`` (an address: zero for the native currency)."""
        return amount(value, self._currencies(currency))

    def asset(self, asset: str) -> Markup:
        """An asset as a link to its page: the title with the shortened id beside it, or the
        shortened id (the whole id in the link's ``title``)."""
        title = self.title(asset)
        if title:
            return Markup(
                '<a href="/asset/{0}" title="{0}">{1}</a> <span class="sub"><code>{2}</code></span>'
            ).format(asset, title, short(asset))
        return Markup('<a href="/asset/{0}" title="{0}"><code>{1}</code></a>').format(
            asset, short(asset)
        )
