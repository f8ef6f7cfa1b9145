import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { currentActor } from "../../src/cli/actor";
import { ENGINE_ACTOR, engineActor } from "../../src/domain/actor";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-identity-"));
  dirs.push(dir);
  return dir;
}

/** An environment where Git sees no global or system configuration (and no TIDEGATE_ACTOR). */
function isolatedEnv(): NodeJS.ProcessEnv {
  const { TIDEGATE_ACTOR: _actor, GIT_DIR: _dir, GIT_WORK_TREE: _tree, ...rest } = process.env;
  return { ...rest, HOME: tempDir(), GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };
}

describe("currentActor", () => {
  it("takes TIDEGATE_ACTOR first, trimmed", () => {
    expect(currentActor({ ...isolatedEnv(), TIDEGATE_ACTOR: "  ada@example.com " })).toBe("ada@example.com");
  });

  it("takes Git's user.email next, as Git sees it from cwd", () => {
    const repo = tempDir();
    const env = isolatedEnv();
    execFileSync("git", ["init", "-q", repo], { env });
    execFileSync("git", ["config", "user.email", "bob@example.com"], { cwd: repo, env });
    expect(currentActor(env, repo)).toBe("bob@example.com");
    expect(currentActor({ ...env, TIDEGATE_ACTOR: "" }, repo)).toBe("bob@example.com");
  });

  it("falls back to the OS user when Git has no email or is not there", () => {
    const user = os.userInfo().username;
    const env = isolatedEnv();
    expect(currentActor(env, tempDir())).toBe(user);
    expect(currentActor({ ...env, PATH: tempDir() }, tempDir())).toBe(user);
    expect(currentActor(env, path.join(tempDir(), "gone"))).toBe(user);
  });
});

describe("engineActor", () => {
  it("names the engine on a host", () => {
    expect(engineActor("ci-runner-1")).toBe("tidegate@ci-runner-1");
    expect(engineActor("")).toBe("tidegate@localhost");
    expect(ENGINE_ACTOR).toBe(`tidegate@${os.hostname()}`);
  });
});
