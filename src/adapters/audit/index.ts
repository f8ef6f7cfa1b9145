// The audit log's public face: the log, its entries and what verify says.
export {
  AUDIT_ACTIONS,
  type AuditAction,
  AuditEntry,
  type AuditInput,
  entryHash,
  GENESIS_HASH,
} from "./entry";
export { canonicalJson } from "../../domain/canonical-json";
export { type AnchorRead, type HeadAnchor, headFileOf } from "./files";
export { LockTimeoutError, type LockOptions } from "./lock";
export { type AuditFilter } from "./content";
export { AuditLog, AuditLogError, type AuditLogOptions } from "./log";
export {
  AUDIT_HEAD_TABLE,
  AUDIT_LOCK_KEY,
  AUDIT_TABLE,
  PostgresAuditLog,
  type PostgresAuditLogOptions,
} from "./postgres";
export { type BadEntry, type VerifyResult } from "./verify";
