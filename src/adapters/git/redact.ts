import { redactUrlsIn, stripUrlUserinfo } from "../../config/url";

/** What a credential is replaced with. */
export const MASK = "***";

/** Known secret values shorter than this are not masked: masking "git" everywhere would garble every line. */
const MIN_SECRET_LENGTH = 8;

// An HTTP Authorization header as Git may echo it (e.g. from `http.extraHeader`).
const AUTHORIZATION = /(authorization:\s*(?:basic|bearer|token)?\s*)[^\s"'`]+/gi;
// Environment variables whose values are credentials, or point at what hands them out.
const SECRET_ENV_KEY = /pass|token|secret|auth|cred|key|^git_config_value_\d+$/i;

/** Masks credentials in text: URL userinfo, Authorization headers, and every known secret value. */
export type Redact = (text: string) => string;

/**
 * A redactor for one repository: the credentials in its URL and the secret-looking values of the
 * extra environment Git runs with (GIT_ASKPASS, tokens, `GIT_CONFIG_VALUE_<n>` headers).
 */
export function redactorFor(url: string, env: Record<string, string> = {}): Redact {
  return redactor([...urlSecrets(url), ...envSecrets(env)]);
}

export function redactor(secrets: Iterable<string>): Redact {
  const known = [...new Set(secrets)]
    .filter((secret) => secret.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length); // longest first, so a secret containing another goes whole
  return (text) => {
    let out = text;
    for (const secret of known) out = out.split(secret).join(MASK);
    return redactUrlsIn(out).replace(AUTHORIZATION, `$1${MASK}`);
  };
}

/** The URL without its userinfo, e.g. to record which repository a mirror holds. */
export function withoutCredentials(url: string): string {
  return stripUrlUserinfo(url);
}

/**
 * The password of a URL, raw and decoded; the user name too when there is no password, since a
 * token is often passed alone as the user name (`https://<token>@host/...`).
 */
export function urlSecrets(url: string): string[] {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url);
  if (!match) return [];
  const userinfo = match[1];
  const colon = userinfo.indexOf(":");
  const secret = colon === -1 ? userinfo : userinfo.slice(colon + 1);
  return secret === "" ? [] : [secret, safeDecode(secret)];
}

export function envSecrets(env: Record<string, string>): string[] {
  return Object.entries(env)
    .filter(([key, value]) => SECRET_ENV_KEY.test(key) && value !== "")
    .map(([, value]) => value);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
