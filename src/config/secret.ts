import * as fs from "node:fs";
import { TidegateError } from "../domain/errors";
import type { WebhookSecretSource } from "./resolve";

/** A secret from a variable or a file, trimmed; a clear error naming `field` when it is missing or empty. */
export function readSecret(source: WebhookSecretSource, field: string, env: NodeJS.ProcessEnv): string {
  if (source.kind === "env") {
    const value = env[source.name]?.trim();
    if (value) return value;
    throw new TidegateError("invalid", `${field}: the variable ${source.name} is not set or empty`, {
      recovery: `export ${source.name}, or remove ${field}`,
    });
  }
  let value: string;
  try {
    value = fs.readFileSync(source.path, "utf8").trim();
  } catch (error) {
    throw new TidegateError("invalid", `${field}: cannot read ${source.path}`, {
      cause: error,
      recovery: `point ${field}.file at a readable file holding the secret`,
    });
  }
  if (value) return value;
  throw new TidegateError("invalid", `${field}: ${source.path} is empty`, {
    recovery: "write the secret into the file",
  });
}
