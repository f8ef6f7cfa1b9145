import { createHmac } from "node:crypto";

// Posts a rendered notification to a sink. The generic webhook is signed as Pulumi Cloud signs its
// webhooks: Pulumi-Webhook-Signature is the hex HMAC-SHA256 of the raw body under the shared secret.

export const SIGNATURE_HEADER = "Pulumi-Webhook-Signature";
export const DELIVERY_HEADER = "Tidegate-Webhook-ID";
export const KIND_HEADER = "Tidegate-Webhook-Kind";

const TIMEOUT_MS = 10_000;

export function sign(secret: string, body: string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

export interface Delivery {
  url: string;
  body: string;
  /** The event's key: receivers drop a repeat with the same id. */
  id: string;
  kind: string;
  secret?: string;
}

/** Sent when the sink answers 2xx; otherwise throws, naming the status (never the URL). */
export async function post(delivery: Delivery, timeoutMs = TIMEOUT_MS): Promise<void> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "tidegate",
    [DELIVERY_HEADER]: delivery.id,
    [KIND_HEADER]: delivery.kind,
  };
  if (delivery.secret !== undefined) headers[SIGNATURE_HEADER] = sign(delivery.secret, delivery.body);
  let response: Response;
  try {
    response = await fetch(delivery.url, {
      method: "POST",
      headers,
      body: delivery.body,
      redirect: "error",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `the sink could not be reached: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  await response.body?.cancel();
  if (!response.ok) throw new Error(`the sink answered ${response.status} ${response.statusText}`.trim());
}
