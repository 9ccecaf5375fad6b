"""The ``imagebot`` command line: argparse, one module per sub-command, one error boundary.

Each module in :mod:`imagebot.commands` exposes ``NAME``, ``HELP``, ``configure(parser)`` and
``run(args) -> int``; this module builds the parser from them, sets up logging, and turns every
:class:`~imagebot.errors.ImagebotError` into one line on stderr and an exit code (config errors 2,
others 1, interrupted 130). No traceback reaches the user unless ``-vv`` asks for it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence

from imagebot import __version__, errors, logs
from imagebot.commands import COMMANDS, load

__all__ = ["main"]

logger = logging.getLogger("imagebot.cli")

_EPILOG = """\
Typical use:
  imagebot scan --config policies/                 list tags of every ImageRepository
  imagebot policy test policy.yaml --tags tags.txt which tag would this ImagePolicy choose?
  imagebot markers apps/                           which fields are marked, which are not
  imagebot set --policy flux-system:app=ghcr.io/org/app:1.4.2 apps/
                                                   write a reference into the marked fields

Run 'imagebot COMMAND --help' for the options of one command.
"""


_GLOBAL_DEFAULTS: dict[str, object] = {"verbose": 0, "quiet": False, "log_format": "auto"}
_GLOBAL_WITH_VALUE = frozenset({"--log-format"})


def _add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # the same flags before and after the command (`imagebot -v scan`, `imagebot scan -v`); the
    # command's copies default to SUPPRESS so they never overwrite what was given before it
    def default(name: str) -> object:
        return argparse.SUPPRESS if suppress else _GLOBAL_DEFAULTS[name]

    group = parser.add_argument_group("logging")
    group.add_argument(
        "-v", "--verbose", action="count", default=default("verbose"),
        help="more log output (-v info, -vv debug with tracebacks)",
    )
    group.add_argument("-q", "--quiet", action="store_true", default=default("quiet"), help="errors only")
    group.add_argument(
        "--log-format", choices=("auto", "text", "json"), default=default("log_format"),
        help="format of everything imagebot writes to stderr (log lines and summaries); auto is "
             "text on a terminal and JSON otherwise (default: auto)",
    )


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, suppress=True)
    return common


def _selected(argv: Sequence[str]) -> str | None:
    """The command named in ``argv``: its first word that is neither an option nor an option's value."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _GLOBAL_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; only the command named in ``argv`` gets its module imported and configured."""
    parser = argparse.ArgumentParser(
        prog="imagebot",
        description="Keep container image tags in a GitOps repository up to date.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"imagebot {__version__}")
    _add_global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = _common_options()
    selected = _selected(argv)
    every = selected == "completion"  # completion scripts are generated from the whole parser
    for name, help_text in COMMANDS.items():
        child = sub.add_parser(
            name, help=help_text, parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == selected or every:
            command = load(name)
            child.description = command.__doc__
            command.configure(child)
            child.set_defaults(handler=command.run)
    if every:
        parser.set_defaults(root_parser=parser)
    return parser


@contextlib.contextmanager
def _error_handler(verbosity: int) -> Iterator[list[int]]:
    code = [0]
    try:
        yield code
    except errors.ConfigError as exc:
        print(f"imagebot: configuration error: {exc}", file=sys.stderr)
        code[0] = 2
    except errors.ImagebotError as exc:
        print(f"imagebot: error: {exc}", file=sys.stderr)
        code[0] = 1
    except KeyboardInterrupt:
        print("imagebot: interrupted", file=sys.stderr)
        code[0] = 130
    except BrokenPipeError:
        # the reader went away (`imagebot markers . | head -2`): stop quietly, as Unix tools do
        _silence_stdout()
        code[0] = _BROKEN_PIPE
    except Exception as exc:
        logger.debug("unexpected error", exc_info=True)
        hint = "" if verbosity >= 2 else " (run with -vv for the traceback)"
        print(f"imagebot: internal error: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        code[0] = 70


_BROKEN_PIPE = 128 + 13
"""What a shell reports for a Unix tool killed by SIGPIPE."""


def _silence_stdout() -> None:
    # Python flushes stdout once more at exit; point it at /dev/null so that flush cannot fail
    # and print "Exception ignored ... BrokenPipeError"
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced by something without a descriptor (tests)
        pass
    finally:
        os.close(devnull)


def _flush_stdout() -> int:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return _BROKEN_PIPE
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The ``imagebot`` command; ``argv`` None: this process's own command line, so the command
    may tune the process (see :func:`imagebot.commands.scan.load_settings`), which it never does
    for a caller running commands in-process (the tests)."""
    own_process = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    args.own_process = own_process
    if args.command is None:
        parser.print_help()
        return 2
    verbosity = -1 if args.quiet else args.verbose
    with logs.logging_handler(verbosity, fmt=args.log_format), logs.stderr_lines(args.log_format), \
            _error_handler(verbosity) as code:
        code[0] = args.handler(args)
        code[0] = _flush_stdout() or code[0]
    return code[0]
