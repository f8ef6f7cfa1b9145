import type { Store } from "../../src/adapters/store/port";

/** `store` with one method failing with `error`; every other call goes to the real store. */
export function failingStore(store: Store, method: keyof Store, error: Error): Store {
  return new Proxy(store, {
    get: (target, name, receiver) =>
      name === method ? () => Promise.reject(error) : Reflect.get(target, name, receiver),
  });
}
