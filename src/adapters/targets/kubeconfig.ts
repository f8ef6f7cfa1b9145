import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { SourceError } from "./sources";

// An environment's cluster credentials. Its processes get them as KUBECONFIG naming a private file
// (not the provider's `kubernetes:kubeconfig` config): every Kubernetes tool reads KUBECONFIG — the
// provider's default and explicit providers, kubectl in a gate check — and nothing is written into
// the branch's stack config or passed on a command line.

/** A kubeconfig that was read: its contents and the values inside it that are secrets. */
export interface Kubeconfig {
  contents: string;
  /** The whole contents and each user's key, certificate, token and password. */
  secrets: string[];
}

/** Fields of a kubeconfig user that hold credentials. */
const USER_SECRETS = ["client-key-data", "client-certificate-data", "token", "password"];

/**
 * The kubeconfig a source gave: its contents, or an absolute path to a file holding them. A
 * SourceError names the source and never quotes the value (YAML errors would).
 */
export async function resolveKubeconfig(value: string, label: string): Promise<Kubeconfig> {
  const isContents = value.includes("\n") || value.startsWith("{") || value.startsWith("apiVersion");
  let contents = value;
  if (!isContents) {
    if (!path.isAbsolute(value)) {
      throw new SourceError(`${label} holds neither a kubeconfig nor an absolute path to one`);
    }
    try {
      contents = await fs.promises.readFile(value, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SourceError(`${label} names ${value}, which cannot be read (${code ?? "error"})`, {
        cause: err,
      });
    }
  }
  return { contents, secrets: [contents.trim(), ...userSecrets(contents, label)] };
}

function userSecrets(contents: string, label: string): string[] {
  let doc: unknown;
  try {
    doc = parse(contents);
  } catch {
    doc = undefined;
  }
  const config = doc as { clusters?: unknown; users?: unknown } | undefined;
  if (typeof config !== "object" || config === null || !Array.isArray(config.clusters)) {
    throw new SourceError(`${label} is not a kubeconfig (expected YAML with clusters, contexts and users)`);
  }
  const users = Array.isArray(config.users) ? (config.users as unknown[]) : [];
  return users.flatMap((entry) => {
    const user = (entry as { user?: Record<string, unknown> } | null)?.user ?? {};
    return USER_SECRETS.map((field) => user[field]).filter((v): v is string => typeof v === "string");
  });
}

/**
 * Private files holding kubeconfigs, one per environment, in a folder only this user can read;
 * removed by `dispose` (and when the process exits).
 */
export class KubeconfigFiles {
  private dir: string | undefined;
  private readonly onExit = (): void => this.dispose();

  constructor(private readonly parent: string = os.tmpdir()) {}

  /** Writes an environment's kubeconfig (replacing the last one) and returns its path. */
  write(environment: string, contents: string): string {
    if (this.dir === undefined) {
      this.dir = fs.mkdtempSync(path.join(this.parent, "tidegate-kube-"));
      fs.chmodSync(this.dir, 0o700);
      process.on("exit", this.onExit);
    }
    const file = path.join(this.dir, `${environment.replace(/[^A-Za-z0-9._-]/g, "_")}.yaml`);
    // Written beside and renamed, so a process reading it never sees half a file.
    const scratch = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(scratch, contents, { mode: 0o600 });
    fs.renameSync(scratch, file);
    return file;
  }

  dispose(): void {
    if (this.dir === undefined) return;
    fs.rmSync(this.dir, { recursive: true, force: true });
    process.removeListener("exit", this.onExit);
    this.dir = undefined;
  }
}
