export { openPostgresStore, type PostgresStoreOptions } from "./store";
export { describeServer, postgresPool, refuseInlinePassword, type PostgresSettings } from "./pool";
export { migrate, MIGRATION_LOCK } from "./migrate";
export { PG_MIGRATIONS } from "./migrations";
