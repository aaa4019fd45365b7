"""The demo scenario runs to the end on the embedded chain and leaves what it says."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from provledger.chain.connection import embedded_chain
from provledger.cli import app
from provledger.demo import Demo


def test_demo_scenario_on_the_embedded_chain(tmp_path: Path) -> None:
    lines: list[str] = []
    result = Demo(embedded_chain(), tmp_path, lines.append).run()
    assert set(result.assets) == {
        "raw dataset",
        "cleaned dataset",
        "weather inputs",
        "air-quality index product",
    }
    assert result.registration_numbers == {"raw dataset": 1, "air-quality index product": 2}
    assert result.verified_leaf
    assert result.verified_file.endswith(": True")
    assert result.transactions == 21
    assert (tmp_path / "huangpu-air-raw.manifest.json").is_file()
    assert any("exported the cleaned dataset" in line for line in lines)


def test_demo_command_rejects_an_unknown_chain(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(app, ["demo", "--chain", "mainnet", "--workdir", str(tmp_path)])
    assert outcome.exit_code == 2
    assert "--chain 'mainnet' is not 'embedded' or 'anvil'" in outcome.stderr
