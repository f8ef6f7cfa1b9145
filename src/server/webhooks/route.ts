import type { Env, Hono } from "hono";
import type { WebhookOutcome } from "../../app/metrics";
import type { ProviderSettings, WebhookIntake } from "../../app/webhooks";
import type { WebhookProviderName } from "../../config/resolve";
import { readCapped } from "./body";
import { readDelivery } from "./events";
import { verifyDelivery } from "./verify";

// POST /api/v1/webhooks/<provider>: no token, the signature is the authentication. In order: the
// provider must be configured, the body is read up to its cap, the signature is checked over the
// raw bytes, only then is the body parsed. A refusal says nothing an attacker could use and does
// no work but count itself.

export interface WebhookDeps {
  providers: Partial<Record<WebhookProviderName, ProviderSettings>>;
  intake: WebhookIntake;
  /** Counts each delivery of a configured provider (the metrics). */
  onDelivery?: (provider: WebhookProviderName, outcome: WebhookOutcome) => void;
}

export function mountWebhooks<E extends Env>(app: Hono<E>, base: string, deps: WebhookDeps): void {
  app.post(`${base}/webhooks/:provider`, async (c) => {
    const name = c.req.param("provider");
    const settings = Object.hasOwn(deps.providers, name)
      ? deps.providers[name as WebhookProviderName]
      : undefined;
    if (!settings) {
      await c.req.raw.body?.cancel().catch(() => undefined);
      return c.body(null, 404);
    }
    const provider = name as WebhookProviderName;
    const refuse = async () => {
      deps.onDelivery?.(provider, "refused");
      await deps.intake.refused(provider);
    };
    const read = await readCapped(c.req.raw, settings.maxBodyBytes);
    if (!read.ok) {
      await refuse();
      return c.body(null, 413);
    }
    const header = (key: string) => c.req.header(key);
    if (!verifyDelivery(provider, settings, header, read.body)) {
      await refuse();
      return c.body(null, 401);
    }
    const delivery = readDelivery(provider, header, read.body);
    if (!delivery) {
      await refuse();
      return c.body(null, 400);
    }
    const environments = await deps.intake.verified(provider, delivery);
    deps.onDelivery?.(provider, environments.length > 0 ? "accepted" : "ignored");
    return c.json({ event: delivery.event, queued: environments.length }, 202);
  });
}
