"""`bazaar test` and `bazaar contracts`: the project's checks, and its OpenAPI documents."""

from __future__ import annotations

from typing import Annotated

import typer

from bazaar_local.commands.options import console
from bazaar_local.contracts import write_contracts
from bazaar_local.paths import repo_root
from bazaar_local.project_checks import project_checks, run_check


def test(ctx: typer.Context) -> None:
    """Run ruff, mypy, import-linter and pytest (extra arguments go to pytest)."""
    root = repo_root()
    failed: list[str] = []
    for check in project_checks(ctx.args):
        console.rule(f"[bold]{check.title}")
        code = run_check(check, root)
        if code != 0:
            console.print(f"[red]{check.title} failed (exit {code})[/]")
            failed.append(check.title)
    console.rule()
    if failed:
        console.print(f"[red]Failed: {', '.join(failed)}[/]")
        raise typer.Exit(1)
    console.print("[green]All checks passed.[/]")


def contracts(
    check: Annotated[
        bool, typer.Option("--check", help="Only report drift; write nothing (exit 1 on drift)")
    ] = False,
) -> None:
    """Write each service's live OpenAPI document to contracts/openapi/<service>.json."""
    folder = repo_root() / "contracts" / "openapi"
    drifted = write_contracts(folder, check=check)
    for name in drifted:
        console.print(f"{'drifted' if check else 'updated'}: contracts/openapi/{name}.json")
    if not drifted:
        console.print("Contracts match the services.")
    raise typer.Exit(1 if check and drifted else 0)
