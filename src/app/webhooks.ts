import type { RequestStore, WebhookDeliveryStats, WebhookStore } from "../adapters/store/port";
import type { WebhookProviderName, WebhookSecretSource, WebhookSettings } from "../config/resolve";
import { readSecret } from "../config/secret";
import { age } from "../render/format";

// Webhooks in: a verified push becomes the daemon's normal poll of the environments whose branch it
// names (through the store's requests, like an approval), and every delivery leaves a mark in the
// store for `tidegate status` and the dashboard.

export type { WebhookDeliveryStats };

/** A provider's secrets and body cap, as the receiver uses them. */
export interface ProviderSettings {
  secret?: string;
  signingSecret?: string;
  maxBodyBytes: number;
}

/**
 * Reads each configured provider's secrets (from a variable or a file) and hands each value to
 * `register` (the logger's redaction) before anything else sees it. A source that yields nothing
 * fails the start with the field named.
 */
export function loadWebhookSecrets(
  settings: WebhookSettings,
  register: (secret: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Partial<Record<WebhookProviderName, ProviderSettings>> {
  const out: Partial<Record<WebhookProviderName, ProviderSettings>> = {};
  for (const [name, provider] of Object.entries(settings) as [
    WebhookProviderName,
    WebhookSettings["github"],
  ][]) {
    if (!provider) continue;
    const read = (source: WebhookSecretSource | undefined, key: string): string | undefined => {
      if (!source) return undefined;
      const value = readSecret(source, `tidegate.yaml webhooks.${name}.${key}`, env);
      register(value);
      return value;
    };
    const secret = read(provider.secret, "secret");
    const signingSecret = read(provider.signingSecret, "signingSecret");
    out[name] = {
      ...(secret === undefined ? {} : { secret }),
      ...(signingSecret === undefined ? {} : { signingSecret }),
      maxBodyBytes: provider.maxBodyBytes,
    };
  }
  return out;
}

export interface WebhookPorts {
  store: Pick<RequestStore, "addRequest"> & Pick<WebhookStore, "recordWebhook">;
  environments: readonly { name: string; branch: string }[];
  now(): Date;
  /** A failure the caller was not waiting for (a delayed request). */
  onError(error: unknown): void;
  /**
   * Pushes for one environment within this window become at most two requests: the first at once,
   * one more at the window's end if more came (so a push during the poll is never missed).
   */
  windowMs?: number;
}

const WINDOW_MS = 2_000;

interface Pending {
  lastMs: number;
  timer?: NodeJS.Timeout;
}

/** What the receiver does once a delivery is judged. */
export class WebhookIntake {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly ports: WebhookPorts) {}

  async refused(provider: string): Promise<void> {
    await this.ports.store.recordWebhook({
      provider,
      repository: "",
      outcome: "refused",
      at: this.ports.now().toISOString(),
    });
  }

  /** Records the delivery; a push enqueues the polls of its branches' environments, which it returns. */
  async verified(
    provider: string,
    delivery: { repository: string; branches: readonly string[] },
  ): Promise<string[]> {
    const { store, environments, now } = this.ports;
    await store.recordWebhook({
      provider,
      repository: delivery.repository,
      outcome: "verified",
      at: now().toISOString(),
    });
    const names = environments.filter((env) => delivery.branches.includes(env.branch)).map((env) => env.name);
    for (const name of names) await this.push(name, `webhook ${provider} push`);
    return names;
  }

  /** Stops the delayed requests (the server is closing). */
  close(): void {
    for (const entry of this.pending.values()) clearTimeout(entry.timer);
    this.pending.clear();
  }

  private async push(environment: string, reason: string): Promise<void> {
    const windowMs = this.ports.windowMs ?? WINDOW_MS;
    const nowMs = this.ports.now().getTime();
    const entry = this.pending.get(environment);
    if (!entry || nowMs - entry.lastMs >= windowMs) {
      clearTimeout(entry?.timer);
      this.pending.set(environment, { lastMs: nowMs });
      await this.enqueue(environment, reason);
      return;
    }
    if (entry.timer) return;
    entry.timer = setTimeout(
      () => {
        entry.timer = undefined;
        entry.lastMs = this.ports.now().getTime();
        this.enqueue(environment, reason).catch((error: unknown) => this.ports.onError(error));
      },
      Math.max(0, entry.lastMs + windowMs - nowMs),
    );
    entry.timer.unref();
  }

  private async enqueue(environment: string, reason: string): Promise<void> {
    await this.ports.store.addRequest({
      environment,
      reason,
      priority: "schedule",
      at: this.ports.now().toISOString(),
    });
  }
}

/** One short line per provider and repository, for below `tidegate status`'s table; none when empty. */
export function webhookLines(stats: readonly WebhookDeliveryStats[], now: Date): string[] {
  return stats.map((s) => {
    const where = s.repository === "" ? s.provider : `${s.provider} ${s.repository}`;
    const verified = s.lastVerifiedAt
      ? `last verified delivery ${age(s.lastVerifiedAt, now)}`
      : "no verified delivery";
    return `Webhooks: ${where}: ${verified}, ${s.refused} refused`;
  });
}
