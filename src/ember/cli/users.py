"""`ember users`: the accounts of a team server.

The first user added is an admin and turns accounts on: the page then asks everyone to
sign in, and API keys belong to users. Passwords are asked for with the input hidden
(or read from stdin) and only their argon2id hash is stored.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ember.auth.users import ROLES, Role
from ember.cli.context import get_state
from ember.cli.render import console
from ember.errors import EmberError

users_app = typer.Typer(
    help="Accounts for a team server: the first one is the admin.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


def _password(name: str) -> str:
    return str(typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True))


def _role(value: str) -> Role:
    if value not in ROLES:
        raise typer.BadParameter(f"use one of {', '.join(ROLES)}", param_hint="--role")
    return "admin" if value == "admin" else "user"


@users_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The name to sign in with.")],
    role: Annotated[
        str, typer.Option("--role", help="admin or user (the first user is always admin).")
    ] = "user",
) -> None:
    """Add a user; the first one is an admin and turns accounts on."""
    users = get_state(ctx).runtime().users
    first = not users.any()
    user = users.add(name, _password(name), role=_role(role))
    console.print(f"[green]✓[/] user [bold]{user.name}[/] ({user.role})", highlight=False)
    if first:
        console.print(
            "Accounts are on: the page asks for a name and password, and API keys belong "
            "to users (`ember keys create --user NAME`). What existed before (chats, keys) "
            f"now belongs to {user.name}.",
            highlight=False,
        )


@users_app.command("list")
def list_users(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """The accounts (names and roles; never passwords)."""
    users = get_state(ctx).runtime().users.list()
    if as_json:
        console.print_json(json.dumps([u.to_dict() for u in users]))
        return
    if not users:
        console.print("No accounts: the server is single-user. `ember users add NAME` adds one.")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("NAME", "ROLE", "CREATED"):
        table.add_column(column)
    for u in users:
        table.add_row(u.name, u.role, u.created_at[:19].replace("T", " "))
    console.print(table)


@users_app.command("passwd")
def passwd(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The user's name.")]
) -> None:
    """Set a new password; the user's sessions end."""
    users = get_state(ctx).runtime().users
    users.named(name)  # before asking
    user = users.set_password(name, _password(name))
    console.print(f"[green]✓[/] new password for {user.name}; signed out everywhere")


@users_app.command("role")
def set_role(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user's name.")],
    role: Annotated[str, typer.Argument(help="admin or user.")],
) -> None:
    """Make a user an admin, or not (the last admin stays one)."""
    user = get_state(ctx).runtime().users.set_role(name, _role(role))
    console.print(f"[green]✓[/] {user.name} is {user.role}")


@users_app.command("limits")
def limits(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user's name.")],
    per_minute: Annotated[
        int | None,
        typer.Option("--per-minute", help="Answers per minute (0: no limit)."),
    ] = None,
    tokens_per_day: Annotated[
        int | None,
        typer.Option("--tokens-per-day", help="Tokens per UTC day (0: no quota)."),
    ] = None,
    cloud_policy: Annotated[
        str | None,
        typer.Option(
            "--cloud-policy",
            help="The most this user may send to a cloud model: local-only, ask or auto "
            "(their chats and keys can be stricter, never looser).",
        ),
    ] = None,
    default: Annotated[
        bool, typer.Option("--default", help="Back to the settings' limits.")
    ] = False,
) -> None:
    """Show or set a user's own limits (otherwise the settings' rate_limit_per_minute,
    daily_token_quota and cloud_policy apply), and what they used today."""
    runtime = get_state(ctx).runtime()
    user = runtime.users.named(name)
    if default or per_minute is not None or tokens_per_day is not None:
        user = runtime.users.set_limits(
            name,
            per_minute=None if default else _keep(per_minute, user.rate_limit_per_minute),
            tokens_per_day=None if default else _keep(tokens_per_day, user.daily_token_quota),
        )
    if default or cloud_policy is not None:
        try:
            user = runtime.users.set_cloud_policy(name, None if default else cloud_policy)
        except EmberError as exc:
            raise typer.BadParameter(exc.message, param_hint="--cloud-policy") from exc
    settings = runtime.settings

    def shown(own: int | None, setting: int, unit: str) -> str:
        value = own if own is not None else setting
        text = f"{value} {unit}" if value else "no limit"
        return text if own is not None else f"{text} (the setting)"

    rate = shown(user.rate_limit_per_minute, settings.rate_limit_per_minute, "per minute")
    quota = shown(user.daily_token_quota, settings.daily_token_quota, "tokens per day")
    used = runtime.usage.used_today(user.id)
    cloud = user.cloud_policy or f"{settings.cloud_policy} (the setting)"
    console.print(
        f"{user.name}: {rate}; {quota}; cloud: {cloud}; used today: {used} tokens",
        highlight=False,
    )


def _keep(new: int | None, old: int | None) -> int | None:
    return new if new is not None else old


@users_app.command("rm")
def rm(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user's name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Remove a user with their sessions, API keys, conversations and documents."""
    runtime = get_state(ctx).runtime()
    runtime.users.check_removable(runtime.users.named(name))
    if not yes and not typer.confirm(f"Remove {name} and their chats, keys and documents?"):
        raise typer.Exit(1)
    _, documents = runtime.remove_user(name)
    console.print(f"[green]✓[/] removed {name} and {documents} document(s)")
