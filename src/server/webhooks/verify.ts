import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type { WebhookProviderName } from "../../config/resolve";

// Each provider's signature over the raw body, checked in constant time before anything reads it.
// node:crypto rather than @octokit/webhooks-methods: that package is ESM-only and does not load
// under our CommonJS build.

/** A provider's secrets as read at start (never logged: registered with the redaction). */
export interface ProviderSecrets {
  /** The HMAC key, or GitLab's secret token. */
  secret?: string;
  /** GitLab's signing token (whsec_...) of the Standard Webhooks scheme. */
  signingSecret?: string;
}

export type HeaderOf = (name: string) => string | undefined;

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

export function hmacSha256Hex(secret: string, body: Uint8Array | string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** `given` is `<prefix><hex HMAC-SHA256 of body>`; compared in constant time. */
export function verifyHmac(
  secret: string,
  body: Uint8Array,
  given: string | undefined,
  prefix: string,
): boolean {
  if (given === undefined || !given.startsWith(prefix)) return false;
  const hex = given.slice(prefix.length).trim();
  if (!HEX_SHA256.test(hex)) return false;
  return timingSafeEqual(Buffer.from(hex, "hex"), createHmac("sha256", secret).update(body).digest());
}

/** Two secrets compared in constant time, whatever their lengths (both are hashed first). */
export function equalSecrets(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected)) && given.length === expected.length;
}

/** Whether the delivery is signed by the holder of the provider's secrets. */
export function verifyDelivery(
  provider: WebhookProviderName,
  secrets: ProviderSecrets,
  header: HeaderOf,
  body: Uint8Array,
): boolean {
  const { secret, signingSecret } = secrets;
  switch (provider) {
    case "github":
      return secret !== undefined && verifyHmac(secret, body, header("x-hub-signature-256"), "sha256=");
    case "gitea":
    case "forgejo": {
      const given = header("x-gitea-signature") ?? header("x-forgejo-signature");
      return secret !== undefined && verifyHmac(secret, body, given, "");
    }
    case "bitbucket":
      return secret !== undefined && verifyHmac(secret, body, header("x-hub-signature"), "sha256=");
    case "generic":
      return secret !== undefined && verifyHmac(secret, body, header("x-tidegate-signature"), "sha256=");
    case "gitlab":
      // Every scheme configured must pass (GitLab sends both when both are set).
      if (secret === undefined && signingSecret === undefined) return false;
      if (secret !== undefined && !equalSecrets(header("x-gitlab-token"), secret)) return false;
      return signingSecret === undefined || verifyStandardWebhook(signingSecret, header, body);
  }
}

/** The Standard Webhooks scheme (webhook-id, webhook-timestamp within 5 minutes, webhook-signature). */
function verifyStandardWebhook(signingSecret: string, header: HeaderOf, body: Uint8Array): boolean {
  const id = header("webhook-id");
  const timestamp = header("webhook-timestamp");
  const signature = header("webhook-signature");
  if (id === undefined || timestamp === undefined || signature === undefined) return false;
  try {
    new Webhook(signingSecret).verify(
      Buffer.from(body),
      {
        "webhook-id": id,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
      },
      { jsonParse: false },
    );
    return true;
  } catch {
    return false;
  }
}
