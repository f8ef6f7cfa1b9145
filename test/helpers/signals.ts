import { EventEmitter } from "node:events";
import type { SignalTarget } from "../../src/daemon";

/** A stand-in for `process`: signals are emitted by the test, exits are recorded. */
export function fakeProcess() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  const target: SignalTarget = {
    on: (signal, listener) => emitter.on(signal, listener),
    off: (signal, listener) => emitter.off(signal, listener),
    exit: (code) => void exits.push(code),
  };
  const send = (signal: NodeJS.Signals) => emitter.emit(signal, signal);
  return { target, exits, send, listeners: (s: string) => emitter.listenerCount(s) };
}
