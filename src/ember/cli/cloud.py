"""`ember cloud`: the cloud providers Ember may escalate to, and the log of what left.

A cloud provider is a remote (any OpenAI-compatible endpoint) marked ``cloud = true`` in
``config.toml``: its models show as ``NAME/MODEL`` in every list, and nothing reaches it
except through the cloud gate (the policy, the privacy guard, the egress log). The key
stays in the environment variable named by ``--key-env`` or in the OS keyring
(``--keyring``); it is never written to a file, the database or a log.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.table import Table

from ember.chat.cloud_gate import kinds_text
from ember.chat.egress_log import EgressLog
from ember.chat.remote import OpenAICompatBackend
from ember.chat.remote_keys import forget_key, require_keyring, store_key
from ember.cli.context import get_state
from ember.cli.render import console
from ember.config import RemoteConfig
from ember.config_file import remove_remote, save_remote

cloud_app = typer.Typer(
    help="Cloud providers (OpenAI-compatible), the cloud policy, and the egress log.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(cloud_app, name="cloud")


@cloud_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short name; its models show as NAME/MODEL.")],
    base_url: Annotated[
        str, typer.Option("--base-url", help="The provider's API, e.g. https://host/v1.")
    ],
    key_env: Annotated[
        str | None,
        typer.Option("--key-env", help="The environment variable holding the API key."),
    ] = None,
    in_keyring: Annotated[
        bool,
        typer.Option(
            "--keyring",
            help="Keep the API key in the OS keyring: asked for (hidden), or read from stdin.",
        ),
    ] = False,
    price_in: Annotated[
        float, typer.Option("--price-in", help="Price per million prompt tokens.")
    ] = 0.0,
    price_out: Annotated[
        float, typer.Option("--price-out", help="Price per million completion tokens.")
    ] = 0.0,
    replace_existing: Annotated[
        bool, typer.Option("--replace", help="Replace a provider of the same name.")
    ] = False,
) -> None:
    """Add a cloud provider to config.toml (its key stays in the environment or the OS
    keyring, never in the file)."""
    state = get_state(ctx)
    settings = state.settings()
    try:
        remote = RemoteConfig.from_dict(
            {
                "name": name,
                "base_url": base_url,
                **({"api_key_env": key_env} if key_env else {}),
                "cloud": True,
                "price_in": price_in,
                "price_out": price_out,
                "api_key_keyring": in_keyring,
            }
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    key = ""
    if in_keyring:
        require_keyring()  # before asking for the key
        key = typer.prompt(f"API key for {name}", hide_input=True).strip()
        if not key:
            raise typer.BadParameter("the API key is empty")
    save_remote(settings.config_file, remote, replace=replace_existing)
    if key:
        store_key(name, key)
    console.print(
        f"[green]✓[/] cloud provider [bold]{name}[/] added to {settings.config_file}",
        highlight=False,
    )
    console.print(
        f"The cloud policy is [bold]{settings.cloud_policy}[/]"
        + (
            ': nothing is sent until you set cloud_policy = "ask" or "auto" '
            "(config.toml, EMBER_CLOUD_POLICY, or per conversation / API key)."
            if settings.cloud_policy == "local-only"
            else "."
        ),
        highlight=False,
    )


@cloud_app.command("list")
def list_providers(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """The cloud providers, what they cost so far, and the policy in force."""
    state = get_state(ctx)
    settings = state.settings()
    clouds = [r for r in settings.remote_configs if r.cloud]
    totals = EgressLog(state.runtime().db).totals()
    if as_json:
        rows = [{**r.to_dict(), "usage": totals.get(r.name, {})} for r in clouds]
        console.print_json(json.dumps({"policy": settings.cloud_policy, "providers": rows}))
        return
    console.print(f"Cloud policy: [bold]{settings.cloud_policy}[/]", highlight=False)
    if not clouds:
        console.print("No cloud providers. Add one with [bold]ember cloud add[/].")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("NAME", "URL", "KEY", "REQUESTS", "TOKENS IN/OUT", "COST"):
        table.add_column(column, no_wrap=True)
    for r in clouds:
        used = totals.get(r.name, {})
        table.add_row(
            r.name,
            r.base_url,
            key_source(r),
            str(int(used.get("requests", 0))),
            f"{int(used.get('prompt_tokens', 0))}/{int(used.get('completion_tokens', 0))}",
            f"{used.get('cost', 0.0):.4f}",
        )
    console.print(table)


def key_source(remote: RemoteConfig) -> str:
    """Where a remote's key comes from, for the listing (never the key)."""
    sources = [f"${remote.api_key_env}"] if remote.api_key_env else []
    if remote.api_key_keyring:
        sources.append("keyring")
    return " or ".join(sources) or "none"


@cloud_app.command("rm")
def rm(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The provider's name (see `ember cloud list`).")],
) -> None:
    """Remove a cloud provider from config.toml (its egress log entries stay)."""
    settings = get_state(ctx).settings()
    kept = any(r.name == name and r.api_key_keyring for r in settings.remote_configs)
    remove_remote(settings.config_file, name)
    forgotten = kept and forget_key(name)
    console.print(
        f"[green]✓[/] removed {name}" + (" and its key in the OS keyring" if forgotten else ""),
        highlight=False,
    )


@cloud_app.command("test")
def test(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The provider's name.")],
) -> None:
    """Check that a provider answers and takes the key (lists its models, sends no prompt)."""
    settings = get_state(ctx).settings()
    found = [r for r in settings.remote_configs if r.name == name]
    if not found:
        raise typer.BadParameter(f"no remote named {name}; `ember cloud list` shows them")
    models = asyncio.run(OpenAICompatBackend(found[0]).list_models())
    console.print(
        f"[green]✓[/] {name} answers: {len(models)} model(s)"
        + (": " + ", ".join(f"{name}/{m}" for m in models[:10]) if models else ""),
        highlight=False,
    )


@cloud_app.command("log")
def show_log(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many entries.")] = 20,
    provider: Annotated[
        str | None, typer.Option("--provider", help="Only this provider's entries.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """What left this machine: each request sent to a cloud provider, or stopped before.

    What was redacted or blocked is shown as kinds and counts, never values."""
    entries = EgressLog(get_state(ctx).runtime().db).entries(limit=limit, provider=provider)
    if as_json:
        console.print_json(json.dumps([e.to_json() for e in entries]))
        return
    if not entries:
        console.print("Nothing has been sent to a cloud provider.")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("WHEN", "PROVIDER/MODEL", "FROM", "STATUS", "REDACTED", "TOKENS", "REASON"):
        table.add_column(column)
    for e in entries:
        changed = {**e.redacted, **{f"blocked {k}": n for k, n in e.blocked.items()}}
        table.add_row(
            e.at[:19].replace("T", " "),
            f"{e.provider}/{e.model}",
            f"key {e.key_id}"
            if e.key_id
            else (f"chat {e.conversation_id[:8]}" if e.conversation_id else "-"),
            e.status,
            kinds_text(changed) or "-",
            f"{e.prompt_tokens}/{e.completion_tokens}",
            e.reason,
        )
    console.print(table)
