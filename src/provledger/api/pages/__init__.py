"""Web pages served by the gateway: search, verify by drop, asset, participant, batch and public
notice pages.

Pages render on the server from the same services as the API and work without JavaScript;
``static/verify.js`` adds hashing in the browser (the file never leaves the machine); the
lineage picture is an SVG whose boxes are links. URLs:

* ``/`` home: what the site is, search, recent registrations, index status;
* ``/search?q=`` an asset id, content hash, registration number, address or title words;
* ``/check`` (``?hash=``) the verify page and its verdict;
* ``/asset/{id}``, ``/participant/{address}`` (``/holder/{address}`` leads there),
  ``/batch/{root}``, ``/market``;
* ``/notices`` the public notice: the registrations open to objection now.

Names before hex: an asset is shown by its title and an account by its participant name and
jurisdiction wherever the index knows them, with the hex beside it, shortened (whole in a
``title`` attribute and on the record's own page). Every account links to its participant
page, and an authority's roles are said beside its address. Times are ISO 8601 in UTC with how
long ago they were; market amounts are in their currency's units with its symbol (ETH, or the
token's ``symbol()`` and ``decimals()`` read once through the gateway's node; a token without
them, or with no node, in its smallest units); appraisals carry their currency.

The parts: :mod:`~provledger.api.pages.routes` (the routes, :func:`install_pages`),
:mod:`~provledger.api.pages.frame` (templates and what every page shows),
:mod:`~provledger.api.pages.labels` (words for values, names for accounts and assets),
:mod:`~provledger.api.pages.asset`, :mod:`~provledger.api.pages.timeline` and
:mod:`~provledger.api.pages.lineage` (the asset page, its timeline and its lineage picture),
:mod:`~provledger.api.pages.metadata` (a committed registration's disclosed and withheld fields,
on the asset page and the public notice), :mod:`~provledger.api.pages.notices` (the public
notice), :mod:`~provledger.api.pages.dataroom` (with the gateway's data room on: what it holds
of an asset and to whom the chain gives it; the access requests on a holder's page).
"""

from provledger.api.pages.routes import install_pages

__all__ = ["install_pages"]
