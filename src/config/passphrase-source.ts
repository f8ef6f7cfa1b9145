import type { SecretsSource } from "./resolve";

/** Where a passphrase comes from, for messages: never the value. */
export function describePassphraseSource(source: SecretsSource): string {
  return source.kind === "env" ? `environment variable ${source.name}` : `file ${source.path}`;
}
