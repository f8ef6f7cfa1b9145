import * as path from "node:path";

// URL forms for the watched repository and the Pulumi backend. Strings, not `URL` objects: the
// scp-like form `git@host:path` is no URL at all, and `new URL` would re-encode what users wrote.

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const SCP_LIKE = /^[^\s@/:]+@[^\s@/:]+:\S+$/;

/** The accepted forms of `repository.url`, for error messages. */
export const REPOSITORY_URL_FORMS = "a local path, or a URL: file://…, https://…, ssh://… or git@host:path";

/** The accepted forms of `backend.url`, for error messages. */
export const BACKEND_URL_FORMS =
  "file://<path>, s3://<bucket>[/<prefix>] or https://api.pulumi.com (Pulumi Cloud)";

/**
 * The URL with its userinfo (user, password or token) replaced by `***`, fit for logs and reports.
 * Strings without a scheme and userinfo come back unchanged.
 */
export function redactUrl(url: string): string {
  // The userinfo runs to the last "@" before the path: passwords may hold an unencoded "@".
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1***@");
}

// `scheme://userinfo@` inside free text, up to the last `@` before the host; whitespace, quotes and
// `/` end it.
const URL_USERINFO_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'`<>]*(?:@[^\s/?#@"'`<>]*)*@/gi;

/** Masks the userinfo of every URL in a text (a log line, Git's error output). */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_USERINFO_IN_TEXT, "$1***@");
}

/** Removes the userinfo of every URL in a text, e.g. to record which repository a mirror holds. */
export function stripUrlUserinfo(text: string): string {
  return text.replace(URL_USERINFO_IN_TEXT, "$1");
}

/** Whether `repository.url` names a folder on this machine rather than a URL. */
export function isLocalPath(url: string): boolean {
  return !SCHEME.test(url) && !SCP_LIKE.test(url);
}

/** Why `url` is not an accepted repository URL, or undefined when it is. */
export function repositoryUrlProblem(url: string): string | undefined {
  if (url.trim() === "") return "is empty";
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (SCP_LIKE.test(url)) return undefined;
    // `host:path` without a user reads as a remote to git and as a file name to everyone else.
    if (/^[^/\\]*:/.test(url) && !/^[a-z]:[\\/]/i.test(url)) return "is neither a path nor a supported URL";
    return undefined;
  }
  if (scheme === "file") return url.length > "file://".length ? undefined : "names no path";
  if (scheme === "https" || scheme === "ssh") return hasHost(url) ? undefined : "names no host";
  return `uses the unsupported scheme "${scheme}://"`;
}

/** Why `url` is not an accepted Pulumi backend URL, or undefined when it is. */
export function backendUrlProblem(url: string): string | undefined {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  const rest = url.replace(SCHEME, "");
  if (scheme === "file") return rest === "" ? "names no path" : undefined;
  if (scheme === "s3") return /^[^/]+/.test(rest) ? undefined : "names no bucket";
  if (scheme === "https") return hasHost(url) ? undefined : "names no host";
  if (scheme === undefined) return "is not a backend URL";
  return `uses the unsupported scheme "${scheme}://"`;
}

export const STORE_URL_FORM =
  "postgres://user@host:5432/database (the password apart, in store.password.env or store.password.file)";

/** Why `url` is not a store URL, or undefined. A password in it is refused: this file is committed. */
export function storeUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    return `uses the unsupported scheme "${parsed.protocol}//"`;
  }
  if (parsed.hostname === "") return "names no host";
  if (parsed.password !== "") {
    return "holds a password: remove it from the URL and use store.password.env or store.password.file";
  }
  return undefined;
}

/**
 * Why `url` is not a backend URL an environment file may name, or undefined: a relative file://
 * path would be relative to nothing the reader of a committed file can see.
 */
export function environmentBackendUrlProblem(url: string): string | undefined {
  const problem = backendUrlProblem(url);
  if (problem !== undefined) return problem;
  const file = /^file:\/\/(.*)$/i.exec(url)?.[1];
  return file !== undefined && !path.isAbsolute(file) && !file.startsWith("~")
    ? "is a relative file:// path"
    : undefined;
}

/** The repository URL with a local path made absolute against `baseDir`; URLs unchanged. */
export function resolveRepositoryUrl(url: string, baseDir: string): string {
  return isLocalPath(url) ? path.resolve(baseDir, url) : url;
}

/** The backend URL with a relative `file://` path made absolute against `baseDir`. */
export function resolveBackendUrl(url: string, baseDir: string): string {
  const match = /^file:\/\/(.*)$/i.exec(url);
  // `~` is Pulumi's own shorthand for the home folder: left for Pulumi to expand.
  if (!match || path.isAbsolute(match[1]) || match[1].startsWith("~")) return url;
  return `file://${path.resolve(baseDir, match[1])}`;
}

/** The `file://` URL of a folder. */
export function fileUrl(dir: string): string {
  return `file://${dir}`;
}

function hasHost(url: string): boolean {
  try {
    return new URL(url).hostname !== "";
  } catch {
    return false;
  }
}
