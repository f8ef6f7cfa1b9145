import winston from "winston";
import { jsonLine, prettyLine, type LogEntry } from "./format";
import { Redactor } from "./redact";

export { MASK, SECRET_KEY, type SerializedError } from "./redact";

/**
 * Structured logging, data first: `logger.info({ env, pending: 2 }, "preview finished")`.
 * The rest of the code depends on this interface, never on winston.
 */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  /** A logger that adds `fields` (typically env, stack, commit, runId) to every line. */
  child(fields: object): Logger;
}

export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** `json`: one object per line (daemon). `pretty`: readable lines (CLI). */
  mode: "json" | "pretty";
  /** Default `info`. At `debug`, logged errors carry their stack. */
  level?: string;
  /** Default: stdout for json, stderr for pretty (the CLI keeps stdout for its results). */
  stream?: NodeJS.WritableStream;
  /** Known secret values, read on every line because they become known at runtime (passphrase, secret config). */
  secrets?: () => Iterable<string>;
}

// Symbol.for("message") is triple-beam's MESSAGE: the finished line a winston transport writes.
const MESSAGE = Symbol.for("message");
// Field names that would overwrite winston's own keys are kept under another name.
const RESERVED = new Set(["level", "message", "timestamp"]);
const WITHHELD = "log line withheld: the list of secrets to redact could not be read";

export function createLogger(options: LoggerOptions): Logger {
  const level = parseLevel(options.level ?? "info");
  const stream = options.stream ?? (options.mode === "json" ? process.stdout : process.stderr);
  const secrets = options.secrets ?? (() => []);
  const toLine = options.mode === "json" ? jsonLine : prettyLine;

  const redactAndFormat = winston.format((info) => {
    const { level: infoLevel, message, [MESSAGE]: _message, ...fields } = info;
    info[MESSAGE] = toLine(redactEntry(infoLevel, String(message), fields, secrets, level === "debug"));
    return info;
  });

  const logger = winston.createLogger({
    levels: Object.fromEntries(LOG_LEVELS.map((name, index) => [name, index])),
    level,
    format: redactAndFormat(),
    transports: [new winston.transports.Stream({ stream })],
  });
  return new WinstonLogger(logger, {});
}

function parseLevel(level: string): LogLevel {
  const found = LOG_LEVELS.find((name) => name === level);
  if (!found) throw new Error(`unknown log level "${level}": expected one of ${LOG_LEVELS.join(", ")}`);
  return found;
}

/** Redacts one line. Fails closed: if the secret list cannot be read, the line says so and nothing else. */
function redactEntry(
  level: string,
  message: string,
  fields: Record<string, unknown>,
  secrets: () => Iterable<string>,
  stacks: boolean,
): LogEntry {
  const time = new Date();
  let redactor: Redactor;
  try {
    redactor = new Redactor({ secrets: secrets(), stacks });
  } catch {
    return { time, level, message: WITHHELD, fields: {} };
  }
  const redacted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields))
    redacted[redactor.text(key)] = redactor.field(key, value);
  return { time, level, message: redactor.text(message), fields: redacted };
}

class WinstonLogger implements Logger {
  constructor(
    private readonly logger: winston.Logger,
    private readonly bound: Record<string, unknown>,
  ) {}

  debug(fields: object, message: string): void {
    this.write("debug", fields, message);
  }

  info(fields: object, message: string): void {
    this.write("info", fields, message);
  }

  warn(fields: object, message: string): void {
    this.write("warn", fields, message);
  }

  error(fields: object, message: string): void {
    this.write("error", fields, message);
  }

  child(fields: object): Logger {
    return new WinstonLogger(this.logger, { ...this.bound, ...asFields(fields) });
  }

  private write(level: LogLevel, fields: object, message: string): void {
    // Checked first so disabled debug lines cost no redaction.
    if (!this.logger.isLevelEnabled(level)) return;
    const data = { ...this.bound, ...asFields(fields) };
    // Reserved names are renamed here, before winston merges the fields into its own record.
    const safe = Object.fromEntries(
      Object.entries(data).map(([key, value]) => [RESERVED.has(key) ? `_${key}` : key, value]),
    );
    this.logger.log({ ...safe, level, message });
  }
}

/** `logger.error(err, "...")` is common enough to accept: the error becomes the `err` field. */
function asFields(fields: object): Record<string, unknown> {
  return fields instanceof Error ? { err: fields } : { ...fields };
}
