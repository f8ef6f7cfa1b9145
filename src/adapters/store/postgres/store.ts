import type { Store } from "../port";
import { postgresCoordinationStore } from "./coordination";
import { postgresGateStore } from "./gates";
import { listenForRequests } from "./listen";
import { migrate, migrateOnlyEmpty } from "./migrate";
import { postgresNotificationStore } from "./notify";
import { postgresPool, storeErrorOf, type PostgresSettings } from "./pool";
import { postgresRunStore } from "./runs";
import { postgresTokenStore } from "./tokens";

export interface PostgresStoreOptions {
  /** The clock finishRun and the schema's records read; tests pass a fixed one. */
  now?: () => Date;
  /**
   * Bring the schema up to date on first use (default). Off for the commands that only read: they
   * refuse a schema older than this code's instead of changing a store other replicas share (an
   * empty database still gets the schema).
   */
  migrate?: boolean;
}

const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/**
 * The store on a PostgreSQL database, shared by every replica on it. Opening is synchronous and
 * connects nothing: the first call connects and migrates (the `ready` promise every method awaits),
 * so a server that is down fails that call with StoreError "unavailable", and a later call tries again.
 */
export function openPostgresStore(settings: PostgresSettings, options: PostgresStoreOptions = {}): Store {
  const now = options.now ?? (() => new Date());
  const pool = postgresPool(settings);
  const timeoutMs = settings.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const fail = (error: unknown) => storeErrorOf(error, settings.url, timeoutMs);

  let ready: Promise<void> | undefined;
  const whenReady = (): Promise<void> =>
    (ready ??= (options.migrate === false ? migrateOnlyEmpty(pool, now) : migrate(pool, now)).then(
      () => undefined,
      (error: unknown) => {
        ready = undefined; // the server may be back next time
        throw error;
      },
    ));

  const methods: Omit<Store, "close"> = {
    ...postgresRunStore(pool, now),
    ...postgresGateStore(pool),
    ...postgresCoordinationStore(pool),
    ...postgresTokenStore(pool),
    ...postgresNotificationStore(pool),
  };
  const guarded = Object.fromEntries(
    Object.entries(methods).map(([name, method]) => [
      name,
      async (...args: unknown[]) => {
        try {
          await whenReady();
          return await (method as (...a: unknown[]) => Promise<unknown>)(...args);
        } catch (error) {
          throw fail(error);
        }
      },
    ]),
  ) as unknown as Omit<Store, "close">;

  // Closed with the store too, should a caller forget.
  const listeners = new Set<() => Promise<void>>();
  const watchRequests: Store["watchRequests"] = async (handlers) => {
    const stop = await listenForRequests(settings, {
      ...handlers,
      onError: (e) => handlers.onError(fail(e)),
    });
    const unwatch = async () => {
      listeners.delete(unwatch);
      await stop();
    };
    listeners.add(unwatch);
    return unwatch;
  };

  let closed: Promise<void> | undefined;
  return {
    ...guarded,
    watchRequests,
    close: () =>
      (closed ??= (async () => {
        await Promise.all([...listeners].map((unwatch) => unwatch()));
        await ready?.catch(() => undefined);
        await pool.end();
      })()),
  };
}
