import * as fs from "node:fs";
import type { RepositoryToken } from "../../config/resolve";
import { GitCredentialsError } from "./errors";

/** What Git sends as HTTP Basic credentials to the repository's host. */
export interface GitCredentials {
  username: string;
  password: string;
}

/** A repository URL split into what Git is given and the credentials it held. */
export interface SplitUrl {
  /** The URL without userinfo for http(s); any other URL unchanged (an ssh user name is no secret). */
  url: string;
  credentials?: GitCredentials;
}

const HTTP_USERINFO = /^(https?:\/\/)([^/?#]*)@/i;

/**
 * Takes the userinfo out of an http(s) URL: `https://user:token@host/x` gives `https://host/x` and
 * user/token, decoded as Git decodes them. A token alone (`https://token@host/x`) is the user name
 * with an empty password, which is how GitHub and GitLab read it.
 */
export function splitUrlCredentials(url: string): SplitUrl {
  const match = HTTP_USERINFO.exec(url);
  if (!match) return { url };
  const userinfo = match[2];
  const bare = match[1] + url.slice(match[0].length);
  if (userinfo === "") return { url: bare };
  const colon = userinfo.indexOf(":");
  const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? "" : decode(userinfo.slice(colon + 1));
  return { url: bare, credentials: { username, password } };
}

/**
 * The token from where tidegate.yaml says it is, read at each call so a rotated token file is
 * picked up. `env` is tidegate's own environment.
 */
export function readToken(token: RepositoryToken, env: NodeJS.ProcessEnv = process.env): GitCredentials {
  const { source } = token;
  let value: string | undefined;
  if (source.kind === "env") {
    value = env[source.name];
    if (!value) {
      throw new GitCredentialsError(
        `the repository token is not set: export ${source.name} (repository.tokenEnv in tidegate.yaml)`,
      );
    }
  } else {
    try {
      value = fs.readFileSync(source.path, "utf8").trim();
    } catch (err) {
      throw new GitCredentialsError(
        `cannot read the repository token file ${source.path} (repository.tokenFile in tidegate.yaml): ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`,
      );
    }
    if (value === "") {
      throw new GitCredentialsError(
        `the repository token file ${source.path} (repository.tokenFile in tidegate.yaml) is empty`,
      );
    }
  }
  // Git's credential protocol is line-based: a newline or NUL would end or forge a field.
  if (/[\n\r\0]/.test(value)) {
    throw new GitCredentialsError(
      `the repository token from ${source.kind === "env" ? source.name : source.path} holds a line break or NUL`,
    );
  }
  return { username: token.username, password: value };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
