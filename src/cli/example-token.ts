import { ENGINE } from "../app/actor";
import type { TokenService } from "../app/tokens";

// The embedded example's dashboard is one click away: `tidegate run` with no configuration makes a
// read token for it and prints where to sign in. Never for a user's configuration: their tokens are
// theirs to make (`tidegate token create`).

export const EXAMPLE_READER = "example-reader";
const OWNER = "example@tidegate.invalid";

/**
 * A fresh read token for the example. Earlier ones are revoked first (a secret printed by an earlier
 * run stops working); names are never reused, so each gets the next free `example-reader-<n>`.
 */
export async function exampleReadToken(tokens: TokenService): Promise<{ name: string; secret: string }> {
  const all = await tokens.list();
  const earlier = all.filter((t) => t.name === EXAMPLE_READER || t.name.startsWith(`${EXAMPLE_READER}-`));
  for (const token of earlier) if (token.state === "active") await tokens.revoke(token.name, ENGINE);
  const taken = new Set(all.map((t) => t.name));
  let name = EXAMPLE_READER;
  for (let n = earlier.length + 1; taken.has(name); n++) name = `${EXAMPLE_READER}-${n}`;
  const { secret } = await tokens.create({ name, owner: OWNER, scopes: ["read"] }, ENGINE);
  return { name, secret };
}

/** Where the dashboard is (the API's own address) and the token to sign in with. */
export function dashboardLine(apiUrl: string, secret: string): string {
  const origin = new URL(apiUrl).origin;
  return `Dashboard: ${origin}/  (sign in with the read token ${secret})\n`;
}
