import type pg from "pg";
import type {
  NewToken,
  TokenRecord,
  TokenStore,
  WebhookDeliveryMark,
  WebhookDeliveryStats,
  WebhookStore,
} from "../port";
import { NewTokenSchema, tokenFromRow, validInput, webhookStatsFromRow, type Row } from "../rows";
import { tokenValues } from "../values";
import { epochMs, nonEmpty, tokenTaken, webhookMark } from "../validate";

// API tokens and webhook deliveries on PostgreSQL.

export function postgresTokenStore(pool: pg.Pool): TokenStore & WebhookStore {
  return {
    async addToken(token: NewToken): Promise<void> {
      const t = validInput(NewTokenSchema, token, `token ${String(token?.name)}`);
      const { rowCount } = await pool.query(
        `INSERT INTO tokens (name, secret_hash, owner, scopes, created_at, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        tokenValues(t),
      );
      if (rowCount === 0) throw tokenTaken(t.name);
    },

    async tokens(): Promise<TokenRecord[]> {
      const { rows } = await pool.query<Row>('SELECT * FROM tokens ORDER BY name COLLATE "C"');
      return rows.map(tokenFromRow);
    },

    async tokenByHash(secretHash: string): Promise<TokenRecord | undefined> {
      const { rows } = await pool.query<Row>("SELECT * FROM tokens WHERE secret_hash = $1", [
        nonEmpty(secretHash, "secretHash"),
      ]);
      return rows[0] ? tokenFromRow(rows[0]) : undefined;
    },

    async touchToken(name: string, at: string): Promise<void> {
      const ms = epochMs(at, "at");
      await pool.query(
        `UPDATE tokens SET last_used_at = $1, last_used_ms = $2
         WHERE name = $3 AND (last_used_ms IS NULL OR last_used_ms < $2)`,
        [at, ms, nonEmpty(name, "name")],
      );
    },

    async revokeToken(name: string, by: string, at: string): Promise<TokenRecord | undefined> {
      nonEmpty(by, "by");
      epochMs(at, "at");
      // Revoking is one-way: the update touches an unrevoked token only, then the token is read as stored.
      await pool.query(
        "UPDATE tokens SET revoked_at = $1, revoked_by = $2 WHERE name = $3 AND revoked_at IS NULL",
        [at, by, nonEmpty(name, "name")],
      );
      const { rows } = await pool.query<Row>("SELECT * FROM tokens WHERE name = $1", [name]);
      return rows[0] ? tokenFromRow(rows[0]) : undefined;
    },

    async recordWebhook(mark: WebhookDeliveryMark): Promise<void> {
      const m = webhookMark(mark);
      if (m.outcome === "verified") {
        await pool.query(
          `INSERT INTO webhook_deliveries (provider, repository, last_verified_at, last_verified_ms)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (provider, repository) DO UPDATE SET last_verified_at = excluded.last_verified_at,
             last_verified_ms = excluded.last_verified_ms
           WHERE webhook_deliveries.last_verified_ms IS NULL
             OR webhook_deliveries.last_verified_ms < excluded.last_verified_ms`,
          [m.provider, m.repository, m.at, epochMs(m.at, "at")],
        );
      } else {
        await pool.query(
          `INSERT INTO webhook_deliveries (provider, repository, refused, last_refused_at) VALUES ($1, $2, 1, $3)
           ON CONFLICT (provider, repository) DO UPDATE SET refused = webhook_deliveries.refused + 1,
             last_refused_at = greatest(coalesce(webhook_deliveries.last_refused_at, ''), excluded.last_refused_at)`,
          [m.provider, m.repository, m.at],
        );
      }
    },

    async webhookDeliveries(): Promise<WebhookDeliveryStats[]> {
      const { rows } = await pool.query<Row>(
        'SELECT * FROM webhook_deliveries ORDER BY provider COLLATE "C", repository COLLATE "C"',
      );
      return rows.map(webhookStatsFromRow);
    },
  };
}
