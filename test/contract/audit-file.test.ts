import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AuditLog } from "../../src/adapters/audit";
import { auditContract } from "./audit";

// The file log in a temp directory per test; each handle is another AuditLog on the same file.
auditContract("file", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-audit-contract-"));
  const file = path.join(dir, "audit.jsonl");
  const lines = () => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").slice(0, -1) : []);
  const write = (kept: string[]) => fs.writeFileSync(file, kept.map((line) => `${line}\n`).join(""));
  return {
    open: (options) => new AuditLog(file, options),
    stored: async () => lines(),
    tamper: async (seq, edit) => write(lines().map((line, i) => (i === seq - 1 ? edit(line) : line))),
    removeLast: async () => write(lines().slice(0, -1)),
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});
