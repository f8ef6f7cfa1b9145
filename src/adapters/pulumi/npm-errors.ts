import { redactUrl, redactUrlsIn } from "../../config/url";
import { type ErrorKind, TidegateError } from "../../domain/errors";

// The one place that reads npm's words: a failed install becomes a DependencyError whose kind and
// recovery say what to do (the registry did not answer, a package is not there, the lockfile is
// stale), naming the registry and the package, with credentials masked.

/** The program's dependencies could not be installed; nothing of the program ran. */
export class DependencyError extends TidegateError {
  constructor(message: string, options: { cause?: unknown; kind?: ErrorKind; recovery?: string } = {}) {
    super(options.kind ?? "invalid", message, options);
    this.name = "DependencyError";
  }
}

const UNREACHABLE = /\b(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\b/;

/** The registry (scheme://host[:port]/) a request went to, credentials masked. */
function registryOf(text: string): string | undefined {
  const url = /(?:request to|GET) (https?:\/\/\S+?)(?:\s|$)/.exec(text)?.[1];
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return redactUrl(`${parsed.protocol}//${parsed.username ? "user@" : ""}${parsed.host}/`);
  } catch {
    return undefined;
  }
}

/**
 * npm's failure as a DependencyError. `output` is what npm printed (both streams, in order);
 * `packageDir` names the program's package folder as the person knows it.
 */
export function npmFailure(command: string, output: readonly string[], packageDir: string): DependencyError {
  const lines = output.map((line) => redactUrlsIn(line.replace(/^npm (?:error|ERR!)\s?/, "").trimEnd()));
  const text = lines.join("\n");
  const code = /^code (\S+)/m.exec(text)?.[1];
  const registry = registryOf(text);
  const where = `npm ${command} for ${packageDir}`;

  const unreachable = UNREACHABLE.exec(text)?.[1];
  if (unreachable) {
    return new DependencyError(
      `${where}: the registry ${registry ?? "(npm's registry setting)"} did not answer (${unreachable})`,
      {
        kind: "unavailable",
        recovery:
          "check that the npm registry (the `registry` of the program's .npmrc, or npm's default) is reachable from this machine, and any proxy; the next check tries again.",
      },
    );
  }
  if (code === "E404" || code === "ETARGET") {
    const pkg =
      /'([^']+)' (?:could not be found|is not in this registry)/.exec(text)?.[1] ??
      /No matching version found for (\S+?)\.?$/m.exec(text)?.[1];
    return new DependencyError(
      `${where}: ${pkg ? `package ${pkg}` : "a package"} is not in the registry ${registry ?? ""}`.trimEnd(),
      {
        kind: "not-found",
        recovery:
          "check the package's name and version in package.json and package-lock.json, and that the registry in .npmrc serves it; fix, commit and push.",
      },
    );
  }
  if (code === "E401" || code === "E403") {
    return new DependencyError(`${where}: the registry ${registry ?? ""} refused the credentials (${code})`, {
      kind: "unauthorized",
      recovery: "give npm a token the registry accepts (the program's .npmrc, from an environment variable).",
    });
  }
  if (code === "EUSAGE" && /package\.json and package-lock\.json .*in sync/.test(text)) {
    const missing = [
      ...new Set(
        [...text.matchAll(/^(?:Missing|Invalid): (.+?) (?:from|does not satisfy).*$/gm)].map((m) => m[1]),
      ),
    ];
    return new DependencyError(
      `${where}: package-lock.json is out of sync with package.json${missing.length > 0 ? ` (not in the lockfile: ${missing.slice(0, 5).join(", ")})` : ""}`,
      {
        kind: "invalid",
        recovery: `run \`npm install\` in ${packageDir}, commit package-lock.json and push.`,
      },
    );
  }
  const said = lines.filter((l) => l !== "" && !/^\s*at |^A complete log of this run/.test(l)).slice(0, 5);
  return new DependencyError(`${where} failed${code ? ` (${code})` : ""}: ${said.join("; ")}`, {
    kind: "internal",
    recovery: "run the same npm command in the program's folder to see the whole output.",
  });
}
