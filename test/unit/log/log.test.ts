import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, type LoggerOptions } from "../../../src/log";

const PASSPHRASE = "correct-horse-battery-staple";
const DB_PASSWORD = "s3cr3t-db-pa55";
const GIT_TOKEN = "ghp_abcdefghijklmnop";

/** A logger writing to memory; `lines()` returns what was written so far (winston writes synchronously). */
function capture(options: Omit<LoggerOptions, "stream">) {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const logger = createLogger({ ...options, stream });
  return { logger, output: () => text, lines: () => text.split("\n").filter(Boolean) };
}

const json = (line: string) => JSON.parse(line) as Record<string, unknown>;

describe("json mode", () => {
  it("writes one object per line with timestamp, level, message and the fields", () => {
    const { logger, lines } = capture({ mode: "json" });
    logger.info({ pending: 2, drift: 0 }, "preview finished");
    logger.warn({}, "second");

    expect(lines()).toHaveLength(2);
    const first = json(lines()[0]);
    expect(Object.keys(first).slice(0, 3)).toEqual(["timestamp", "level", "message"]);
    expect(first).toMatchObject({ level: "info", message: "preview finished", pending: 2, drift: 0 });
    expect(new Date(first.timestamp as string).toISOString()).toBe(first.timestamp);
    expect(json(lines()[1])).toMatchObject({ level: "warn", message: "second" });
  });

  it("carries child fields into every line, nested children adding theirs", () => {
    const { logger, lines } = capture({ mode: "json" });
    const env = logger.child({ env: "test", stack: "test" });
    const run = env.child({ commit: "1a2b3c4d", runId: "r-1" });
    run.info({ pending: 1 }, "preview finished");
    env.info({}, "polled");
    logger.info({}, "bare");

    expect(json(lines()[0])).toMatchObject({
      env: "test",
      stack: "test",
      commit: "1a2b3c4d",
      runId: "r-1",
      pending: 1,
    });
    expect(json(lines()[1])).toMatchObject({ env: "test", stack: "test" });
    expect(json(lines()[1])).not.toHaveProperty("runId");
    expect(json(lines()[2])).not.toHaveProperty("env");
  });

  it("filters by level and rejects an unknown level by name", () => {
    const { logger, lines } = capture({ mode: "json", level: "warn" });
    logger.info({}, "hidden");
    logger.debug({}, "hidden");
    logger.error({}, "shown");
    expect(lines().map((line) => json(line).message)).toEqual(["shown"]);
    expect(() => createLogger({ mode: "json", level: "verbose" })).toThrow(
      /unknown log level "verbose": expected one of error, warn, info, debug/,
    );
  });

  it("keeps fields named like winston's own keys without losing the line's level or message", () => {
    const { logger, lines } = capture({ mode: "json" });
    logger.info({ level: "x", message: "y", timestamp: "z" }, "real");
    expect(json(lines()[0])).toMatchObject({
      level: "info",
      message: "real",
      _level: "x",
      _message: "y",
      _timestamp: "z",
    });
  });

  it("serializes errors with name and message, and the stack only at debug level", () => {
    const info = capture({ mode: "json" });
    const err = new TypeError("boom", { cause: new Error("root") });
    info.logger.error({ err }, "check failed");
    const logged = json(info.lines()[0]).err as Record<string, unknown>;
    expect(logged).toEqual({ name: "TypeError", message: "boom", cause: { name: "Error", message: "root" } });

    const debug = capture({ mode: "json", level: "debug" });
    debug.logger.error(err, "check failed");
    const withStack = json(debug.lines()[0]).err as Record<string, unknown>;
    expect(withStack.stack).toContain("TypeError: boom");
  });

  it("survives cycles, bigints and buffers without changing the caller's objects", () => {
    const { logger, lines } = capture({ mode: "json" });
    const config: Record<string, unknown> = { name: "a", token: "abcd-efgh" };
    config.self = config;
    logger.info({ config, size: 10n, bytes: Buffer.from("key material") }, "loaded");
    expect(json(lines()[0])).toMatchObject({
      config: { name: "a", token: "[secret]", self: "[circular]" },
      size: "10",
      bytes: "[Buffer 12 bytes]",
    });
    expect(config.token).toBe("abcd-efgh");
  });
});

