import { describe } from "vitest";
import { coordinationContract } from "./coordination";
import { environmentListContract } from "./environment-list";
import { gatesContract } from "./gates";
import type { StoreFactory } from "./harness";
import { notificationsContract } from "./notifications";
import { runContract } from "./runs";
import { tokensContract } from "./tokens";
import { webhooksContract } from "./webhooks";

export type { StoreFactory, StoreUnderTest } from "./harness";
export { STORE_NOW } from "./harness";

/** The behaviour every implementation of the store port shares: one suite, run against each. */
export function storeContract(name: string, factory: StoreFactory): void {
  describe(`${name} store`, () => {
    runContract(factory);
    gatesContract(factory);
    coordinationContract(factory);
    tokensContract(factory);
    webhooksContract(factory);
    notificationsContract(factory);
    environmentListContract(factory);
  });
}
