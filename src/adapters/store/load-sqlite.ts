type Sqlite = typeof import("node:sqlite");

const SQLITE_WARNING = /^SQLite is an experimental feature/;

/**
 * Loads `node:sqlite` without its one-time ExperimentalWarning, which would otherwise reach every
 * user's terminal. Only that warning is dropped, and only while the module loads; any other warning
 * passes through, and `process.emitWarning` is restored before this returns.
 */
export function loadSqlite(): Sqlite {
  const emitWarning = process.emitWarning;
  const filtered = (warning: string | Error, ...rest: unknown[]): void => {
    const type =
      warning instanceof Error
        ? warning.name
        : typeof rest[0] === "string"
          ? rest[0]
          : (rest[0] as { type?: unknown } | undefined)?.type;
    const message = typeof warning === "string" ? warning : warning.message;
    if (type === "ExperimentalWarning" && SQLITE_WARNING.test(message)) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  };
  process.emitWarning = filtered as typeof process.emitWarning;
  try {
    return process.getBuiltinModule("node:sqlite");
  } finally {
    process.emitWarning = emitWarning;
  }
}