describe("pretty mode", () => {
  it("writes the context in a bracket and the other fields compact after the message", () => {
    const { logger, lines } = capture({ mode: "pretty" });
    logger
      .child({
        env: "test",
        stack: "test",
        commit: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
        runId: "r-42",
      })
      .info({ pending: 2, drift: 0, note: "two words" }, "preview finished");

    expect(lines()).toEqual([
      expect.stringMatching(
        /^\d\d:\d\d:\d\d info {2}\[test test@1a2b3c4d5e6f run=r-42\] preview finished {2}pending=2 drift=0 note="two words"$/,
      ),
    ]);
  });

  it("omits the bracket without context and shows an error as name and message", () => {
    const { logger, lines } = capture({ mode: "pretty" });
    logger.warn({ err: new Error("backend unreachable") }, "check failed");
    expect(lines()).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d warn {2}check failed {2}err="Error: backend unreachable"$/),
    ]);
  });

  it("prints an error's stack on indented lines at debug level", () => {
    const { logger, output } = capture({ mode: "pretty", level: "debug" });
    logger.error({ err: new Error("boom") }, "failed");
    const [first, second] = output().split("\n");
    expect(first).toMatch(/ error failed {2}err="Error: boom"$/);
    expect(second).toBe("    Error: boom");
  });
});

describe("secrets", () => {
  const secrets = () => [PASSPHRASE, DB_PASSWORD, GIT_TOKEN, "abc"];

  it.each(["json", "pretty"] as const)("never reach a %s line", (mode) => {
    const { logger, output } = capture({ mode, level: "debug", secrets });
    const child = logger.child({ env: "prod", note: `derived from ${PASSPHRASE}` });
    child.info(
      {
        config: {
          database: { url: `postgres://app:${DB_PASSWORD}@db:5432/app`, hosts: [`x${DB_PASSWORD}y`] },
        },
        remote: `https://x-access-token:${GIT_TOKEN}@github.com/acme/infra.git`,
        encoded: encodeURIComponent(`pw=${DB_PASSWORD}&x`),
        quoted: JSON.stringify({ passphrase: PASSPHRASE }),
      },
      `using passphrase ${PASSPHRASE} for stack prod`,
    );
    child.error(
      { err: new Error(`decrypt failed with ${PASSPHRASE}`, { cause: new Error(`token ${GIT_TOKEN}`) }) },
      "config failed",
    );
    child.warn({}, `fetch https://bot:${"p@ss:word"}@git.example.com/repo failed`);

    const text = output();
    for (const secret of [PASSPHRASE, DB_PASSWORD, GIT_TOKEN, "p@ss:word", "p%40ss"]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain("[secret]");
    expect(text).toContain("https://***@github.com/acme/infra.git");
    expect(text).toContain("https://***@git.example.com/repo");
  });

  it("masks values under secret-looking keys at any depth, and ignores values shorter than 4", () => {
    const { logger, lines } = capture({ mode: "json", secrets: () => ["abc"] });
    logger.info(
      {
        passphrase: "anything",
        stack: { config: { dbPassword: "pw", "aws:secretKey": { nested: 1 }, apiKey: "k", api_key: "k" } },
        privateKey: "-----BEGIN",
        private_key: "-----BEGIN",
        credentials: ["a"],
        githubToken: "t",
        unset: { password: undefined },
        user: "abc",
      },
      "abc stays",
    );
    const line = json(lines()[0]);
    expect(line).toMatchObject({
      message: "abc stays",
      passphrase: "[secret]",
      stack: {
        config: {
          dbPassword: "[secret]",
          "aws:secretKey": "[secret]",
          apiKey: "[secret]",
          api_key: "[secret]",
        },
      },
      privateKey: "[secret]",
      private_key: "[secret]",
      credentials: "[secret]",
      githubToken: "[secret]",
      user: "abc",
    });
  });

  it("reads the secret list on every line, so values learnt at runtime are masked", () => {
    const known: string[] = [];
    const { logger, output } = capture({ mode: "json", secrets: () => known });
    known.push("late-secret-value");
    logger.info({ value: "late-secret-value" }, "late-secret-value");
    expect(output()).not.toContain("late-secret-value");
  });

  it("withholds the line when the secret list cannot be read", () => {
    const { logger, lines } = capture({
      mode: "json",
      secrets: () => {
        throw new Error("store locked");
      },
    });
    logger.info({ value: PASSPHRASE }, PASSPHRASE);
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).not.toContain(PASSPHRASE);
    expect(json(lines()[0]).message).toMatch(/withheld/);
  });
});
