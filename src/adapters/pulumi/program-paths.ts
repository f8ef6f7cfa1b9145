import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { TidegateError } from "../../domain/errors";
import { packageDirOf } from "./dependencies";

// The program that runs must be the program the gates judged: the tree digest covers the project
// folder and the policy pack folders as Git holds them, and Git holds a symbolic link as its target's
// name, not the target's files. So, on the checked-out commit and before anything is installed or
// run, every path the run follows must stay inside the folder the digest covers.

export type ProgramPathProblem =
  /** The project or pack folder is, or passes through, a symbolic link. */
  | "symlinked-folder"
  /** A path (folder, `main`, plugin path, ...) resolves outside the folder it belongs to. */
  | "outside"
  /** A symbolic link inside the folder points outside it (a program could `require` through it). */
  | "escaping-link"
  /** The project names its own backend; tidegate chooses where state lives. */
  | "backend"
  /** The project file cannot be read as YAML, so its paths cannot be checked. */
  | "unreadable";

/** A path the run would follow out of the program the gates judged; nothing was installed or run. */
export class ProgramPathError extends TidegateError {
  override readonly name = "ProgramPathError";

  constructor(
    /** What is wrong with the path; `kind` is always invalid. */
    readonly problem: ProgramPathProblem,
    /** The file and field that holds the path, e.g. "stacks/app/Pulumi.yaml: main". */
    readonly where: string,
    /** The offending path, as written (or the link's repository-relative path). */
    readonly path: string,
    /** What was expected instead. */
    readonly expected: string,
    what: string,
  ) {
    super("invalid", `${where} '${path}' ${what}; expected ${expected}. Nothing was installed or run`, {
      recovery: `change ${where} on the branch to ${expected}, commit and push.`,
    });
  }
}

/** The part of an environment definition whose paths a run follows. */
export interface ProgramDefinition {
  /** The file defining it, for messages, e.g. "environments/test.yaml". */
  file?: string;
  /** The Pulumi project folder, repository-relative. */
  project: string;
  gates: { policyPacks: readonly string[] };
}

/**
 * Throws a ProgramPathError when the checkout at `checkoutDir` would run anything from outside the
 * environment's project folder and policy pack folders (see ProgramPathProblem). A folder that does
 * not exist is let through: the step that needs it reports it.
 */
export function assertProgramPaths(checkoutDir: string, env: ProgramDefinition): void {
  const definition = env.file ?? "environment definition";
  const project = checkFolder(checkoutDir, env.project, `${definition}: project`, "project");
  if (project) {
    // Every name the CLI or the Automation API reads project settings from (JSON is YAML too).
    for (const file of ["Pulumi.yaml", "Pulumi.yml", "Pulumi.json"]) checkProjectFile(project, file);
    checkLinks(project);
  }
  env.gates.policyPacks.forEach((pack, i) =>
    assertPolicyPackPaths(checkoutDir, pack, `${definition}: gates.policyPacks[${i}]`),
  );
}

/** assertProgramPaths for one policy pack folder (repository-relative), e.g. one named at an older commit. */
export function assertPolicyPackPaths(checkoutDir: string, pack: string, where = "policy pack"): void {
  const folder = checkFolder(checkoutDir, pack, where, "policy pack");
  if (!folder) return;
  checkProjectFile(folder, "PulumiPolicy.yaml");
  checkLinks(folder);
}

/** A folder the checks below work in: its repository-relative name and its real path. */
interface Folder {
  checkoutReal: string;
  relative: string;
  dir: string;
  real: string;
  /** "project folder stacks/app" or "policy pack folder policies/base". */
  label: string;
}

function checkFolder(
  checkoutDir: string,
  relative: string,
  where: string,
  kind: "project" | "policy pack",
): Folder | undefined {
  const checkoutReal = fs.realpathSync(checkoutDir);
  const expected = "a folder inside the repository, not a symbolic link";
  const outside = () =>
    new ProgramPathError("outside", where, relative, expected, "resolves outside the repository checkout");
  const dir = path.resolve(checkoutReal, relative);
  if (!inside(dir, checkoutReal)) throw outside();
  const parts = path.relative(checkoutReal, dir).split(path.sep).filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const at = path.join(checkoutReal, ...parts.slice(0, i));
    const stat = lstatOrUndefined(at);
    if (!stat) return undefined;
    if (stat.isSymbolicLink()) {
      const link = `(to '${fs.readlinkSync(at)}') in the checked-out commit`;
      const problem =
        i === parts.length
          ? `is a symbolic link ${link}`
          : `passes through the symbolic link ${parts.slice(0, i).join("/")} ${link}`;
      throw new ProgramPathError("symlinked-folder", where, relative, expected, problem);
    }
    if (!stat.isDirectory()) return undefined;
  }
  const real = fs.realpathSync(dir);
  if (!inside(real, checkoutReal)) throw outside();
  const name = parts.join("/") || ".";
  return { checkoutReal, relative: name, dir, real, label: `${kind} folder ${name}` };
}

