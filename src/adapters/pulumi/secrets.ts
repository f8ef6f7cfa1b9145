import { createCipheriv, createDecipheriv, createHash, pbkdf2, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { parseDocument } from "yaml";
import { z } from "zod";
import { PulumiError } from "./errors";
import { assertStackFile } from "./stack-file";

// Pulumi's passphrase secrets provider (pkg/secrets/passphrase/manager.go, config/crypt.go): the
// state is "v1:<base64 salt>:v1:<base64 nonce>:<base64 ciphertext>"; the key is PBKDF2-SHA256 of
// the passphrase over the salt, 1,000,000 iterations, 32 bytes; AES-256-GCM (tag appended to the
// ciphertext) opens the ciphertext to "pulumi" when the passphrase is right.
const ITERATIONS = 1_000_000;
const KEY_BYTES = 32;
const TAG_BYTES = 16;
const PROOF = "pulumi";

const derive = promisify(pbkdf2);

// Derivation costs ~0.5 s; every run of every environment checks its stack, so keep the keys for
// the process. A memo of a pure function: nothing to reset, keyed without the passphrase itself.
const keys = new Map<string, Promise<Buffer>>();
const MAX_KEYS = 64;

function keyFor(passphrase: string, salt: Buffer): Promise<Buffer> {
  const id = createHash("sha256").update(passphrase).update("\0").update(salt).digest("hex");
  let key = keys.get(id);
  if (!key) {
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value as string);
    key = derive(passphrase, salt, ITERATIONS, KEY_BYTES, "sha256");
    keys.set(id, key);
  }
  return key;
}

