// Parses billing API answers with the zod schema autumn-js itself parses each route's answer
// with, for the suite's after-answer check (tests/compat/autumn_openapi/js_models.py).
//
// One process serves a whole test session. Each stdin line is {"path": "/v1/...", "status":
// 200, "body": <the JSON answer>}; each stdout line answers it with {"known": false} (autumn-js
// has no schema for that path and status) or {"known": true, "problems": ["$.where: why"]}.
//
// Which schema goes with which path is read from the SDK's own bundle: each operation builds
// its request path with pathToFunc("/v1/...") and then matches the answer with
// json(<status>, <Name>$inboundSchema); the bundle exports every such schema by name.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as sdk from "autumn-js";

function schemasByRoute() {
  const bundle = readFileSync(fileURLToPath(import.meta.resolve("autumn-js")), "utf8");
  const routes = new Map();
  const operations = bundle.split(/pathToFunc\("/).slice(1);
  for (const operation of operations) {
    const path = operation.slice(0, operation.indexOf('"'));
    if (!path.startsWith("/v1/")) continue;
    for (const [, status, name] of operation.matchAll(/json\((\d+), (\w+)\$inboundSchema\)/g)) {
      const schema = sdk[`${name}$inboundSchema`];
      if (schema === undefined) throw new Error(`autumn-js exports no ${name}$inboundSchema`);
      routes.set(`${path} ${status}`, schema);
    }
  }
  return routes;
}

// zod nests the issues of every branch of a union, with paths relative to the union's own;
// the leaves say what is wrong, and where.
function leaves(issues, prefix = [], found = []) {
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path ?? [])];
    if (Array.isArray(issue.errors) && issue.errors.length > 0) {
      for (const branch of issue.errors) leaves(branch, path, found);
    } else {
      found.push({ ...issue, path });
    }
  }
  return found;
}

function where(path) {
  return "$" + path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

function problems(schema, body) {
  const parsed = schema.safeParse(body);
  if (parsed.success) return [];
  const lines = leaves(parsed.error.issues).map((issue) => {
    const expected = issue.expected === undefined ? "" : ` (expected ${issue.expected})`;
    return `${where(issue.path ?? [])}: ${issue.code}${expected}: ${issue.message}`;
  });
  return [...new Set(lines)].slice(0, 10);
}

const routes = schemasByRoute();
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  let answer;
  try {
    const { path, status, body } = JSON.parse(line);
    const schema = routes.get(`${path} ${status}`);
    answer = schema === undefined ? { known: false } : { known: true, problems: problems(schema, body) };
  } catch (error) {
    answer = { known: true, problems: [`$: the parser itself failed: ${String(error)}`] };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