/** The project (or policy pack) file's paths: each must stay inside its folder. */
function checkProjectFile(folder: Folder, name: string): void {
  const file = path.join(folder.dir, name);
  if (!lstatOrUndefined(file)?.isFile()) return;
  const shown = folder.relative === "." ? name : `${folder.relative}/${name}`;
  let data: unknown;
  try {
    data = parseYaml(fs.readFileSync(file, "utf8"));
  } catch (err) {
    // Unchecked paths are not let through, even if Pulumi might read the file differently.
    throw new ProgramPathError(
      "unreadable",
      folder.label,
      shown,
      "a valid YAML file",
      `cannot be read as YAML (${err instanceof Error ? err.message.split("\n", 1)[0] : String(err)})`,
    );
  }
  if (!isRecord(data)) return;
  const check = (field: string, value: unknown, tokens = false) => {
    if (typeof value !== "string") return;
    for (const candidate of tokens ? value.split(/\s+/).flatMap((t) => t.split("=")) : [value]) {
      checkPath(folder, `${shown}: ${field}`, candidate, value);
    }
  };

  check("main", data.main);
  check("stackConfigDir", data.stackConfigDir);
  // Before stackConfigDir existed, a string `config` named the stack config folder.
  check("config", data.config);
  if (isRecord(data.backend) && data.backend.url !== undefined) {
    throw new ProgramPathError(
      "backend",
      `${shown}: backend.url`,
      String(data.backend.url),
      "no backend.url: tidegate chooses the backend (tidegate.yaml backend.url)",
      "names the project's own backend",
    );
  }
  if (isRecord(data.runtime) && isRecord(data.runtime.options)) {
    // Options such as nodeargs (`--require <file>`), virtualenv, binary or tsconfig name files.
    for (const [key, value] of Object.entries(data.runtime.options))
      check(`runtime.options.${key}`, value, true);
  }
  if (isRecord(data.plugins)) {
    for (const [kind, list] of Object.entries(data.plugins)) {
      if (!Array.isArray(list)) continue;
      list.forEach((plugin: unknown, i) => {
        if (isRecord(plugin)) check(`plugins.${kind}[${i}].path`, plugin.path);
      });
    }
  }
  if (isRecord(data.packages)) {
    for (const [key, value] of Object.entries(data.packages)) {
      check(`packages.${key}`, isRecord(value) ? value.source : value);
    }
  }
}

/** A path as written in `where`: relative to the folder, it must stay inside it, links resolved. */
function checkPath(folder: Folder, where: string, candidate: string, written: string): void {
  if (candidate === "") return;
  let target = candidate;
  if (/^file:/i.test(candidate)) {
    try {
      target = fileURLToPath(candidate);
    } catch {
      target = candidate.replace(/^file:(\/\/)?/i, "");
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(candidate)) {
    return; // A URL (a package from a registry or Git host), not a path on this machine.
  }
  const expected = `a relative path inside the ${folder.label}`;
  const resolved = path.resolve(folder.dir, target);
  const problem = `resolves outside the ${folder.label}`;
  if (!inside(resolved, folder.dir) || !inside(realPrefix(resolved), folder.real)) {
    throw new ProgramPathError("outside", where, written, expected, problem);
  }
}

/** Every symbolic link under the folder must point inside it, but the dependency link tidegate replaces. */
function checkLinks(folder: Folder): void {
  let packageLink: string | undefined;
  try {
    packageLink = path.join(packageDirOf(folder.dir), "node_modules");
  } catch {
    packageLink = undefined; // No package.json: the install step reports it.
  }
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const at = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(at);
      if (!entry.isSymbolicLink()) continue;
      // Installing dependencies replaces this one link with tidegate's own, before anything runs.
      if (at === packageLink) continue;
      const written = fs.readlinkSync(at);
      const target = realPrefix(path.resolve(dir, written));
      if (!inside(path.resolve(dir, written), folder.dir) || !inside(target, folder.real)) {
        const relative = path.relative(folder.checkoutReal, at).split(path.sep).join("/");
        throw new ProgramPathError(
          "escaping-link",
          `symbolic link ${relative}`,
          written,
          `links that stay inside the ${folder.label}`,
          `points outside the ${folder.label}`,
        );
      }
    }
  };
  walk(folder.dir);
}

/** The real path of `p`, or of its longest existing ancestor joined with the rest (for a path not yet there). */
function realPrefix(p: string): string {
  let rest = "";
  for (let at = p; ; at = path.dirname(at)) {
    try {
      return path.join(fs.realpathSync(at), rest);
    } catch {
      if (path.dirname(at) === at) return p;
      rest = path.join(path.basename(at), rest);
    }
  }
}

function inside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
