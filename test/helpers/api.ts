import { person } from "../../src/app/actor";
import { TokenService } from "../../src/app/tokens";
import { openAuditLog, openStore, storeSpec } from "../../src/compose";
import { parseScope } from "../../src/domain/token";
import { eventually, type TidegateProcess } from "./process";

// API tokens for tests against a real tidegate process: the one place that makes them.

/**
 * A token made as `tidegate token create` makes it, on the store and audit log of `dataDir` (which a
 * running tidegate shares): the secret it returns is the one a person would copy.
 */
export async function createApiToken(dataDir: string, name: string, scopes: string[]): Promise<string> {
  const store = openStore(storeSpec({ dataDir }));
  try {
    const tokens = new TokenService({ store, audit: openAuditLog(dataDir) });
    const created = await tokens.create(
      { name, owner: `${name}@example.com`, scopes: scopes.map(parseScope) },
      person("test-admin@example.com"),
    );
    return created.secret;
  } finally {
    await store.close();
  }
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

/** The API's base URL a `tidegate run` or `serve` prints once it listens (fails when it exits first). */
export function apiUrlOf(tidegate: TidegateProcess, timeoutMs = 120_000): Promise<string> {
  const logs = () => `stderr:\n${tidegate.stderr().slice(-4000)}`;
  return eventually(
    () => `the API's URL (${logs()})`,
    timeoutMs,
    async () => {
      if (tidegate.child.exitCode !== null) throw new Error(`tidegate exited: ${logs()}`);
      return /API: (http:\/\/127\.0\.0\.1:\d+\/api\/v1)/.exec(tidegate.stdout())?.[1];
    },
  );
}
