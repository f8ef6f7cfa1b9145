import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type { Bind } from "./bubblewrap";
import { TidegateError } from "../../domain/errors";

/** The sandbox cannot be set up as configured; nothing ran unsandboxed. */
export class SandboxError extends TidegateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unavailable", message, {
      ...options,
      recovery: "run `tidegate doctor` to see what the sandbox needs.",
    });
    this.name = "SandboxError";
  }
}

/** The folder beside `.pulumi` where each stack's own files live when the stack runs sandboxed. */
export const ISOLATED_DIR = ".tidegate-isolated";

/** The default organization of a file backend, in its lock paths. */
const ORGANIZATION = "organization";

export interface StackStateBinds {
  readOnly: Bind[];
  readWrite: Bind[];
}

/**
 * Makes one stack's state bindable on its own in a file backend (project layout, version 1) and
 * returns what the sandbox binds. Its history, backups and locks already have a folder per stack;
 * its checkpoint does not (`stacks/<project>/` holds every stack of the project, and the engine
 * writes a temporary file there and renames it over the checkpoint, which a bind of the file alone
 * refuses). So the checkpoint files move to `.tidegate-isolated/<project>/<stack>/`, which the
 * sandbox sees as `stacks/<project>/`, and the shared folder keeps a symlink to each, so the
 * backend reads as before outside. A checkpoint written outside a sandbox (a manual `pulumi up`)
 * replaces its symlink with a file; it is adopted again here, so the newest write always wins.
 */
export function isolateStackState(backendDir: string, project: string, stack: string): StackStateBinds {
  assertPlainNames(project, stack);
  const root = path.join(backendDir, ".pulumi");
  const meta = ensureMeta(root);
  const shared = path.join(root, "stacks", project);
  const own = path.join(backendDir, ISOLATED_DIR, project, stack);
  const perStack = [
    path.join(root, "history", project, stack),
    path.join(root, "backups", project, stack),
    path.join(root, "locks", ORGANIZATION, project, stack),
  ];
  for (const dir of [shared, own, ...perStack]) fs.mkdirSync(dir, { recursive: true });
  adopt(shared, own, stack);
  return {
    readOnly: [meta, `${meta}.attrs`].filter((f) => fs.existsSync(f)).map((from) => ({ from })),
    readWrite: [{ from: own, to: shared }, ...perStack.map((from) => ({ from }))],
  };
}

/**
 * Read-only binds for the stacks of the same environment a sandboxed stack reads through stack
 * references. A referenced stack's own folder (see isolateStackState) is bound where the engine
 * looks, `stacks/<project>/`, so the stack may be deployed later in the same run and is read as
 * last written; a stack never deployed shows an empty folder and its reference fails as an unknown
 * stack, as it would outside. Several referenced stacks of one project cannot share that folder:
 * their checkpoint files are bound one by one instead, as they are now (none: not bound).
 */
export function referencedStackState(
  backendDir: string,
  references: ReadonlyArray<{ project: string; stack: string }>,
): Bind[] {
  const byProject = new Map<string, string[]>();
  for (const { project, stack } of references) {
    isolateStackState(backendDir, project, stack);
    byProject.set(project, [...new Set([...(byProject.get(project) ?? []), stack])]);
  }
  return [...byProject].flatMap(([project, stacks]) => {
    const shared = path.join(backendDir, ".pulumi", "stacks", project);
    const own = (stack: string) => path.join(backendDir, ISOLATED_DIR, project, stack);
    if (stacks.length === 1) return [{ from: own(stacks[0]!), to: shared }];
    return stacks.flatMap((stack) =>
      CHECKPOINT_FILES(stack)
        .filter((name) => fs.existsSync(path.join(own(stack), name)))
        .map((name) => ({ from: path.join(own(stack), name), to: path.join(shared, name) })),
    );
  });
}

function assertPlainNames(project: string, stack: string): void {
  for (const [what, name] of [
    ["project", project],
    ["stack", stack],
  ] as const) {
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith(".")) {
      throw new SandboxError(
        `cannot sandbox ${what} '${name}': expected a plain name (letters, digits, '_', '.', '-')`,
      );
    }
  }
}

/** The backend's meta.yaml (written here for a new backend: the sandbox sees it read-only). */
function ensureMeta(root: string): string {
  const meta = path.join(root, "meta.yaml");
  if (!fs.existsSync(meta)) {
    const stacks = path.join(root, "stacks");
    if (fs.existsSync(stacks) && fs.readdirSync(stacks).some((f) => f.endsWith(".json"))) {
      throw new SandboxError(
        `the file backend at ${path.dirname(root)} uses Pulumi's legacy layout; run 'pulumi state upgrade' on it first`,
      );
    }
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(meta, "version: 1\n");
    return meta;
  }
  const version = (parseYaml(fs.readFileSync(meta, "utf8")) as { version?: unknown } | null)?.version;
  if (version !== 1) {
    throw new SandboxError(
      `${meta}: version ${String(version)}, expected 1 (Pulumi's project layout); run 'pulumi state upgrade' on the backend first`,
    );
  }
  return meta;
}

/** `<stack>.json`, `<stack>.json.bak`, their `.attrs` and `.gz` forms: the checkpoint's files. */
function isCheckpointFile(name: string, stack: string): boolean {
  return name === `${stack}.json` || name.startsWith(`${stack}.json.`);
}

const CHECKPOINT_FILES = (stack: string): string[] =>
  ["", ".attrs", ".bak", ".bak.attrs"].map((suffix) => `${stack}.json${suffix}`);

function adopt(shared: string, own: string, stack: string): void {
  const names = new Set([
    ...CHECKPOINT_FILES(stack),
    ...fs.readdirSync(shared).filter((n) => isCheckpointFile(n, stack)),
    ...fs.readdirSync(own).filter((n) => isCheckpointFile(n, stack)),
  ]);
  for (const name of names) {
    const at = path.join(shared, name);
    const target = path.join(own, name);
    const link = path.relative(shared, target);
    const stat = fs.lstatSync(at, { throwIfNoEntry: false });
    if (stat?.isSymbolicLink() && fs.readlinkSync(at) === link) continue;
    if (stat?.isFile()) {
      // A hard link first, so the checkpoint never goes missing between the two renames.
      fs.rmSync(target, { force: true });
      fs.linkSync(at, target);
    } else if (stat) {
      throw new SandboxError(`${at} is neither a file nor tidegate's link; move it away and retry`);
    }
    const temp = `${at}.${process.pid}.link`;
    fs.rmSync(temp, { force: true });
    fs.symlinkSync(link, temp);
    fs.renameSync(temp, at);
  }
}
