import { afterAll, beforeAll } from "vitest";
import { startPostgres, type PostgresServer } from "../../src/devenv/postgres/server";

/**
 * One real PostgreSQL server for the test file (started before its tests, stopped after), and a
 * fresh database on it per call: what each test opens is its own.
 */
export function postgresForFile(): {
  server(): PostgresServer;
  freshDatabase(prefix: string): Promise<string>;
} {
  let server: PostgresServer | undefined;
  let databases = 0;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });
  const running = (): PostgresServer => {
    if (!server) throw new Error("the PostgreSQL server is not started yet (use it inside a test)");
    return server;
  };
  return {
    server: running,
    freshDatabase: (prefix) => running().createDatabase(`${prefix}_${process.pid}_${++databases}`),
  };
}
