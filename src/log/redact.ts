import { redactUrlsIn } from "../config/url";
/** What a secret is replaced with, in log lines as in reports. */
export const MASK = "[secret]";

/** Field names whose values are masked whatever they hold. */
export const SECRET_KEY = /passphrase|password|secret|token|credential|api.?key|private.?key/i;

/** Known secret values shorter than this are ignored: masking "abc" everywhere would garble every line. */
export const MIN_SECRET_LENGTH = 4;

const MAX_DEPTH = 10;

/**
 * Secret values that become known while tidegate runs (a passphrase, an environment's credentials).
 * Loggers and redactors read it at each use, so a value added later is masked from then on.
 */
export class KnownSecrets implements Iterable<string> {
  private readonly values = new Set<string>();

  constructor(initial: Iterable<string | undefined> = []) {
    for (const value of initial) if (value !== undefined) this.add(value);
  }

  add(value: string): void {
    this.values.add(value);
  }

  [Symbol.iterator](): Iterator<string> {
    return this.values.values();
  }
}

/** An error as it appears in a log line. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string | number;
  cause?: unknown;
  /** Only when the logger runs at debug level. */
  stack?: string;
}

export interface RedactOptions {
  /** Known secret values, e.g. the stack passphrase and decrypted secret config. */
  secrets: Iterable<string>;
  /** Keep error stacks (debug level); they are redacted like any other text. */
  stacks: boolean;
}

/**
 * Masks secrets in log text and data: values under secret-looking keys, every occurrence of a known
 * secret value (and its URL- and JSON-escaped forms), and credentials in URLs.
 */
export class Redactor {
  private readonly known: RegExp | undefined;
  private readonly stacks: boolean;

  constructor(options: RedactOptions) {
    this.known = knownSecretsPattern(options.secrets);
    this.stacks = options.stacks;
  }

  text(value: string): string {
    const masked = this.known ? value.replace(this.known, MASK) : value;
    return redactUrlsIn(masked);
  }

  /** A JSON-safe, redacted copy of `value`; the caller's objects are never modified. */
  value(value: unknown): unknown {
    return this.walk(value, 0, new Set());
  }

  /** A field's value, masked whole when its key looks secret. */
  field(key: string, value: unknown): unknown {
    return this.entry(key, value, 0, new Set());
  }

  error(err: Error): SerializedError {
    return this.walkError(err, 0, new Set());
  }

  private entry(key: string, value: unknown, depth: number, parents: Set<object>): unknown {
    if (SECRET_KEY.test(key) && value !== undefined && value !== null) return MASK;
    return this.walk(value, depth, parents);
  }

  private walk(value: unknown, depth: number, parents: Set<object>): unknown {
    switch (typeof value) {
      case "string":
        return this.text(value);
      case "number":
      case "boolean":
      case "undefined":
        return value;
      case "bigint":
        return value.toString();
      case "symbol":
        return this.text(value.toString());
      case "function":
        return undefined;
    }
    if (value === null) return null;
    const object = value as object;
    if (parents.has(object)) return "[circular]";
    if (depth >= MAX_DEPTH) return "[too deep]";
    if (object instanceof Error) return this.walkError(object, depth, parents);
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
    // Raw bytes are never printed: they may hold key material and are unreadable anyway.
    if (ArrayBuffer.isView(object)) return `[${object.constructor.name} ${object.byteLength} bytes]`;

    parents.add(object);
    try {
      if (Array.isArray(object)) return object.map((item) => this.walk(item, depth + 1, parents));
      if (object instanceof Set) return [...object].map((item) => this.walk(item, depth + 1, parents));
      if (object instanceof Map) {
        return this.walkEntries(
          [...object].map(([k, v]) => [String(k), v]),
          depth,
          parents,
        );
      }
      // URL and similar: log what they say they are, e.g. the href (then redacted as text).
      const toJSON = (object as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") return this.walk(toJSON.call(object), depth + 1, parents);
      return this.walkEntries(Object.entries(object), depth, parents);
    } finally {
      parents.delete(object);
    }
  }

  private walkEntries(entries: [string, unknown][], depth: number, parents: Set<object>) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of entries) out[this.text(key)] = this.entry(key, item, depth + 1, parents);
    return out;
  }

  private walkError(err: Error, depth: number, parents: Set<object>): SerializedError {
    parents.add(err);
    try {
      const out: SerializedError = { name: err.name, message: this.text(String(err.message)) };
      const code = (err as { code?: unknown }).code;
      if (typeof code === "string" || typeof code === "number") out.code = code;
      if (err.cause !== undefined) out.cause = this.walk(err.cause, depth + 1, parents);
      if (this.stacks && err.stack) out.stack = this.text(err.stack);
      return out;
    } finally {
      parents.delete(err);
    }
  }
}

/** One pattern for all known secrets, longest first so a secret containing another is masked whole. */
function knownSecretsPattern(secrets: Iterable<string>): RegExp | undefined {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret);
    // The same value may reach a line URL-encoded (in a URL) or escaped (inside a JSON string).
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  if (forms.size === 0) return undefined;
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map(escapeRegExp).join("|"), "g");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function isSerializedError(value: unknown): value is SerializedError {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const { name, message } = value as Record<string, unknown>;
  return (
    typeof name === "string" &&
    typeof message === "string" &&
    Object.keys(value).every((key) => ["name", "message", "code", "cause", "stack"].includes(key))
  );
}
