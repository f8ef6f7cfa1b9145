import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { z } from "zod";

import { type ConfigIssue, formatPath, safeValue, showValue } from "./errors";
import { EnvironmentFile, TidegateFile } from "./schema";

// YAML text → validated file, with every problem as a ConfigIssue. Pure: no I/O, nothing thrown;
// the caller gathers the issues of all files and decides.

export interface Position {
  line: number;
  column: number;
}

export interface ParsedFile<T> {
  file: string;
  /** The YAML as plain data; undefined when the YAML itself is broken. */
  data?: unknown;
  /** The validated content; undefined when there are issues. */
  value?: T;
  issues: ConfigIssue[];
  /** Where a key is written in the file (or its nearest written parent), for issues found later. */
  positionOf(path: readonly PropertyKey[]): Position | undefined;
}

export function parseTidegateFile(file: string, text: string): ParsedFile<TidegateFile> {
  return parseYamlFile(TidegateFile, file, text);
}

export function parseEnvironmentFile(file: string, text: string): ParsedFile<EnvironmentFile> {
  return parseYamlFile(EnvironmentFile, file, text);
}

/** Parses `text` as YAML and validates it against `schema`. */
export function parseYamlFile<S extends z.ZodType>(
  schema: S,
  file: string,
  text: string,
): ParsedFile<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const positionOf = (path: readonly PropertyKey[]): Position | undefined => {
    const offset = offsetOf(doc.contents, path);
    return offset === undefined ? undefined : at(offset);
  };
  const fail = (issues: ConfigIssue[]): ParsedFile<z.output<S>> => ({ file, issues, positionOf });

  if (doc.errors.length > 0) {
    return fail(
      doc.errors.map((error) => ({
        file,
        path: "",
        message: `YAML syntax error: ${error.message}`,
        expected: "well-formed YAML (check the indentation and the quoting)",
        ...at(error.pos[0]),
      })),
    );
  }
  let data: unknown;
  try {
    // An empty file (or one with only comments) is an empty mapping.
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    return fail([
      { file, path: "", message: `YAML error: ${(error as Error).message}`, expected: "plain YAML" },
    ]);
  }
  const result = schema.safeParse(data);
  if (result.success) return { file, data, value: result.data, issues: [], positionOf };
  const issues = result.error.issues
    .flatMap((issue) => describe(schema, data, issue))
    .map((described) => (SECRET_KEYS.has(String(described.path[0])) ? withheld(described, data) : described))
    .map(({ path, value, ...rest }) => ({
      file,
      path: formatPath(path),
      // No `value` key at all when there is nothing to show (missing, a mapping, or a secret).
      ...(value === undefined ? {} : { value }),
      ...rest,
      ...positionOf(path),
    }));
  return { file, data, issues, positionOf };
}

/**
 * Top-level keys whose values are never shown in an issue: a secret written there by mistake, in
 * place of where it comes from, must not be printed back.
 */
const SECRET_KEYS = new Set(["credentials", "secrets"]);

function withheld(described: Described, data: unknown): Described {
  const written = valueAt(data, described.path);
  const { value: _value, ...rest } = described;
  const message =
    typeof written === "string"
      ? rest.message.split(showValue(written)).join("the value written")
      : rest.message;
  return { ...rest, message };
}

interface Described {
  path: PropertyKey[];
  value?: unknown;
  expected: string;
  message: string;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
};

/** A zod issue in the words of the file: the key, the value written, what was wrong and expected. */
function describe(schema: z.ZodType, data: unknown, issue: z.core.$ZodIssue, keyIssue = false): Described[] {
  const path = [...issue.path];
  const written = keyIssue ? path.at(-1) : valueAt(data, path);
  const value = safeValue(written);
  const shown = showValue(written);
  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = allowedKeys(schema, path);
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: "unknown key",
        expected: allowed.length > 0 ? `one of the keys ${allowed.join(", ")}` : "no other keys",
      }));
    }
    case "invalid_key":
      // A bad key in a record: the inner issues describe the key itself.
      return issue.issues.flatMap((inner) => describe(schema, data, { ...inner, path }, true));
    case "invalid_type": {
      const type = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (written === undefined) return [{ path, expected: type, message: "is missing" }];
      if (written === null) return [{ path, value, expected: type, message: "is empty" }];
      const quote = issue.expected === "string" && typeof written !== "object";
      const expected = quote ? `${type} (write it in quotes: "${String(written)}")` : type;
      return [{ path, value, expected, message: `${shown} is not ${type}` }];
    }
    case "invalid_value":
      return [
        {
          path,
          value,
          expected: `one of ${issue.values.map(showValue).join(", ")}`,
          message: `${shown} is not allowed`,
        },
      ];
    case "too_small":
    case "too_big": {
      if (issue.origin === "string" && issue.code === "too_small") {
        return [{ path, value, expected: "a non-empty string", message: "is empty" }];
      }
      const small = issue.code === "too_small";
      const bound = small ? issue.minimum : issue.maximum;
      const [exclusive, inclusive] = small ? ["more than", "at least"] : ["less than", "at most"];
      const side = issue.inclusive ? inclusive : exclusive;
      const type = TYPE_NAMES[issue.origin] ?? issue.origin;
      return [{ path, value, expected: `${type} of ${side} ${bound}`, message: `${shown} is out of range` }];
    }
    case "custom": {
      const params = (issue.params ?? {}) as { expected?: string; hideValue?: boolean };
      return [
        {
          path,
          value: params.hideValue ? undefined : value,
          expected: params.expected ?? "a valid value",
          message: issue.message,
        },
      ];
    }
    case "invalid_format":
      return [
        {
          path,
          value,
          expected: `text matching ${issue.pattern ?? issue.format}`,
          message: `${shown} has the wrong form`,
        },
      ];
    default:
      return [{ path, value, expected: "a valid value", message: issue.message }];
  }
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** The keys the object schema at `path` accepts, without those it names only to refuse. */
function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  for (const key of path) current = child(unwrap(current), key);
  const object = unwrap(current);
  if (!(object instanceof z.ZodObject)) return [];
  // A refused key's JSON Schema is `not: {}` (see `secrets.passphrase`).
  const shape = object.shape as Record<string, z.ZodType>;
  return Object.keys(shape).filter((key) => z.globalRegistry.get(shape[key])?.not === undefined);
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  while (
    current instanceof z.ZodOptional ||
    current instanceof z.ZodNullable ||
    current instanceof z.ZodDefault
  ) {
    current = current.unwrap();
  }
  return current;
}

function child(schema: unknown, key: PropertyKey): unknown {
  if (schema instanceof z.ZodObject) return (schema.shape as Record<PropertyKey, unknown>)[key];
  if (schema instanceof z.ZodRecord) return schema.valueType;
  if (schema instanceof z.ZodArray) return schema.element;
  return undefined;
}

/** The offset of the deepest key of `path` written in the document. */
function offsetOf(root: unknown, path: readonly PropertyKey[]): number | undefined {
  let node = root;
  let offset: number | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key));
      if (!pair || !isNode(pair.key)) break;
      offset = pair.key.range?.[0];
      node = pair.value;
    } else if (isSeq(node) && typeof key === "number" && isNode(node.items[key])) {
      const item = node.items[key];
      offset = isNode(item) ? item.range?.[0] : offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}
