"""Drives memwarden's MCP server with the official MCP Python SDK (issue 14).

    e2e.py stdio BINARY CONFIG TENANT   spawns `BINARY --config CONFIG mcp --tenant TENANT`
    e2e.py http URL KEY                 connects to URL (`memwarden serve`'s /mcp) with KEY

Both: initialize, list tools, propose an entry that is accepted, one that is
rejected (an AWS access key), read the first back, search for it, read it as
a resource. Over HTTP also: a wrong key is refused. Each check prints `ok
<check>`; the last line is `N passed, M failed`, and any failure exits 1.
"""

import asyncio
import json
import sys

import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

TOOLS = {"memory_list", "memory_read", "memory_search", "memory_propose", "reflect"}
# An access key id in AWS's documented shape (AKIA + 16 of [A-Z2-7]); not a real key.
AWS_KEY = "AKIA" + "Z4QXK7RM2PLT6VWN"

passed = 0
failures = []


def check(name, condition, detail=""):
    global passed
    if condition:
        passed += 1
        print(f"ok {name}", flush=True)
    else:
        failures.append(name)
        print(f"FAIL {name}: {detail}", flush=True)


def structured(result):
    """The tool's structured result, else its first text block as JSON."""
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


async def exercise(session, transport):
    init = await session.initialize()
    check(f"{transport}: initialize", init.server_info.name == "memwarden", init)
    tools = await session.list_tools()
    names = {tool.name for tool in tools.tools}
    check(f"{transport}: list tools", TOOLS <= names, names)
    propose = next(tool for tool in tools.tools if tool.name == "memory_propose")
    check(f"{transport}: propose has a schema", "changes" in propose.input_schema.get("properties", {}), propose)

    name = f"deploy-order-{transport}"
    body = f"Run the database migrations before deploying the web app ({transport} client)."
    accepted = await session.call_tool(
        "memory_propose",
        {
            "reason": "learned the deploy order",
            "changes": [
                {"op": "add", "name": name, "description": "Deploy order", "type": "project", "body": body}
            ],
        },
    )
    answer = structured(accepted)
    change = answer["changes"][0]
    check(f"{transport}: propose accepted", not accepted.is_error and change["verdict"] == "accepted", answer)
    check(f"{transport}: recorded as an mcp job", isinstance(answer.get("job_id"), int), answer)

    secret = await session.call_tool(
        "memory_propose",
        {
            "reason": "remember the bucket key",
            "changes": [
                {
                    "op": "add",
                    "name": f"bucket-access-{transport}",
                    "description": "Bucket access",
                    "type": "reference",
                    "body": f"The deploy bucket key is {AWS_KEY}.",
                }
            ],
        },
    )
    answer = structured(secret)
    change = answer["changes"][0]
    codes = [r["code"] for r in change["rejections"]]
    check(f"{transport}: secret rejected", change["verdict"] == "rejected" and "secret_detected" in codes, answer)
    check(f"{transport}: rejection says what to do", "content-guard" in change["say"] and "propose again" in change["say"], change)
    check(f"{transport}: the secret is not echoed", AWS_KEY not in json.dumps(answer), answer)

    read = structured(await session.call_tool("memory_read", {"name": name}))
    check(f"{transport}: read back", read.get("body") == body, read)
    missing = await session.call_tool("memory_read", {"name": f"bucket-access-{transport}"})
    check(f"{transport}: rejected entry absent", missing.is_error and structured(missing)["error"]["code"] == "entry_not_found", missing)
    unsafe = await session.call_tool("memory_read", {"name": "../../etc/passwd"})
    check(f"{transport}: unsafe name refused", unsafe.is_error and structured(unsafe)["error"]["code"] == "unsafe_name", unsafe)

    found = structured(await session.call_tool("memory_search", {"query": "migrations deploy"}))
    check(f"{transport}: search finds it", any(hit["name"] == name for hit in found["results"]), found)

    listed = structured(await session.call_tool("memory_list", {}))
    check(f"{transport}: list shows it", any(entry["name"] == name for entry in listed["entries"]), listed)

    resource = await session.read_resource(f"memory://{name}")
    check(f"{transport}: resource read", body in resource.contents[0].text, resource)
    index = await session.read_resource("memory://MEMORY.md")
    check(f"{transport}: index resource", name in index.contents[0].text, index)


async def stdio(binary, config, tenant):
    params = StdioServerParameters(command=binary, args=["--config", config, "mcp", "--tenant", tenant])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await exercise(session, "stdio")


async def http(url, key):
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as client:
        async with streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                await exercise(session, "http")
    # A wrong key: the server refuses before any MCP message is handled,
    # so the SDK cannot even initialize, and the answer is the API's 401.
    refused = None
    bad = {"Authorization": "Bearer mwk_not_a_key"}
    try:
        async with httpx2.AsyncClient(headers=bad, timeout=30) as client:
            async with streamable_http_client(url, http_client=client) as (read, write):
                async with ClientSession(read, write) as session:
                    await asyncio.wait_for(session.initialize(), 20)
    except BaseException as err:  # the SDK raises an exception group
        refused = err
    check("http: wrong key cannot initialize", refused is not None, "the session initialized")
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}},
    }
    accept = {"Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=30) as client:
        for headers in (bad, {}):
            response = await client.post(url, json=initialize, headers=headers | accept)
            body = response.json()
            check(
                f"http: {'wrong' if headers else 'no'} key is 401 unauthorized",
                response.status_code == 401 and body["error"]["code"] == "unauthorized",
                f"{response.status_code} {body}",
            )


def main():
    mode = sys.argv[1]
    try:
        if mode == "stdio":
            asyncio.run(stdio(*sys.argv[2:5]))
        else:
            asyncio.run(http(*sys.argv[2:4]))
    except BaseException as err:
        failures.append(f"{mode}: {err!r}")
        print(f"FAIL {mode}: {err!r}", flush=True)
    print(f"{passed} passed, {len(failures)} failed", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
