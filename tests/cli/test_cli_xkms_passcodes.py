"""`passport xkms authorize`: what it prints, and its warning about short passcodes."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import Cli

from passport.cli.main import main

PAIR = "urn:ietf:rfc:2633=alice@example.com"


def add_alice(cli: Cli) -> None:
    result = cli.runner.invoke(
        main, ["user", "add", "alice", "--password-stdin"], input="correct horse battery\n"
    )
    assert result.exit_code == 0, result.output


def test_a_chosen_short_passcode_is_accepted_with_a_warning(cli: Cli, initialised: Path) -> None:
    add_alice(cli)

    result = cli("xkms", "authorize", "alice", "--use-key-with", PAIR, "--passcode", "024837")

    assert result.exit_code == 0, result.output
    assert "Passcode: 024837" in result.stdout
    assert "warning: a passcode of 6 characters can be guessed" in result.stderr


def test_a_generated_passcode_comes_without_a_warning(cli: Cli, initialised: Path) -> None:
    add_alice(cli)

    result = cli("xkms", "authorize", "alice", "--use-key-with", PAIR, "--uses", "2")

    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("Passcode: ")]
    assert len(line.removeprefix("Passcode: ")) == 23  # four groups of five, dashes between
    assert "for user 'alice', 2 uses, no expiry" in result.stdout
