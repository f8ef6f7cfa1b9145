import { createHash, timingSafeEqual } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { token } from "../app/actor";
import type { Principal } from "../app/tokens";
import { parseScope } from "../domain/token";
import type { Authenticate } from "./auth";

// STUB until the tokens slice is merged (the lead replaces it with TokenService.authenticate): the
// tokens are read from <dataDir>/api-tokens.json, each stored only as the sha256 of its secret.
// Nothing but tests writes that file.

export const STUB_TOKENS_FILE = "api-tokens.json";

const StubTokens = z.array(
  z.object({
    name: z.string().min(1),
    owner: z.string().min(1),
    scopes: z.array(z.string()),
    sha256: z.string(),
  }),
);
export type StubTokens = z.infer<typeof StubTokens>;

export function sha256Hex(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function stubAuthenticator(dataDir: string): Authenticate {
  const file = path.join(dataDir, STUB_TOKENS_FILE);
  return async (secret) => {
    if (!fs.existsSync(file)) return undefined;
    const tokens = StubTokens.parse(JSON.parse(fs.readFileSync(file, "utf8")));
    const given = Buffer.from(sha256Hex(secret), "hex");
    const found = tokens.find((t) => {
      const stored = Buffer.from(t.sha256, "hex");
      return stored.length === given.length && timingSafeEqual(stored, given);
    });
    if (!found) return undefined;
    const principal: Principal = {
      name: found.name,
      owner: found.owner,
      scopes: found.scopes.map(parseScope),
      actor: token(found.name),
    };
    return principal;
  };
}
