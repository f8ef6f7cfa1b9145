import { newMemoryState, openMemoryStore } from "../../src/adapters/store/memory";
import { STORE_NOW, storeContract } from "./store";

storeContract("memory", async () => {
  const state = newMemoryState();
  const open = () => openMemoryStore(state, { now: () => new Date(STORE_NOW) });
  return { store: open(), reopen: async () => open(), cleanup: async () => undefined };
});
