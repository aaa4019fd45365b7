"""The provledger command line (typer).

Exit codes: 0 ok, 1 a negative verification result, 2 bad usage or input, 3 a chain or network
failure. Errors print one line naming what to fix; ``--debug`` shows the traceback.
"""

from __future__ import annotations

from provledger.cli import accounts as accounts  # registers its commands on the app
from provledger.cli import authority as authority  # registers its commands on the app
from provledger.cli import batch as batch  # registers its commands on the app
from provledger.cli import checkpoint as checkpoint  # registers its commands on the app
from provledger.cli import data as data  # registers its commands on the app
from provledger.cli import data_records as data_records  # registers its commands on the app
from provledger.cli import demo as demo  # registers its commands on the app
from provledger.cli import develop as develop  # registers its commands on the app
from provledger.cli import disclosure as disclosure  # registers its commands on the app
from provledger.cli import holder as holder  # registers its commands on the app
from provledger.cli import market as market  # registers its commands on the app
from provledger.cli import market_reads as market_reads  # registers its commands on the app
from provledger.cli import notify as notify  # registers its commands on the app
from provledger.cli import operate as operate  # registers its commands on the app
from provledger.cli import query as query  # registers its commands on the app
from provledger.cli import registrant as registrant  # registers its commands on the app
from provledger.cli import roles as roles  # registers its commands on the app
from provledger.cli import signed as signed  # registers its commands on the app
from provledger.cli import stores as stores  # registers its commands on the app
from provledger.cli import verify as verify  # registers its commands on the app
from provledger.cli import watch as watch  # registers its commands on the app
from provledger.cli import witness as witness  # registers its commands on the app
from provledger.cli.base import app, main

__all__ = ["app", "main"]
