import { GetQueueAttributesCommand, GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { loadSqlite } from "../../src/adapters/store/load-sqlite";
import { dataPaths } from "../../src/config/paths";
import { awsEnvVars } from "../../src/devenv/emulator";
import { awsClients } from "../helpers/aws";
import { createEngineFixture, type EngineFixture } from "../helpers/engine";
import { eventually } from "./servers";
import { commitVisibilityTimeout, expectNothingLost, foldersOf, STACK_TIMEOUT, SYNC } from "./stack-faults";

// The wall clock jumps across the end of a sync window. An update is not started once the window
// has closed, even when the preview was taken inside it; an update already running is let finish
// and the report says the window closed during it.

const WINDOW = { kind: "allow", schedule: "0 9 * * *", duration: "1h", timezone: "UTC" };
const INSIDE = new Date("2026-06-01T09:30:00Z");
const CLOSED = new Date("2026-06-01T11:00:00Z");
const INSIDE_NEXT_DAY = new Date("2026-06-02T09:10:00Z");

const LIBFAKETIME = [
  "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
  "/usr/lib/faketime/libfaketime.so.1",
].find((file) => fs.existsSync(file));

/** libfaketime's absolute-time format: the clock starts there and runs on. */
const fakeTime = (at: Date): string => `@${at.toISOString().slice(0, 19).replace("T", " ")}\n`;

describe("a clock jump across a sync window boundary", () => {
  const { sqs } = awsClients();
  let f: EngineFixture;
  const timeout = async (): Promise<string | undefined> => {
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: `platform-sdk-${f.stackName("test")}-events` }),
    );
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["VisibilityTimeout"] }),
    );
    return out.Attributes?.VisibilityTimeout;
  };
  beforeAll(async () => {
    const aws = awsEnvVars(inject("aws"));
    // The in-process engine reads the declared credentials from its own environment.
    vi.stubEnv("AWS_ACCESS_KEY_ID", aws.AWS_ACCESS_KEY_ID);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", aws.AWS_SECRET_ACCESS_KEY);
    f = await createEngineFixture([
      {
        name: "test",
        sync: "auto",
        drift: "report",
        gates: { windows: [WINDOW] },
        // What a separate tidegate process needs to reach the emulator (see the daemon test).
        definition: {
          config: { AWS_ENDPOINT_URL: aws.AWS_ENDPOINT_URL, AWS_REGION: aws.AWS_REGION },
          credentials: {
            read: {
              AWS_ACCESS_KEY_ID: { env: "AWS_ACCESS_KEY_ID" },
              AWS_SECRET_ACCESS_KEY: { env: "AWS_SECRET_ACCESS_KEY" },
            },
          },
        },
      },
    ]);
    f.setNow(INSIDE);
    const first = await f.engine.check("test", SYNC);
    expect(first.status, first.reason).toBe("Synced");
  }, STACK_TIMEOUT);
  afterAll(async () => {
    vi.unstubAllEnvs();
    await f?.cleanup();
  });

  it(
    "the window closes between the preview and the update: nothing is applied, the status says why",
    async () => {
      await commitVisibilityTimeout(f, "test", 45);
      // The clock jumps once the gates' verdict (taken inside the window) is in the audit log. The
      // clock is read synchronously, so the log's file is counted directly.
      const auditFile = dataPaths(foldersOf(f).data).audit;
      const judged = () =>
        (fs.existsSync(auditFile) ? fs.readFileSync(auditFile, "utf8").split("\n") : []).filter(
          (line) => line.includes('"action":"gate"') && line.includes('"environment":"test"'),
        ).length;
      const before = judged();
      f.setNow(() => (judged() > before ? CLOSED : INSIDE));

      const report = await f.engine.check("test", SYNC);
      expect(report.status).toBe("Blocked");
      expect(report.reason).toMatch(/sync window closed after the preview.*nothing was applied/);
      expect(report.reason).toMatch(/next opens/);
      expect(report.sync?.applied ?? false).toBe(false);
      expect(await timeout()).toBe("30");

      // Inside the next opening it syncs.
      f.setNow(INSIDE_NEXT_DAY);
      const next = await f.engine.check("test", SYNC);
      expect(next.status, next.reason).toBe("Synced");
      expect(await timeout()).toBe("45");
    },
    STACK_TIMEOUT,
  );

  it.skipIf(!LIBFAKETIME)(
    `the window closes while an update runs (libfaketime on a tidegate process): it is let finish, and the report says so${LIBFAKETIME ? "" : " — skipped: libfaketime is not installed (scripts/setup.sh installs faketime)"}`,
    async () => {
      await commitVisibilityTimeout(f, "test", 60);
      const clockFile = path.join(path.dirname(f.configPath), "faketime");
      fs.writeFileSync(clockFile, fakeTime(new Date("2026-06-03T09:20:00Z")));
      const db = new (loadSqlite().DatabaseSync)(dataPaths(foldersOf(f).data).store);
      const progressing = () =>
        db.prepare("SELECT status FROM statuses WHERE environment = 'test'").get()?.status === "Progressing";

      const bin = path.resolve("node_modules/.bin");
      const child = spawn(
        path.join(bin, "tsx"),
        [path.resolve("src/main.ts"), "sync", "test", "--config", f.configPath],
        {
          env: {
            ...process.env,
            ...awsEnvVars(inject("aws")),
            PATH: `${bin}${path.delimiter}${process.env.PATH}`,
            LD_PRELOAD: LIBFAKETIME,
            FAKETIME_TIMESTAMP_FILE: clockFile,
            FAKETIME_NO_CACHE: "1",
            // Timers run on the monotonic clock: only the wall clock jumps.
            FAKETIME_DONT_FAKE_MONOTONIC: "1",
          },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));

      // The update has started: the wall clock of that process jumps past the window's end.
      expect(await eventually(progressing, 240_000), output).toBe(true);
      fs.writeFileSync(clockFile, fakeTime(new Date("2026-06-03T12:00:00Z")));
      const code = await exited;
      db.close();
      expect(code, output).toBe(0);

      const report = await f.engine.store.latestReport("test");
      expect(report?.status).toBe("Synced");
      expect(report?.sync?.windowClosedDuringUpdate).toMatch(/closed while the update ran.*let finish/);
      expect(await timeout()).toBe("60");
      await expectNothingLost(f, ["test"]);
    },
    STACK_TIMEOUT,
  );
});
