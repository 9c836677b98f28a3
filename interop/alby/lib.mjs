// Shared helpers of the interop scripts. Imported FIRST by every script: Node 20 has no
// global WebSocket, and @getalby/sdk (which bundles its own nostr-tools) reads the global
// when its module is evaluated, so the polyfill must be in place before that import.
import WebSocket from "ws";
import { createHash, randomBytes } from "node:crypto";

if (typeof globalThis.WebSocket === "undefined") {
  globalThis.WebSocket = WebSocket;
}

export { WebSocket };

export const sha256hex = (hex) => createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");
export const randomHex = (n = 32) => randomBytes(n).toString("hex");
export const hexToBytes = (hex) => Uint8Array.from(Buffer.from(hex, "hex"));
export const isHex = (s, bytes) => typeof s === "string" && new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(s);

// Report collects named checks; every script prints exactly one JSON report on stdout.
export class Report {
  constructor(meta) {
    this.meta = meta;
    this.checks = [];
    this.values = {};
  }

  // check runs fn and records ok + the detail it returns, or the error it threw.
  async check(name, fn) {
    const started = Date.now();
    try {
      const detail = await fn();
      this.checks.push({ name, ok: true, ms: Date.now() - started, detail: detail ?? null });
      return detail;
    } catch (e) {
      this.checks.push({ name, ok: false, ms: Date.now() - started, error: describe(e) });
      return undefined;
    }
  }

  print() {
    const ok = this.checks.length > 0 && this.checks.every((c) => c.ok);
    process.stdout.write(JSON.stringify({ ...this.meta, ok, checks: this.checks, values: this.values }) + "\n");
    return ok;
  }
}

export function describe(e) {
  if (e && typeof e === "object" && "code" in e) {
    return `${e.constructor?.name ?? "Error"} code=${e.code}: ${e.message}`;
  }
  return String(e?.stack ?? e);
}

// expectCode awaits a call that must fail with the wallet error code, and returns
// {code, message}. errorClass is the class the library must throw (e.g. Nip47WalletError).
export async function expectCode(promise, code, errorClass) {
  let result;
  try {
    result = await promise;
  } catch (e) {
    if (errorClass && !(e instanceof errorClass)) {
      throw new Error(`want ${errorClass.name} ${code}, got ${describe(e)}`);
    }
    if (e?.code !== code) {
      throw new Error(`want code ${code}, got ${describe(e)}`);
    }
    return { code: e.code, message: e.message };
  }
  throw new Error(`want error ${code}, got result ${JSON.stringify(result)}`);
}

export function assert(cond, msg) {
  if (!cond) throw new Error("assertion failed: " + msg);
}

export function assertEq(got, want, what) {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

export function env(name) {
  const v = process.env[name];
  if (!v) {
    process.stderr.write(`missing env ${name}\n`);
    process.exit(2);
  }
  return v;
}

// withTimeout rejects when p does not settle within ms.
export function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

// Waiters hands events (notifications) to whoever waits for one matching a predicate,
// including events that arrived before the wait started.
export class Waiters {
  constructor() {
    this.seen = [];
    this.pending = [];
  }

  push(item) {
    this.seen.push(item);
    this.pending = this.pending.filter((w) => {
      if (w.match(item)) {
        w.resolve(item);
        return false;
      }
      return true;
    });
  }

  wait(match, ms, what) {
    const found = this.seen.find(match);
    if (found) return Promise.resolve(found);
    return withTimeout(
      new Promise((resolve) => this.pending.push({ match, resolve })),
      ms,
      what,
    );
  }
}
