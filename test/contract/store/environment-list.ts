import { describe, expect, it } from "vitest";
import { secondHandle, storeError, useStore, type StoreFactory } from "./harness";

// The configured environments as the engine last loaded them: what `tidegate status` lists.

const list = [
  { name: "dev", branch: "main", stack: "dev" },
  { name: "staging", branch: "release", stack: "stage" },
  { name: "prod", branch: "release", stack: "prod" },
];

export function environmentListContract(factory: StoreFactory): void {
  const handles = useStore(factory);

  describe("environment list", () => {
    it("is undefined until written, then the last list written, in its order, to every handle", async (ctx) => {
      const store = await handles.open();
      expect(await store.environmentList()).toBeUndefined();
      await store.setEnvironmentList(list);
      await store.setEnvironmentList([...list].reverse());
      const other = await secondHandle(handles, ctx);
      expect(await other.environmentList()).toEqual([...list].reverse());
      await other.setEnvironmentList([]);
      expect(await store.environmentList()).toEqual([]);
    });

    it("keeps only the fields status shows", async () => {
      const store = await handles.open();
      await store.setEnvironmentList([{ ...list[0]!, order: 1 } as (typeof list)[0]]);
      expect(await store.environmentList()).toEqual([list[0]]);
    });

    it("refuses an empty field or a name twice, keeping the list it had", async () => {
      const store = await handles.open();
      await store.setEnvironmentList(list);
      expect(
        await storeError(() => store.setEnvironmentList([{ name: "", branch: "main", stack: "dev" }])),
      ).toBe("invalid-input");
      expect(await storeError(() => store.setEnvironmentList([list[0]!, list[0]!]))).toBe("invalid-input");
      expect(await store.environmentList()).toEqual(list);
    });
  });
}
