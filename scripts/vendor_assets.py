"""Copy GraphiQL, and the React it runs on, out of node_modules into the gateway's static files.

    python scripts/vendor_assets.py [--node-modules DIR] [--into DIR]

``make deps`` runs it right after ``npm ci``: the files are the npm packages pinned in
package-lock.json (``graphiql``, ``react``, ``react-dom``), never committed; DIR (default
``src/provledger/api/static/vendor/graphiql``, git-ignored) receives their browser builds, the
UMD files that need no bundler, and their licences. The gateway serves them at
``/graphql/ide`` (``provledger.api.graphql.ide``).

One change is made on the way: GraphiQL's stylesheet carries its fonts (Roboto, Fira Code) as
``data:`` URLs, which the gateway's content security policy refuses (fonts come from the
gateway only); each is written to ``fonts/`` under the name of its SHA-256 and the stylesheet
points there instead. Every other byte is as npm delivered it.

The folder is written beside the old one and swapped in whole, so a gateway serving it never
sees half a copy. Standard library only: it runs before the venv may exist.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
DEFAULT_INTO: Final = ROOT / "src" / "provledger" / "api" / "static" / "vendor" / "graphiql"
#: The packages copied from; each must be installed at the version package.json pins.
PACKAGES: Final = ("graphiql", "react", "react-dom")
#: Each file written, and where in node_modules it comes from.
FILES: Final = {
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
    "LICENSE.graphiql": "graphiql/LICENSE",
    "LICENSE.react": "react/LICENSE",
    "LICENSE.react-dom": "react-dom/LICENSE",
}
STYLESHEET: Final = "graphiql.min.css"
FONTS: Final = "fonts"
_DATA_FONT: Final = re.compile(r"""url\((["']?)data:font/(woff2?);base64,([A-Za-z0-9+/=]+)\1\)""")


class VendorError(Exception):
    """The files cannot be copied; the message says why and what to do."""


def pinned_versions(package_json: Path) -> dict[str, str]:
    """The versions ``package_json`` pins for :data:`PACKAGES`."""
    manifest = json.loads(package_json.read_text(encoding="utf-8"))
    pins = {**manifest.get("devDependencies", {}), **manifest.get("dependencies", {})}
    missing = [name for name in PACKAGES if name not in pins]
    if missing:
        raise VendorError(f"{package_json} pins no version of {', '.join(missing)}")
    return {name: pins[name] for name in PACKAGES}


def check_installed(node_modules: Path, pins: dict[str, str]) -> None:
    """Fail unless every package of ``pins`` is installed in ``node_modules`` at its pin."""
    for name, pin in pins.items():
        manifest = node_modules / name / "package.json"
        if not manifest.is_file():
            raise VendorError(f"{name} is not installed in {node_modules}: run npm ci")
        installed = json.loads(manifest.read_text(encoding="utf-8"))["version"]
        if installed != pin:
            raise VendorError(
                f"{name} {installed} is installed, package.json pins {pin}: run npm ci"
            )


def extract_fonts(css: str, fonts: Path) -> str:
    """``css`` with each ``data:`` font written to ``fonts`` (named by its SHA-256) and its URL
    pointing there, relative to the stylesheet."""
    fonts.mkdir(exist_ok=True)

    def written(match: re.Match[str]) -> str:
        kind, data = match[2], base64.b64decode(match[3], validate=True)
        name = f"{hashlib.sha256(data).hexdigest()[:32]}.{kind}"
        (fonts / name).write_bytes(data)
        return f"url({fonts.name}/{name})"

    return _DATA_FONT.sub(written, css)


def vendor(node_modules: Path, into: Path, pins: dict[str, str]) -> list[Path]:
    """Write :data:`FILES` from ``node_modules`` into ``into`` (replaced whole); the files
    written."""
    check_installed(node_modules, pins)
    fresh = into.with_name(into.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    for name, source in FILES.items():
        origin = node_modules / source
        if not origin.is_file():
            raise VendorError(f"{origin} is missing: run npm ci")
        if name == STYLESHEET:
            css = extract_fonts(origin.read_text(encoding="utf-8"), fresh / FONTS)
            (fresh / name).write_text(css, encoding="utf-8")
        else:
            shutil.copyfile(origin, fresh / name)
    stale = into.with_name(into.name + ".old")
    shutil.rmtree(stale, ignore_errors=True)
    if into.exists():
        into.rename(stale)
    fresh.rename(into)
    shutil.rmtree(stale, ignore_errors=True)
    return sorted(path for path in into.rglob("*") if path.is_file())


def main(argv: list[str] | None = None) -> int:
    """Copy the files; one line on stderr and exit status 1 if that cannot be done."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--node-modules", type=Path, default=ROOT / "node_modules")
    parser.add_argument("--into", type=Path, default=DEFAULT_INTO)
    args = parser.parse_args(argv)
    try:
        pins = pinned_versions(ROOT / "package.json")
        written = vendor(args.node_modules, args.into, pins)
    except (VendorError, OSError, ValueError) as error:
        print(f"vendor_assets: {error}", file=sys.stderr)
        return 1
    versions = ", ".join(f"{name} {version}" for name, version in pins.items())
    print(f"vendored {versions}: {len(written)} files in {args.into}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
