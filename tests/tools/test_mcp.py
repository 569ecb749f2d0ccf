"""MCP: a real stdio server (the mcp-server-time package) joins a registry and answers."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

import pytest

from ember.tools.mcp import McpServerConfig, McpServers
from ember.tools.registry import ToolRegistry

pytest.importorskip("mcp_server_time")


def _running_with(marker: str) -> list[str]:
    """Processes whose environment carries ``marker`` (Linux /proc)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes():
                found.append(environ.parent.name)
        except OSError:
            continue
    return found


def test_time_server_round_trip_and_clean_shutdown() -> None:
    marker = f"EMBER_MCP_TEST={uuid.uuid4().hex}"
    key, value = marker.split("=")
    config = {
        "name": "time",
        "command": [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"],
        "env": {key: value},
    }

    async def scenario() -> None:
        registry = ToolRegistry()
        servers = McpServers([config, {"name": "broken", "command": ["/nonexistent/mcp"]}])
        async with servers:
            names = await servers.start(registry)
            assert names == ["time__get_current_time", "time__convert_time"]
            assert "broken" in servers.failures
            assert "No such file" in servers.failures["broken"]
            tool = next(t for t in registry.tools() if t.name == "time__get_current_time")
            assert tool.parameters["required"] == ["timezone"]
            assert "title" not in tool.parameters

            result = await registry.call("time__get_current_time", '{"timezone": "Asia/Tokyo"}')
            assert not result.is_error
            data = json.loads(result.content)
            assert data["timezone"] == "Asia/Tokyo"
            assert data["datetime"].endswith("+09:00")

            converted = await registry.call(
                "time__convert_time",
                {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"},
            )
            assert "21:00" in converted.content

            bad = await registry.call("time__get_current_time", {"timezone": "Mars/Base"})
            assert bad.is_error
            assert "Mars/Base" in bad.content
            assert _running_with(marker)
        assert registry.names() == []
        assert not _running_with(marker)

    asyncio.run(scenario())


def test_unprefixed_names_and_start_failure_message() -> None:
    servers = McpServers(
        [McpServerConfig("dies", (sys.executable, "-c", "import sys; sys.exit('boom')"))],
        prefix=False,
    )
    assert servers.tool_name("time", "get_current_time") == "get_current_time"

    async def scenario() -> None:
        registry = ToolRegistry()
        async with servers:
            assert await servers.start(registry) == []
        assert "boom" in servers.failures["dies"]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "has space", "command": ["x"]}, "needs a name"),
        ({"name": "ok", "command": []}, "non-empty list"),
    ],
)
def test_config_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        McpServerConfig.from_dict(data)


def test_config_from_a_command_string() -> None:
    config = McpServerConfig.from_dict({"name": "t", "command": "uvx mcp-server-time"})
    assert config.command == ("uvx", "mcp-server-time")
