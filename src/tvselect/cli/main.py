"""The `tvselect` command line: gathers options, calls the library, hands the result to one renderer.

Only typer and the error module are imported at start-up; everything else is imported
on the path that needs it, so that `tvselect --json` does not pay for rich. The commands live
in root.py (the main command), commands.py and plan_cmd.py (subcommands), catalog_cmd.py.
"""

import sys
from typing import TYPE_CHECKING

import typer

import tvselect.cli.commands
import tvselect.cli.plan_cmd  # noqa: F401 - registers `plan` on the app
from tvselect.cli.output import say, say_error
from tvselect.cli.root import HELP, app, choose
from tvselect.errors import ExitCode, TvselectError

if TYPE_CHECKING:
    from typer._click.exceptions import UsageError

__all__ = ["app", "main", "say_error"]


def _command_for(args: list[str]) -> typer.Typer:
    """The full app when a subcommand or --help may be named, else one holding only the main command.

    Typer turns every registered function's signature into click parameters on each run;
    building only the main command keeps `tvselect --json` near the cost of importing typer.
    A value that merely looks like a subcommand name (a file called `list`) just takes the
    full app, which handles every command line correctly.
    """
    names = {
        info.name or info.callback.__name__.replace("_", "-")
        for info in app.registered_commands
        if info.callback
    }
    import os

    full = ("-h", "--help", "catalog", "--install-completion", "--show-completion")
    if "_TVSELECT_COMPLETE" in os.environ or any(arg in names or arg in full for arg in args):
        if not app.registered_groups:
            from tvselect.cli.catalog_cmd import catalog_app

            app.add_typer(catalog_app)
        return app
    single = typer.Typer(
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    single.command(name="tvselect", help=HELP)(choose)
    return single


def _usage_message(exc: "UsageError", args: list[str]) -> str:
    """The usage error, a guess for a mistyped subcommand, and the --help that covers it."""
    command = exc.ctx.command_path if exc.ctx is not None else "tvselect"
    if command.split()[-1] != "tvselect":
        return f"{exc.format_message()} (see '{command} --help')"
    names = [info.name or info.callback.__name__ for info in app.registered_commands if info.callback]
    if args and args[0] in [*names, "catalog"]:
        # click reports an option of a subcommand given without its value with no context.
        sub = args[:2] if args[0] == "catalog" and args[1:2] in (["import"], ["lint"], ["diff"]) else args[:1]
        return f"{exc.format_message()} (see 'tvselect {' '.join(sub)} --help')"
    if args and not args[0].startswith("-"):
        import difflib

        close = difflib.get_close_matches(args[0], names, n=1, cutoff=0.5)
        if close:
            return f"no such command {args[0]!r}; did you mean {close[0]}? (see 'tvselect --help')"
    return f"{exc.format_message()} (see 'tvselect --help')"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (documented in --help)."""
    # typer vendors click from 0.28 on; the version range in pyproject.toml pins this path.
    from typer._click.exceptions import ClickException, UsageError

    args = sys.argv[1:] if argv is None else argv
    if "--no-color" in args:
        import os

        os.environ["NO_COLOR"] = "1"
    try:
        result = _command_for(args)(args=args, prog_name="tvselect", standalone_mode=False)
    except UsageError as exc:
        say(f"error: {_usage_message(exc, args)}")
        return ExitCode.BAD_INPUT
    except (typer.Abort, KeyboardInterrupt):
        say("interrupted")
        return ExitCode.INTERRUPTED
    except ClickException as exc:
        say(f"error: {exc.format_message()}")
        return ExitCode.BAD_INPUT
    except TvselectError as exc:
        say_error(exc)
        return int(exc.exit_code)
    except BrokenPipeError:
        return ExitCode.BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - the one place that turns a bug into a message
        if "--debug" in args:
            import traceback

            traceback.print_exc()
        say(
            f"unexpected error: {type(exc).__name__}: {exc}. This is a bug in tvselect; "
            "please report it with the command you ran (--debug shows the traceback)."
        )
        return ExitCode.UNEXPECTED
    return int(result or 0)
