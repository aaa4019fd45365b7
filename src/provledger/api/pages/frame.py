"""What every page is drawn with: the templates, the gateway's services, the market currencies
read so far, the page's clock and names, and the index status the frame of each page shows."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from provledger.api.gateway import Gateway
from provledger.api.pages.labels import Clock, Labels, short, size, words
from provledger.categories import GRADES, category_name
from provledger.params import checksum
from provledger.services.status import is_ready
from provledger.units import NATIVE, Currency, iso_time, read_currency

#: The folder of the pages' ``templates`` and ``static`` files.
FILES: Final = Path(__file__).parents[1]


class Frame:
    """Renders the pages of one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.service = gateway.provenance
        self.templates = Jinja2Templates(directory=FILES / "templates")
        self.templates.env.globals.update(
            short=short, category_name=category_name, grades=GRADES, words=words, size=size
        )
        self._currencies: dict[str, Currency] = {}

    def currency(self, address: str) -> Currency:
        """A market currency with its symbol and decimals, read from the token once. A token
        whose symbol cannot be read (no node configured, the node away, no ``symbol()``) shows
        in its smallest units, and is asked again next time."""
        key = address.lower()
        if int(key, 16) == 0:
            return NATIVE
        if key in self._currencies:
            return self._currencies[key]
        plain = Currency(checksum(key), "", 0)
        if self.gateway.w3 is None:
            return plain
        try:
            found = read_currency(self.gateway.w3, plain.address)
        except Exception:  # the node is away: the smallest units for now
            return plain
        if found.symbol:
            self._currencies[key] = found
        return found

    def labels(self) -> Labels:
        """A page's names and titles, looked up as the page asks for them."""
        return Labels(self.service, self.currency)

    def clock(self) -> Clock:
        """A page's clock: now, or the chain's time if that is later."""
        return Clock(max(int(time.time()), self.gateway.verifier.chain_time()))

    def page(
        self,
        request: Request,
        name: str,
        status_code: int = 200,
        labels: Labels | None = None,
        when: Clock | None = None,
        **context: Any,
    ) -> Response:
        """The template ``name`` with ``context``, in the frame every page has (the index
        status, whether the index is catching up, the time of the page)."""
        status = self.service.status()
        catching_up = not is_ready(status.lag_blocks, self.gateway.settings.ready_max_lag)
        when = when or self.clock()
        named = labels or self.labels()
        return self.templates.TemplateResponse(
            request,
            name,
            {
                "status": status,
                "catching_up": catching_up,
                "when": when,
                "now": iso_time(when.now),
                "who": named.who,
                "asset_link": named.asset,
                "amount": named.money,
                **context,
            },
            status_code=status_code,
        )

    def missing(self, request: Request, what: str, detail: str) -> Response:
        """The not-found page: no such ``what`` here, because ``detail``."""
        return self.page(request, "missing.html", 404, what=what, detail=detail)
