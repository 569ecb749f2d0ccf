"""`ember chat`: a conversation in the terminal, stored like the web UI's.

Answers stream as rendered Markdown. Ctrl+C stops an answer (what was written is kept)
without leaving; Ctrl+D or /exit leaves. Arrow keys recall earlier lines (readline).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from ember.auth.users import User, UserStore
from ember.cli.chat_backends import ChatBackend, ChatEvent, LocalBackend, ServerBackend
from ember.cli.context import get_state
from ember.cli.probe import server_url
from ember.cli.render import console
from ember.errors import EmberError

HELP = """Commands:
  /model [NAME]    switch model (without a name: list them)
  /system [TEXT]   set the system prompt (without text: remove it)
  /docs [NAMES]    answer from these document collections (`ember docs add`);
                   without names: stop using documents
  /continue        write more of an answer that reached its length limit
  /clear           start a new conversation
  /save [FILE]     save the conversation as Markdown
  /help            this help
  /exit            leave (Ctrl+D too). Ctrl+C stops an answer."""


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)


def chat(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Argument(help="Model to chat with (default: the default model).")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", "-s", help="System prompt.")] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Run in this process even if a server is running.")
    ] = False,
    docs: Annotated[
        list[str] | None,
        typer.Option(
            "--docs",
            "-d",
            help="Answer from this document collection (`ember docs add`), citing sources; "
            "repeat for several.",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            "-u",
            envvar="EMBER_USER",
            help="With accounts, whose conversation this is when the chat runs in this "
            "process (default: the only user, else the first admin). Through a server, "
            "the API key (EMBER_API_KEY) says who you are.",
        ),
    ] = None,
) -> None:
    """Chat in the terminal. Uses the running Ember server if there is one (the chat then
    shows in the web UI too), otherwise runs the model in this process."""
    state = get_state(ctx)
    settings = state.settings()
    url = None if local else server_url(settings.host, settings.port)
    backend: ChatBackend
    if url is not None:
        if user is not None:
            raise typer.BadParameter(
                "a running server knows you by your API key (EMBER_API_KEY); --user is for "
                "a chat in this process (--local)",
                param_hint="--user",
            )
        backend = ServerBackend(url, api_key=os.environ.get("EMBER_API_KEY"))
    else:
        runtime = state.runtime()
        if not runtime.models.installed():
            state.register_starters()
        backend = LocalBackend(runtime, owner=chat_owner(runtime.users, user))
    try:
        session = ChatSession(backend, model, system)
        if docs:
            session.use_documents(docs)
        session.run(interactive=sys.stdin.isatty())
    finally:
        backend.close()


def chat_owner(users: UserStore, name: str | None) -> User | None:
    """Whose a chat in this process is: the named user; with none named, the only user,
    else the first admin (the person at the server's own terminal); None without
    accounts. Their page then lists the conversation."""
    if name is not None:
        try:
            return users.named(name)
        except EmberError as exc:
            raise typer.BadParameter(exc.message, param_hint="--user") from exc
    everyone = users.list()
    if not everyone:
        return None
    if len(everyone) == 1:
        return everyone[0]
    return next(u for u in everyone if u.is_admin)


class ChatSession:
    def __init__(self, backend: ChatBackend, model: str | None, system: str | None) -> None:
        self.backend = backend
        self.model = model
        self.system = system
        self.collections: list[str] = []
        self.conversation = backend.new_conversation(model, system)
        self.last_answer: dict[str, Any] | None = None  # the last answer shown (/continue)

    def use_documents(self, collections: list[str]) -> None:
        """Answer from these collections (none: answer without documents)."""
        self.collections = collections
        self.backend.update(self.conversation, settings={"collections": collections})

    def run(self, *, interactive: bool) -> None:
        if interactive:
            _enable_history()
            console.print(
                f"[bold]Ember chat[/] — {self.model or 'default model'} via {self.backend.where}. "
                "/help for commands, Ctrl+D to leave."
            )
        while True:
            try:
                line = input("› " if interactive else "")
            except EOFError:
                return
            except KeyboardInterrupt:
                console.print("\n(Ctrl+D or /exit to leave)")
                continue
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if not self.command(line):
                    return
                continue
            self.answer(line, live=interactive)

    def command(self, line: str) -> bool:
        """Run a /command; False means leave."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("/exit", "/quit"):
            return False
        if name == "/help":
            console.print(HELP)
        elif name == "/model":
            self._model(arg)
        elif name == "/system":
            self.system = arg or None
            self.backend.update(self.conversation, system=self.system)
            console.print("System prompt set." if arg else "System prompt removed.")
        elif name == "/docs":
            self.use_documents(arg.split())
            console.print(
                f"Answering from: {', '.join(self.collections)}."
                if self.collections
                else "Answering without documents."
            )
        elif name == "/continue":
            if self.last_answer is None:
                console.print("No answer to continue yet.")
            else:
                events = self.backend.continue_answer(self.conversation, self.last_answer["id"])
                self.show(events, live=sys.stdin.isatty())
        elif name == "/clear":
            self.last_answer = None
            self.conversation = self.backend.new_conversation(self.model, self.system)
            if self.collections:
                self.use_documents(self.collections)
            console.print("New conversation.")
        elif name == "/save":
            path = Path(arg or "ember-chat.md").expanduser()
            path.write_text(self.backend.export_markdown(self.conversation), encoding="utf-8")
            console.print(f"Saved to {path}")
        else:
            console.print(f"Unknown command {name}. /help lists them.")
        return True

    def _model(self, name: str) -> None:
        models = self.backend.models()
        if not name:
            for m in models:
                console.print(("* " if m == self.model else "  ") + m)
            return
        if name not in models:
            console.print(f"No model {name!r} here. Installed: {', '.join(models)}")
            return
        self.model = name
        self.backend.update(self.conversation, model=name)
        console.print(f"Now chatting with {name}.")

    def answer(self, content: str, *, live: bool) -> None:
        self.show(self.backend.send(self.conversation, content), live=live)

    def show(self, events: Iterator[ChatEvent], *, live: bool) -> None:
        """An answer as it streams, then its sources and its footer."""
        text = ""
        done: dict[str, Any] | None = None
        try:
            with Live(
                Markdown(""), console=console, refresh_per_second=12, transient=False
            ) as view:
                for kind, data in events:
                    if kind == "delta":
                        text += data
                        if live:
                            view.update(Markdown(text))
                    elif kind == "progress":
                        if live and not text:
                            view.update(Text(reading_line(*data), style="dim"))
                    elif kind == "tool":
                        view.update(Markdown(text))
                        console.print(_tool_line(data), style="dim")
                        text = ""
                    elif kind == "done":
                        done = data
                    elif kind == "error":
                        console.print(f"[red]error:[/] {data}")
                view.update(Markdown(text))
        except KeyboardInterrupt:
            console.print("[yellow](stopped — the partial answer is saved)[/]")
            return
        except EmberError as exc:
            console.print(f"[red]error:[/] {exc}")
            return
        if done is not None:
            self.last_answer = done
            for line in _source_lines(done):
                console.print(line, style="cyan", highlight=False)
            console.print(_footer(done), style="dim")


def _source_lines(message: dict[str, Any]) -> list[str]:
    """The documents an answer cites, numbered as in the answer."""
    lines = []
    for c in message.get("meta", {}).get("citations", ()):
        where = c.get("path") or c.get("title") or "?"
        if c.get("page"):
            where += f", page {c['page']}"
        if c.get("heading"):
            where += f" — {c['heading']}"
        lines.append(f"  [{c.get('n')}] {where}")
    return lines


def _tool_line(tool: dict[str, Any]) -> str:
    mark = "✗" if tool["is_error"] else "→"
    return f"  tool {tool['name']}({tool['arguments']}) {mark} {tool['content'][:200]}"


def _footer(message: dict[str, Any]) -> str:
    meta = message.get("meta", {})
    parts = [meta.get("where", "local"), message.get("model") or ""]
    if meta.get("ttft_s") is not None:
        parts.append(f"TTFT {meta['ttft_s']:.2f} s")
    if meta.get("decode_tps"):
        parts.append(f"{meta['decode_tps']:.1f} tok/s")
    if meta.get("trimmed"):
        parts.append(f"{meta['trimmed']} earlier messages left out to fit the context")
    if message.get("status") not in (None, "complete"):
        parts.append(str(message["status"]))
    elif meta.get("finish_reason") == "length":
        parts.append("reached the answer's length limit: /continue writes more")
    elif meta.get("finish_reason") == "repetition":
        parts.append("stopped: it was repeating itself")
    return " · ".join(p for p in parts if p)


def _enable_history() -> None:
    try:
        import readline  # noqa: F401  (importing it gives input() line editing and history)
    except ImportError:  # Windows without pyreadline: plain input
        return


def reading_line(read: int, total: int) -> str:
    """What the terminal shows while a long message is read (as the page does)."""
    percent = min(99, 100 * read // total) if total else 0
    return f"reading your message… {percent}%"
