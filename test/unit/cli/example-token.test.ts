import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { person } from "../../../src/app/actor";
import { TokenService } from "../../../src/app/tokens";
import { dashboardLine, exampleReadToken } from "../../../src/cli/example-token";
import { openAuditLog } from "../../../src/compose";
import { openMemoryStore } from "../../../src/adapters/store/memory";

// The embedded example's read token: a fresh one per `tidegate run`, the one before revoked.

describe("the embedded example's dashboard token", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("makes a read token, revokes the earlier one on the next run, and says where to sign in", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-example-token-"));
    dirs.push(dir);
    const audit = openAuditLog(dir);
    const tokens = new TokenService({ store: openMemoryStore(), audit });
    await tokens.create(
      { name: "ci-bot", owner: "ci@example.com", scopes: ["admin"] },
      person("ada@example.com"),
    );

    const first = await exampleReadToken(tokens);
    expect(first.name).toBe("example-reader");
    expect((await tokens.authenticate(first.secret))?.scopes).toEqual(["read"]);

    const second = await exampleReadToken(tokens);
    expect(second.name).toBe("example-reader-2");
    expect(await tokens.authenticate(first.secret)).toBeUndefined();
    expect((await tokens.authenticate(second.secret))?.name).toBe("example-reader-2");
    const third = await exampleReadToken(tokens);
    expect(third.name).toBe("example-reader-3");
    const states = Object.fromEntries((await tokens.list()).map((t) => [t.name, t.state]));
    expect(states).toEqual({
      "ci-bot": "active",
      "example-reader": "revoked",
      "example-reader-2": "revoked",
      "example-reader-3": "active",
    });
    expect(JSON.stringify(await audit.entries())).not.toContain(third.secret);

    expect(dashboardLine("http://127.0.0.1:40123/api/v1", third.secret)).toBe(
      `Dashboard: http://127.0.0.1:40123/  (sign in with the read token ${third.secret})\n`,
    );
  });
});
