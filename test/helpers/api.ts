import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { sha256Hex, STUB_TOKENS_FILE, type StubTokens } from "../../src/server/auth-stub";

// API tokens for tests against a real tidegate process. The one place that makes them: until the
// tokens slice is merged, the server's stub reads <dataDir>/api-tokens.json; afterwards this becomes
// `tidegate token create --name <name> --scope ...` (its printed secret returned).

export async function createApiToken(dataDir: string, name: string, scopes: string[]): Promise<string> {
  const secret = `tg_${randomBytes(24).toString("base64url")}`;
  const file = path.join(dataDir, STUB_TOKENS_FILE);
  const tokens: StubTokens = fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, "utf8")) as StubTokens)
    : [];
  tokens.push({ name, owner: `${name}@example.com`, scopes, sha256: sha256Hex(secret) });
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(tokens));
  return secret;
}

/** A JSON call to the API with a token. */
export async function apiCall(
  base: string,
  secret: string | undefined,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: {
      ...(secret ? { authorization: `Bearer ${secret}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    body: (await response.json()) as Record<string, unknown>,
  };
}
