import { defineConfig } from "vitest/config";
import { Sequencer } from "./test/sequencer.mjs";

// Five projects: unit tests are pure and fast; contract tests run one suite per port against every
// implementation (the store: memory, a real SQLite file and a real PostgreSQL server; the audit
// log: a file and PostgreSQL); integration and service tests run the real Pulumi engine, real Git
// repositories and a real AWS emulator, provisioned by the global setup, in two lines side by side
// (one group of two workers, after the group of the other three; see test/sequencer.ts);
// fault tests point real Git at misbehaving servers (silent, dying, stalling) on 127.0.0.1.
// Integration files that run in the second line (see the "service" project).
const SERVICE = [
  "test/integration/api.test.ts",
  "test/integration/dashboard.test.ts",
  "test/integration/webhooks.test.ts",
  "test/integration/notifications.test.ts",
  "test/integration/metrics.test.ts",
  "test/integration/sweep.test.ts",
  "test/integration/token-cli.test.ts",
  "test/integration/doctor.test.ts",
  "test/integration/package.test.ts",
  "test/integration/replicas.test.ts",
  "test/integration/replicas-pg.test.ts",
  "test/integration/replicas-notify.test.ts",
  "test/integration/s3-backend.test.ts",
  "test/integration/kubernetes/**/*.test.ts",
];

// Vitest runs every project whose files run one at a time (fileParallelism: false) in a single
// sequential group: two such projects never run side by side. Integration and service therefore
// share a group order and two workers, and the sequencer hands them out in turns.
const LINE = { sequence: { groupOrder: 1 }, maxWorkers: 2 } as const;

export default defineConfig({
  test: {
    sequence: { sequencer: Sequencer },
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "contract",
          include: ["test/contract/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          exclude: SERVICE,
          globalSetup: ["test/integration/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 900_000,
          // The engine is CPU-heavy: the sequencer puts its files beside service files where it can.
          ...LINE,
        },
      },
      {
        // The same kind of tests, one at a time too, as a second line beside "integration":
        // these files spend much of their time waiting (on processes, HTTP, a browser, a cluster),
        // and none shares state with another file. Its own emulator (global setup).
        test: {
          name: "service",
          include: SERVICE,
          globalSetup: ["test/integration/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 900_000,
          ...LINE,
        },
      },
      {
        test: {
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          // Faults against a stack (and racing tidegate processes) need the engine and the emulator.
          globalSetup: ["test/integration/global-setup.ts"],
          hookTimeout: 900_000,
          // Each fault waits out a real limit of a few seconds; a loaded machine stretches that.
          testTimeout: 120_000,
          // The files share nothing: each has its own servers, ports and folders.
          fileParallelism: true,
        },
      },
    ],
  },
});
