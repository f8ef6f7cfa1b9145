import { describe, expect, it } from "vitest";
import { secondHandle, storeError, useStore, type StoreFactory } from "./harness";

// Webhook deliveries: per provider and repository, the last verified one and the refused count.

const mark = (provider: string, repository: string, outcome: "verified" | "refused", at: string) => ({
  provider,
  repository,
  outcome,
  at,
});

export function webhooksContract(factory: StoreFactory): void {
  const handles = useStore(factory);

  describe("webhook deliveries", () => {
    it("keep the latest verified time and count the refused ones, by provider then repository", async (ctx) => {
      const store = await handles.open();
      expect(await store.webhookDeliveries()).toEqual([]);
      await store.recordWebhook(mark("github", "acme/infra", "verified", "2025-03-04T09:00:02.000Z"));
      await store.recordWebhook(mark("github", "acme/infra", "verified", "2025-03-04T09:00:01.000Z"));
      await store.recordWebhook(mark("github", "", "refused", "2025-03-04T09:00:03.000Z"));
      await store.recordWebhook(mark("github", "", "refused", "2025-03-04T09:00:04.000Z"));
      await store.recordWebhook(mark("gitea", "", "refused", "2025-03-04T09:00:05.000Z"));

      const other = await secondHandle(handles, ctx);
      expect(await other.webhookDeliveries()).toEqual([
        { provider: "gitea", repository: "", refused: 1, lastRefusedAt: "2025-03-04T09:00:05.000Z" },
        { provider: "github", repository: "", refused: 2, lastRefusedAt: "2025-03-04T09:00:04.000Z" },
        {
          provider: "github",
          repository: "acme/infra",
          refused: 0,
          lastVerifiedAt: "2025-03-04T09:00:02.000Z",
        },
      ]);
    });

    it("refuse a mark without a provider or with a bad time", async () => {
      const store = await handles.open();
      const at = "2025-03-04T09:00:00.000Z";
      expect(await storeError(() => store.recordWebhook(mark("", "", "refused", at)))).toBe("invalid-input");
      expect(await storeError(() => store.recordWebhook(mark("github", "", "refused", "now")))).toBe(
        "invalid-input",
      );
      expect(await store.webhookDeliveries()).toEqual([]);
    });
  });
}
