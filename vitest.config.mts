import { defineConfig } from "vitest/config";

// Three projects: unit tests are pure and fast; contract tests run one suite per port against
// every implementation (the store: memory and a real SQLite file); integration tests run the real
// Pulumi engine, real Git repositories and a real AWS emulator, provisioned once by the global setup.
export default defineConfig({
  test: {
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
          globalSetup: ["test/integration/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 900_000,
          // The engine is CPU-heavy and shares one emulator; files run one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
