"""`manage.py analyze ...`: the `netpol` command line from inside the Django project.

The same engine and arguments as the `netpol` console script (reach, explain, diff, lint); it
touches no database, so it also works before `migrate`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies import cli
from policies.engine import PolicyError


class Command(BaseCommand):
    help = "Analyse manifests with the netpol engine: reach, explain, diff or lint (see `netpol --help`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER,
                            help="the netpol command and its arguments, e.g. reach DIR --format json")

    def run_from_argv(self, argv: list[str]) -> None:
        # Everything after "analyze" belongs to the netpol parser (its own --help, --format, ...).
        code = self._run(argv[2:])
        if code:
            sys.exit(code)

    def handle(self, *args: Any, **options: Any) -> None:
        code = self._run(list(args))
        if code:
            raise CommandError(f"netpol exited with {code}", returncode=code)

    def _run(self, argv: list[str]) -> int:
        try:
            # The raw streams: Django's OutputWrapper would add a newline to every write.
            out, err = cast(TextIO, self.stdout._out), cast(TextIO, self.stderr._out)
            return cli.run(argv, sys.stdin, out, err)
        except PolicyError as exc:
            self.stderr.write(f"netpol: error: {exc}")
            return cli.EXIT_BAD_INPUT
