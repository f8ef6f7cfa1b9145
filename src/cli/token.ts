import { TidegateError } from "../domain/errors";
import { parseScope, type Scope, SCOPE_FORMS } from "../domain/token";
import { expiryFrom, type NewTokenInput, type TokenInfo, TokenService } from "../app/tokens";
import { alignColumns, clean } from "../render/format";
import { cliActor } from "./actor";
import { type Command, type CommandArgs, ExitCode, UsageError } from "./command";
import { CONFIG_HELP, CONFIG_OPTIONS, flag, storeSettings, stringOption, withConfigErrors } from "./context";

// `tidegate token create|list|revoke`: the HTTP API's tokens, kept in the data directory's store.
// Like `audit`, it needs only the data directory: no Git, no Pulumi.

const SUBCOMMANDS = ["create", "list", "revoke"] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];
const DEFAULT_EXPIRY = "90d";

export const command: Command = {
  usage:
    "token create --name <name> --scope <scope>... [--owner <email>] [--expires <d>] | list [--json] | revoke <name>",
  description: [
    "Manages the tokens the HTTP API accepts. Only a hash of each secret is stored: the secret is",
    "printed once, by create. Creations and revocations are recorded in the audit log.",
    "",
    "  tidegate token create --name ci-bot --scope read --scope approve:prod --expires 30d",
    "  tidegate token list [--json]     every token: owner, scopes, created, expires, last used, state",
    "  tidegate token revoke <name>     refuse the token from now on (its name stays taken)",
    "",
    "Options of create:",
    "  --name <name>       The token's name, recorded as the actor of what it does (e.g. ci-bot)",
    `  --scope <scope>     What it may do, repeatable: ${SCOPE_FORMS}`,
    "  --owner <email>     The person behind it (default: you, as TIDEGATE_ACTOR or Git's user.email);",
    "                      an approval through the token is theirs: they may not approve their own change",
    `  --expires <d>       When it expires: a duration like 30d or 12h, or "never" (default ${DEFAULT_EXPIRY})`,
    "  --json              Print JSON (create: { secret, token }; list: { tokens })",
    ...CONFIG_HELP,
  ].join("\n"),
  options: {
    ...CONFIG_OPTIONS,
    name: { type: "string" },
    owner: { type: "string" },
    scope: { type: "string", multiple: true },
    expires: { type: "string" },
    json: { type: "boolean" },
  },
  allowPositionals: true,
  run: (args, context) =>
    withConfigErrors(context, async () => {
      const [sub, ...rest] = parseSubcommand(args);
      const actor = cliActor(context.env);
      // Read before the store is opened: a bad command line creates nothing.
      const input =
        sub === "create"
          ? {
              name: required(args, "name"),
              owner: stringOption(args, "owner") ?? actor.id,
              scopes: scopesOf(args),
              ...expiryOf(args),
            }
          : undefined;
      const settings = storeSettings(args, "token");
      const dataDir = settings.dataDir;
      const { openAuditLog, openStore, storeSpec } = await import("../compose.js");
      const store = openStore(storeSpec(settings));
      try {
        const tokens = new TokenService({ store, audit: openAuditLog(dataDir) });
        const json = flag(args, "json");
        switch (sub) {
          case "create": {
            const { secret, token } = await tokens.create(input as NewTokenInput, actor);
            if (json) {
              context.stdout(`${JSON.stringify({ secret, token }, null, 2)}\n`);
            } else {
              context.stdout(
                `Created token ${token.name} for ${token.owner} (${token.scopes.join(", ")}), expires ${token.expiresAt ?? "never"}.\n` +
                  `${secret}\n` +
                  "Copy the secret now: it will not be shown again.\n",
              );
            }
            return ExitCode.ok;
          }
          case "list": {
            const list = await tokens.list();
            context.stdout(json ? `${JSON.stringify({ tokens: list }, null, 2)}\n` : formatTokenTable(list));
            return ExitCode.ok;
          }
          case "revoke": {
            const name = rest[0] as string;
            const token = await tokens.revoke(name, actor);
            context.stdout(
              json
                ? `${JSON.stringify(token, null, 2)}\n`
                : `Token ${name} is revoked (since ${token.revokedAt}).\n`,
            );
            return ExitCode.ok;
          }
        }
      } finally {
        await store.close();
      }
    }),
};

function parseSubcommand(args: CommandArgs): [Subcommand, ...string[]] {
  const [first, ...rest] = args.positionals;
  const sub = SUBCOMMANDS.find((name) => name === first);
  if (!sub) {
    const got = first === undefined ? "none" : `'${first}'`;
    throw new UsageError(`token takes a subcommand: ${SUBCOMMANDS.join(", ")} (got ${got})`, "token");
  }
  const wanted = sub === "revoke" ? 1 : 0;
  if (rest.length !== wanted) {
    throw new UsageError(
      sub === "revoke"
        ? "token revoke takes one token name: tidegate token revoke <name>"
        : `token ${sub} takes no arguments (got ${rest.join(" ")})`,
      "token",
    );
  }
  const createOnly = (["name", "owner", "scope", "expires"] as const).filter(
    (o) => args.values[o] !== undefined,
  );
  if (sub !== "create" && createOnly.length > 0) {
    throw new UsageError(`token ${sub} takes no --${createOnly.join(", --")}`, "token");
  }
  return [sub, ...rest];
}

function required(args: CommandArgs, name: string): string {
  const value = stringOption(args, name);
  if (value === undefined || value.trim() === "") {
    throw new UsageError(`token create needs --${name}`, "token");
  }
  return value.trim();
}

function scopesOf(args: CommandArgs): Scope[] {
  const given = args.values.scope;
  const texts = Array.isArray(given) ? given.filter((v): v is string => typeof v === "string") : [];
  if (texts.length === 0)
    throw new UsageError(`token create needs at least one --scope (${SCOPE_FORMS})`, "token");
  return texts.map((text) => {
    try {
      return parseScope(text);
    } catch (error) {
      if (error instanceof TidegateError) throw new UsageError(`--scope: ${error.message}`, "token");
      throw error;
    }
  });
}

function expiryOf(args: CommandArgs): { expiresAt?: string } {
  const text = stringOption(args, "expires") ?? DEFAULT_EXPIRY;
  try {
    const expiresAt = expiryFrom(text, new Date());
    return expiresAt === undefined ? {} : { expiresAt };
  } catch (error) {
    if (error instanceof TidegateError) throw new UsageError(error.message, "token");
    throw error;
  }
}

/** NAME, OWNER, SCOPES, CREATED, EXPIRES, LAST USED, STATE: one line per token, by name. */
export function formatTokenTable(tokens: readonly TokenInfo[]): string {
  if (tokens.length === 0) return "No tokens. Create one with `tidegate token create`.\n";
  const time = (iso: string | undefined, none: string) => (iso ? clean(iso).replace(/\.\d+Z$/, "Z") : none);
  const header = ["NAME", "OWNER", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "STATE"];
  const rows = tokens.map((t) => [
    clean(t.name),
    clean(t.owner),
    t.scopes.join(","),
    time(t.createdAt, "-"),
    time(t.expiresAt, "never"),
    time(t.lastUsedAt, "never"),
    t.state === "revoked" ? `revoked ${time(t.revokedAt, "")} by ${clean(t.revokedBy ?? "?")}` : t.state,
  ]);
  return `${alignColumns([header, ...rows]).join("\n")}\n`;
}
