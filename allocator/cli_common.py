"""What every command shares: consoles, exit codes, ``--set`` parsing, the error guard, cell text.

``allocator/cli.py`` and the commands registered from other packages (``sensitivity/commands.py``)
import it; it imports no command module, so there is no import cycle.
"""

from __future__ import annotations

import typer
from rich.console import Console

from allocator.scenario import ScenarioError, load_scenario
from allocator.scenario.amounts import format_amount
from allocator.scenario.errors import Problem
from allocator.scenario.yaml_io import read_value

__all__ = ["EXIT_BUG", "EXIT_INVALID", "EXIT_NO_PLAN", "EXIT_PLAN", "err", "load_scenario", "out", "parse_sets"]

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

EXIT_PLAN, EXIT_NO_PLAN, EXIT_INVALID, EXIT_BUG = 0, 1, 2, 3


def parse_sets(items: list[str] | None) -> dict[str, object]:
    """``["budget.total=35M", ...]`` -> ``{"budget.total": "35M"}`` (values read as YAML scalars)."""
    changes: dict[str, object] = {}
    problems = []
    for item in items or []:
        path, sep, raw = item.partition("=")
        if not sep or not path.strip():
            problems.append(Problem("--set", None, item, "must look like PATH=VALUE, e.g. budget.total=35M"))
            continue
        changes[path.strip()] = read_value(raw)  # read as a scenario file reads it (no YAML 1.1 surprises)
    if problems:
        raise ScenarioError(problems)
    return changes


def _fail_invalid(exc: ScenarioError) -> None:
    for problem in exc.problems:
        err.print(str(problem), markup=False, highlight=False)
    err.print(f"{len(exc.problems)} problem(s) found.", style="red")
    hint = getattr(exc, "hint", None)  # what to do about it, when the error type knows (e.g. fit's --partial)
    if hint:
        err.print(hint, markup=False, highlight=False)
    raise typer.Exit(EXIT_INVALID)


def _guard(debug: bool, action):
    """Run ``action``; user mistakes become messages, bugs become one line unless ``--debug``."""
    try:
        return action()
    except ScenarioError as exc:
        if debug:
            raise
        _fail_invalid(exc)
    except typer.Exit:
        raise
    except OSError as exc:  # an output folder that cannot be written: the user's to fix
        if debug:
            raise
        err.print(f"cannot write: {exc}", markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (runtime.handle_signals): folders were removed
        from allocator import runtime

        err.print("interrupted; nothing was written.")
        raise typer.Exit(runtime.exit_code(exc)) from None
    except Exception as exc:  # a bug or an environment failure, not a user mistake
        stop = _interruption_in(exc)
        if stop is not None:  # Ctrl-C landed inside an import or a library that wrapped it
            from allocator import runtime

            err.print("interrupted; nothing was written.")
            raise typer.Exit(runtime.exit_code(stop)) from None
        if debug:
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc}", markup=False)
        err.print("Nothing was written. Run again with --debug for the traceback.")
        raise typer.Exit(EXIT_BUG) from None


def _interruption_in(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C (or SIGTERM) behind an exception, when a library wrapped it in its own
    (Python turns one raised while a class is made into ``RuntimeError: Error calling __set_name__``)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _cell(metric: str, value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, str):
        return value
    if metric == "marketing_roi":
        return f"{value:.1%}"
    if metric == "budget_shadow_price":
        return f"{value:.3f}"
    if metric in ("headcount", "temp_staff"):
        return f"{value:.1f}"
    return format_amount(value)


def _check_solver(solver: str | None, time_limit: float | None = None, mip_gap: float | None = None) -> None:
    from allocator.api import check_options

    check_options(solver, time_limit, mip_gap)
