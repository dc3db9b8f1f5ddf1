// Drives memwarden's MCP server with the official MCP TypeScript SDK
// (issue 14), as e2e.py does with the Python one:
//
//   node e2e.mjs stdio BINARY CONFIG TENANT
//   node e2e.mjs http URL KEY
//
// MEMWARDEN_MCP_NODE_MODULES names the node_modules holding the pinned
// @modelcontextprotocol/sdk (.ci/run installs it). Each check prints
// `ok <check>`; the last line is `N passed, M failed`; a failure exits 1.

import path from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.env.MEMWARDEN_MCP_NODE_MODULES;
const sdk = (file) => import(pathToFileURL(path.join(modules, "@modelcontextprotocol/sdk/dist/esm", file)).href);
const { Client } = await sdk("client/index.js");
const { StdioClientTransport } = await sdk("client/stdio.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");

// An access key id in AWS's documented shape (AKIA + 16 of [A-Z2-7]); not a real key.
const AWS_KEY = "AKIA" + "Z4QXK7RM2PLT6VWN";
let passed = 0;
const failures = [];

function check(name, condition, detail) {
  if (condition) {
    passed += 1;
    console.log(`ok ${name}`);
  } else {
    failures.push(name);
    console.log(`FAIL ${name}: ${JSON.stringify(detail)}`);
  }
}

const structured = (result) => result.structuredContent ?? JSON.parse(result.content[0].text);

async function exercise(client, transport) {
  check(`${transport}: initialize`, client.getServerVersion()?.name === "memwarden", client.getServerVersion());
  const tools = (await client.listTools()).tools.map((tool) => tool.name);
  check(`${transport}: list tools`, ["memory_list", "memory_read", "memory_search", "memory_propose", "reflect"].every((t) => tools.includes(t)), tools);

  const name = `release-steps-${transport}`;
  const body = `Tag the release only after the changelog is merged (${transport} TypeScript client).`;
  const change = { op: "add", name, description: "Release steps", type: "project", body };
  const accepted = structured(await client.callTool({ name: "memory_propose", arguments: { reason: "release steps", changes: [change] } }));
  check(`${transport}: propose accepted`, accepted.changes[0].verdict === "accepted", accepted);

  const secret = { op: "add", name: `keys-${transport}`, description: "Keys", type: "reference", body: `Use ${AWS_KEY} for uploads.` };
  const rejected = structured(await client.callTool({ name: "memory_propose", arguments: { reason: "keys", changes: [secret] } }));
  const codes = rejected.changes[0].rejections.map((r) => r.code);
  check(`${transport}: secret rejected`, rejected.changes[0].verdict === "rejected" && codes.includes("secret_detected"), rejected);

  const read = structured(await client.callTool({ name: "memory_read", arguments: { name } }));
  check(`${transport}: read back`, read.body === body, read);
  const found = structured(await client.callTool({ name: "memory_search", arguments: { query: "changelog release" } }));
  check(`${transport}: search finds it`, found.results.some((hit) => hit.name === name), found);
  const resource = await client.readResource({ uri: `memory://${name}` });
  check(`${transport}: resource read`, resource.contents[0].text.includes(body), resource);
}

async function stdio([binary, config, tenant]) {
  const client = new Client({ name: "memwarden-e2e", version: "1.0.0" });
  await client.connect(new StdioClientTransport({ command: binary, args: ["--config", config, "mcp", "--tenant", tenant], stderr: "inherit" }));
  await exercise(client, "stdio");
  await client.close();
}

async function http([url, key]) {
  const connect = async (bearer) => {
    const client = new Client({ name: "memwarden-e2e", version: "1.0.0" });
    const requestInit = { headers: { Authorization: `Bearer ${bearer}` } };
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit }));
    return client;
  };
  const client = await connect(key);
  await exercise(client, "http");
  await client.close();
  let refused = null;
  try {
    await (await connect("mwk_not_a_key")).close();
  } catch (err) {
    refused = err;
  }
  check("http: wrong key refused", refused !== null && String(refused).includes("unauthorized"), String(refused));
}

try {
  const [mode, ...args] = process.argv.slice(2);
  await (mode === "stdio" ? stdio(args) : http(args));
} catch (err) {
  failures.push(String(err));
  console.log(`FAIL ${err?.stack ?? err}`);
}
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
