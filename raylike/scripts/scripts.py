"""Ray's ``ray.scripts.scripts``: the ``ray`` command line as click commands (``cli`` and its
``start``, ``stop``, ``status``, ``list``, ``summary``), for programs and tests that invoke
them in-process (``click.testing.CliRunner``). Each passes its arguments on to raylike's own
command line (``raylike._dask.cluster.cli``), whose options and output they are."""
from __future__ import annotations

from typing import Any

import click

__all__ = ["cli", "list_command", "start", "status", "stop", "summary"]

_PASS_ON = {"ignore_unknown_options": True, "allow_extra_args": True,
            "help_option_names": []}


def _run(command: str, args: tuple[str, ...]) -> None:
    from raylike._dask.cluster.cli import main

    code = main([command, *args])
    if code:
        raise SystemExit(code)


def _command(name: str) -> Any:
    @click.command(name=name, context_settings=_PASS_ON)
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        _run(name, args)

    command.__doc__ = f"``ray {name}``: raylike's ``raylike {name}``."
    return command


start = _command("start")
stop = _command("stop")
status = _command("status")
list_command = _command("list")
summary = _command("summary")


@click.group()
def cli() -> None:
    """Ray's command line, served by raylike's."""


for _each in (start, stop, status, list_command, summary):
    cli.add_command(_each)
