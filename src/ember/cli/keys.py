"""`ember keys`: the API keys that let other machines use this server."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from ember.auth.keys import CLOUD_POLICIES, ApiKey
from ember.cli.context import get_state
from ember.cli.render import console

keys_app = typer.Typer(
    help="API keys for serving other machines (`ember serve --host 0.0.0.0`).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help="A name to tell the key apart (e.g. who uses it)."),
    ] = None,
    cloud_policy: Annotated[
        str | None,
        typer.Option(
            "--cloud-policy",
            help="What this key's requests may send to a cloud model: local-only, ask or "
            "auto (default: the cloud_policy setting).",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            "-u",
            help="Whose key it is (with accounts on, required: its requests act as that user).",
        ),
    ] = None,
) -> None:
    """Create an API key and print its secret, once: only a hash of it is stored."""
    if cloud_policy is not None and cloud_policy not in CLOUD_POLICIES:
        raise typer.BadParameter(
            f"use one of {', '.join(CLOUD_POLICIES)}", param_hint="--cloud-policy"
        )
    runtime = get_state(ctx).runtime()
    if user is None and runtime.users.any():
        raise typer.BadParameter(
            "accounts are on: say whose key it is (`ember users list` shows them)",
            param_hint="--user",
        )
    owner = runtime.users.named(user).id if user is not None else None
    record, secret = runtime.keys.create(name, cloud_policy=cloud_policy, user_id=owner)
    console.print(f"[green]✓[/] API key [bold]{record.name}[/] (id {record.id}):", highlight=False)
    console.print(secret, markup=False, highlight=False, soft_wrap=True)
    console.print(
        "Copy it now; it is not shown again. Clients send it as "
        "'Authorization: Bearer <key>' (OpenAI SDKs: api_key=…).",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@keys_app.command("list")
def list_keys(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", "-a", help="Include revoked keys.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the API keys (never their secrets: only the first characters)."""
    records = get_state(ctx).runtime().keys.list(include_revoked=show_all)
    if as_json:
        console.print_json(json.dumps([_summary(k) for k in records]))
        return
    if not records:
        console.print("No API keys. Create one with [bold]ember keys create[/].")
        return
    table = Table(box=None, pad_edge=False)
    # The cloud column only when some key has its own policy (narrow terminals).
    cloud = any(k.cloud_policy for k in records)
    for column in (
        "ID",
        "NAME",
        "PREFIX",
        "CREATED",
        "LAST USED",
        *(("CLOUD",) if cloud else ()),
        "STATUS",
    ):
        table.add_column(column, no_wrap=True)
    for k in records:
        table.add_row(
            k.id,
            k.name,
            f"{k.prefix}…",
            _when(k.created_at),
            _when(k.last_used_at),
            *((k.cloud_policy or "default",) if cloud else ()),
            "active" if k.active else "revoked",
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context,
    key: Annotated[
        str, typer.Argument(help="The key's id, name or prefix (see `ember keys list`).")
    ],
) -> None:
    """Revoke an API key: requests carrying it are refused from now on."""
    record = get_state(ctx).runtime().keys.revoke(key)
    console.print(f"[green]✓[/] revoked {record.name} (id {record.id})", highlight=False)


def _summary(key: ApiKey) -> dict[str, object]:
    return {**asdict(key), "active": key.active}


def _when(stamp: str | None) -> str:
    return stamp[:16].replace("T", " ") if stamp else "never"
