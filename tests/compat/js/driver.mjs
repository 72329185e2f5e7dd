// Runs autumn-js calls against a billing API and prints what each answered, as JSON.
//
// stdin: {"server_url": "...", "secret_key": "...", "calls": [{"method": "customers.get", "args": {...}}]}
// stdout: {"results": [{"ok": true, "value": ...} | {"ok": false, "error": {...}}],
//          "api_versions": [the x-api-version headers the SDK sent]}
//
// The SDK validates every answer with zod and throws ResponseValidationError when a shape
// does not parse: such a throw is reported as a failed call, never hidden.
import { Autumn } from "autumn-js";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
}));

// The SDK's requests pass through here so that the test sees the version it speaks.
const apiVersions = new Set();
const sdkFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const headers = new Headers(input instanceof Request ? input.headers : init?.headers);
  apiVersions.add(headers.get("x-api-version"));
  return sdkFetch(input, init);
};

const autumn = new Autumn({ secretKey: input.secret_key, serverURL: input.server_url });

function target(method) {
  const path = method.split(".");
  const name = path.pop();
  let owner = autumn;
  for (const part of path) owner = owner[part];
  if (typeof owner?.[name] !== "function") throw new Error(`autumn-js has no method ${method}`);
  return owner[name].bind(owner);
}

function described(error) {
  return {
    name: error?.name ?? "Error",
    message: String(error?.message ?? error),
    status: error?.statusCode ?? null,
    body: error?.body ?? null,
    raw: error?.rawValue === undefined ? null : error.rawValue,
  };
}

const results = [];
for (const call of input.calls) {
  try {
    const value = await target(call.method)(call.args ?? {});
    results.push({ ok: true, value: value === undefined ? null : value });
  } catch (error) {
    results.push({ ok: false, error: described(error) });
  }
}
process.stdout.write(JSON.stringify({ results, api_versions: [...apiVersions] }));
