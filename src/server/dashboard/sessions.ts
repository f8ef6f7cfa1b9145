import { randomBytes, timingSafeEqual } from "node:crypto";

// Dashboard sessions, in this process's memory only: they do not survive a restart (people sign in
// again), which keeps the token's secret out of every store and file. A session holds the token's
// secret so each request authenticates it again: a token revoked or expired ends its sessions at
// their next request.

export interface Session {
  id: string;
  /** The API token the person signed in with. */
  secret: string;
  /** What every form of this session carries as `_csrf`. */
  csrf: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** 32 random bytes, base64url: a session id or a CSRF token nobody can guess. */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Whether two secrets are equal, in time that does not depend on where they differ. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly options: { ttlMs: number; max: number; now: () => number }) {}

  create(secret: string): Session {
    this.sweep();
    // Full of live sessions: the oldest goes (a Map iterates in insertion order).
    while (this.sessions.size >= this.options.max) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const session = {
      id: randomToken(),
      secret,
      csrf: randomToken(),
      expiresAt: this.options.now() + this.options.ttlMs,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id; an expired one is forgotten. */
  get(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (session && session.expiresAt <= this.options.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.options.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
  }
}

/**
 * Failed sign-ins per client address in a fixed window: past `max`, sign-in is refused until the
 * window ends, which slows guessing (a token has 256 bits, but nobody should get to try many).
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; until: number }>();

  constructor(
    private readonly options: { max: number; windowMs: number; now: () => number; maxAddresses: number },
  ) {}

  /** Milliseconds until `address` may try again; 0 when it may now. */
  blockedFor(address: string): number {
    const entry = this.failures.get(address);
    const now = this.options.now();
    if (!entry || entry.until <= now) return 0;
    return entry.count >= this.options.max ? entry.until - now : 0;
  }

  failed(address: string): void {
    const now = this.options.now();
    const entry = this.failures.get(address);
    if (entry && entry.until > now) {
      entry.count += 1;
      return;
    }
    if (this.failures.size >= this.options.maxAddresses) {
      for (const [key, value] of this.failures) if (value.until <= now) this.failures.delete(key);
      const oldest = this.failures.keys().next().value;
      if (this.failures.size >= this.options.maxAddresses && oldest !== undefined)
        this.failures.delete(oldest);
    }
    this.failures.set(address, { count: 1, until: now + this.options.windowMs });
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }
}