interface SaltParts {
  salt: Buffer;
  nonce: Buffer;
  sealed: Buffer;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The parts of a passphrase provider's salt string, or undefined when it is not one. */
function parseSalt(state: string): SaltParts | undefined {
  const parts = state.split(":");
  if (parts.length !== 5 || parts[0] !== "v1" || parts[2] !== "v1") return undefined;
  const [, salt, , nonce, sealed] = parts as [string, string, string, string, string];
  if (![salt, nonce, sealed].every((p) => p.length > 0 && BASE64.test(p))) return undefined;
  const decoded = {
    salt: Buffer.from(salt, "base64"),
    nonce: Buffer.from(nonce, "base64"),
    sealed: Buffer.from(sealed, "base64"),
  };
  return decoded.nonce.length === 12 && decoded.sealed.length > TAG_BYTES ? decoded : undefined;
}

export function isPassphraseSalt(state: string): boolean {
  return parseSalt(state) !== undefined;
}

/** Whether the passphrase opens a passphrase provider's salt string (as Pulumi checks it). */
export async function passphraseOpens(passphrase: string, state: string): Promise<boolean> {
  const parts = parseSalt(state);
  if (!parts)
    throw new Error("not a passphrase secrets provider salt (expected v1:<salt>:v1:<nonce>:<data>)");
  const key = await keyFor(passphrase, parts.salt);
  const decipher = createDecipheriv("aes-256-gcm", key, parts.nonce);
  decipher.setAuthTag(parts.sealed.subarray(parts.sealed.length - TAG_BYTES));
  try {
    const plain = Buffer.concat([
      decipher.update(parts.sealed.subarray(0, parts.sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return plain.toString("utf8") === PROOF;
  } catch {
    return false;
  }
}

/** A new salt string for the passphrase, as `pulumi stack init` makes one. */
export async function makeEncryptionSalt(passphrase: string): Promise<string> {
  const salt = randomBytes(8);
  const nonce = randomBytes(12);
  const key = await keyFor(passphrase, salt);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  const sealed = Buffer.concat([cipher.update(PROOF, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `v1:${salt.toString("base64")}:v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
}

/** The secrets provider a stack's exported deployment records (`pulumi stack export`). */
const ExportedSecrets = z.object({
  deployment: z
    .object({
      secrets_providers: z
        .object({
          type: z.string(),
          state: z.object({ salt: z.string().optional() }).passthrough().optional(),
        })
        .optional(),
    })
    .passthrough()
    .optional(),
});

export interface BackendSecrets {
  type: string;
  /** The passphrase provider's salt string; undefined for other providers. */
  salt?: string;
}

/** The secrets provider of an exported deployment; undefined when the stack records none. */
export function backendSecrets(exported: unknown): BackendSecrets | undefined {
  const parsed = ExportedSecrets.safeParse(exported);
  const provider = parsed.success ? parsed.data.deployment?.secrets_providers : undefined;
  if (!provider) return undefined;
  return provider.type === "passphrase" && provider.state?.salt
    ? { type: provider.type, salt: provider.state.salt }
    : { type: provider.type };
}

/** A stack's settings file (`Pulumi.<stack>.yaml`) and the secrets settings it holds. */
export interface StackSettingsFile {
  file: string;
  exists: boolean;
  encryptionSalt?: string;
  secretsProvider?: string;
}

/**
 * The settings file Pulumi reads for a stack in a project folder: `Pulumi.<name>.<ext>` beside
 * the project file (or in its `stackConfigDir`), where `<name>` is the last part of the stack name.
 */
export function readStackSettings(projectDir: string, stackName: string): StackSettingsFile {
  const ext = fs.existsSync(path.join(projectDir, "Pulumi.yml")) ? "yml" : "yaml";
  const project = readYaml(path.join(projectDir, `Pulumi.${ext}`));
  const configDir =
    typeof project?.stackConfigDir === "string"
      ? path.resolve(projectDir, project.stackConfigDir)
      : projectDir;
  const name = stackName.split("/").pop() as string;
  const file = path.join(configDir, `Pulumi.${name}.${ext}`);
  if (!fs.existsSync(file)) return { file, exists: false };
  assertStackFile(file);
  const settings = readYaml(file) ?? {};
  return {
    file,
    exists: true,
    ...(typeof settings.encryptionsalt === "string" ? { encryptionSalt: settings.encryptionsalt } : {}),
    ...(typeof settings.secretsprovider === "string" ? { secretsProvider: settings.secretsprovider } : {}),
  };
}

/** Sets `encryptionsalt` in a stack's settings file, keeping the rest as written. */
export function writeEncryptionSalt(file: string, salt: string): void {
  const doc = parseDocument(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "");
  if (doc.errors.length > 0) throw new Error(`${file}: not valid YAML: ${doc.errors[0]?.message}`);
  if (doc.contents !== null) doc.set("encryptionsalt", salt);
  // Atomic: a CLI reading the stack's settings at the same time sees the old file or the new one.
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, doc.contents === null ? `encryptionsalt: ${salt}\n` : doc.toString());
  fs.renameSync(temp, file);
}

function readYaml(file: string): Record<string, unknown> | undefined {
  if (!fs.existsSync(file)) return undefined;
  const doc = parseDocument(fs.readFileSync(file, "utf8"));
  if (doc.errors.length > 0) throw new Error(`${file}: not valid YAML: ${doc.errors[0]?.message}`);
  const value: unknown = doc.toJS();
  return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
}

export interface SecretsCheck {
  passphrase: string;
  /** Where the passphrase comes from, for messages (never the value): "file /etc/tidegate/test". */
  source: string;
  /** Whose stack it is, for messages: "environment 'test' (stack test)". */
  subject: string;
  /** The deployed stack's secrets provider; undefined when the backend records none. */
  backend: BackendSecrets | undefined;
  settings: StackSettingsFile;
}

export interface SecretsVerdict {
  /** The salt the stack keeps; undefined when the stack does not use the passphrase provider. */
  salt?: string;
  /** The settings file lacks the deployed salt: write it, or Pulumi mints a new one. */
  writeSalt: boolean;
}

/**
 * Fails closed unless the passphrase opens the deployed stack's secrets provider and the committed
 * salt, and both are the same salt: otherwise Pulumi would accept a wrong passphrase for a stack
 * without secrets and replace its secrets provider in the next update.
 */
export async function verifyStackSecrets(check: SecretsCheck): Promise<SecretsVerdict> {
  const { passphrase, source, subject, backend, settings } = check;
  if (settings.secretsProvider !== undefined && settings.secretsProvider !== "passphrase") {
    return { writeSalt: false };
  }
  const deployed = backend?.type === "passphrase" ? backend.salt : undefined;
  const committed = settings.encryptionSalt;
  if (backend && backend.type !== "passphrase" && committed === undefined) return { writeSalt: false };
  if (deployed === undefined && committed === undefined) return { writeSalt: false };
  const fileName = path.basename(settings.file);
  if (passphrase === "") {
    throw new PulumiError(
      "passphrase",
      `${subject}: the passphrase from ${source} is empty; nothing was run`,
    );
  }
  if (deployed !== undefined) {
    if (!isPassphraseSalt(deployed)) {
      throw new PulumiError(
        "secrets-mismatch",
        `${subject}: the deployed stack's passphrase secrets provider has an unreadable salt; nothing was run`,
      );
    }
    if (!(await passphraseOpens(passphrase, deployed))) {
      throw new PulumiError(
        "passphrase",
        `${subject}: the passphrase from ${source} does not open the deployed stack's secrets; nothing was run`,
      );
    }
  }
  if (committed !== undefined) {
    if (!isPassphraseSalt(committed)) {
      throw new PulumiError(
        "secrets-mismatch",
        `${subject}: encryptionsalt in ${fileName} is not a passphrase provider salt (expected v1:<salt>:v1:<nonce>:<data>); nothing was run`,
      );
    }
    if (!(await passphraseOpens(passphrase, committed))) {
      throw new PulumiError(
        "passphrase",
        `${subject}: the passphrase from ${source} does not open the encryptionsalt committed in ${fileName}; nothing was run`,
      );
    }
  }
  if (deployed !== undefined && committed !== undefined && deployed !== committed) {
    throw new PulumiError(
      "secrets-mismatch",
      `${subject}: the encryptionsalt committed in ${fileName} disagrees with the deployed stack's; an update would replace the stack's secrets provider, so nothing was run`,
    );
  }
  return deployed !== undefined
    ? { salt: deployed, writeSalt: committed === undefined }
    : { salt: committed, writeSalt: false };
}
