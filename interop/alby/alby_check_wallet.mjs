// A small but complete wallet behind @getalby/sdk's NWCWalletService, for `nwc check`
// (check_test.go): every method of the SDK's handler interface is implemented over an
// in-memory ledger, with real BOLT-11 invoices (regtest, signed by a random node key), so
// what the report says about transport (tags, encryption, result_type, unknown methods,
// expiration) is the SDK's, and what it says about results is this handler's.
//
// NWCWalletService cannot send notifications; like alby_wallet_service.mjs, this script
// publishes them itself with nostr-tools (kinds 23197 and 23196), and lists
// "notifications" among the capabilities it passes to publishWalletServiceInfoEvent.
//
// Env RELAY_URL. Prints {"uri": ...} on stdout once it listens; exits when stdin closes.
import { env, hexToBytes, randomHex, sha256hex } from "./lib.mjs";
import { NWCWalletService, NWCWalletServiceKeyPair } from "@getalby/sdk/nwc";
import { finalizeEvent, getPublicKey, nip04, nip44 } from "nostr-tools";
// Pinned through nostr-tools in package-lock.json.
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bech32 } from "@scure/base";

const relayUrl = env("RELAY_URL");
const walletSecret = randomHex();
const clientSecret = randomHex();
const clientPubkey = getPublicKey(hexToBytes(clientSecret));
const keypair = new NWCWalletServiceKeyPair(walletSecret, clientPubkey);
const nodeSecret = hexToBytes(randomHex());
const nodePubkey = Buffer.from(secp256k1.getPublicKey(nodeSecret, true)).toString("hex");

// ---- BOLT-11 (regtest), just what an invoice needs: p, s, d, x -----------------------
const toWords = (bytes) => bech32.toWords(bytes);
function field(type, words) {
  return [type, words.length >> 5, words.length & 31, ...words];
}
function intWords(n) {
  const out = [];
  do {
    out.unshift(n & 31);
    n = Math.floor(n / 32);
  } while (n > 0);
  return out;
}
function encodeInvoice({ amountMsat, paymentHash, description, timestamp, expiry }) {
  const hrp = "lnbcrt" + (amountMsat > 0 ? `${amountMsat * 10}p` : "");
  const ts = [];
  for (let i = 6, t = timestamp; i >= 0; i--) {
    ts[i] = t & 31;
    t = Math.floor(t / 32);
  }
  const data = [
    ...ts,
    ...field(1, toWords(hexToBytes(paymentHash))),
    ...field(16, toWords(hexToBytes(randomHex()))),
    ...field(13, toWords(new TextEncoder().encode(description))),
    ...field(6, intWords(expiry)),
  ];
  // Sign sha256(hrp || data as bytes, zero-padded); the signature is r || s || recovery id.
  const bytes = padWords(data);
  const msg = new Uint8Array([...new TextEncoder().encode(hrp), ...bytes]);
  const sig = secp256k1.sign(msg, nodeSecret, { format: "recovered" }); // prehashes with sha256
  const words = [...data, ...toWords(new Uint8Array([...sig.subarray(1), sig[0]]))];
  return bech32.encode(hrp, words, false);
}
// padWords converts 5-bit words to bytes, padding the last byte with zero bits.
function padWords(words) {
  const out = [];
  let acc = 0;
  let bits = 0;
  for (const w of words) {
    acc = (acc << 5) | w;
    bits += 5;
    while (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 255);
    }
  }
  if (bits > 0) out.push((acc << (8 - bits)) & 255);
  return new Uint8Array(out);
}

// ---- the ledger -------------------------------------------------------------------------
let balance = 50_000_000; // msat
const txs = []; // newest last
const now = () => Math.floor(Date.now() / 1000);
const view = (t) => ({ ...t, preimage: t.state === "settled" ? t.preimage : "" });
const ok = (result) => ({ result, error: undefined });
const fail = (code, message) => ({ result: undefined, error: { code, message } });
const isHex = (s, n) => typeof s === "string" && new RegExp(`^[0-9a-f]{${n * 2}}$`).test(s);

async function notify(type, tx) {
  const content = JSON.stringify({ notification_type: type, notification: view(tx) });
  const created_at = now();
  const key = nip44.getConversationKey(hexToBytes(walletSecret), clientPubkey);
  const events = [
    finalizeEvent({ kind: 23197, created_at, tags: [["p", clientPubkey]], content: nip44.encrypt(content, key) }, hexToBytes(walletSecret)),
    finalizeEvent({ kind: 23196, created_at, tags: [["p", clientPubkey]], content: nip04.encrypt(walletSecret, clientPubkey, content) }, hexToBytes(walletSecret)),
  ];
  for (const ev of events) await Promise.any(service.pool.publish([relayUrl], ev));
}

const METHODS = ["get_info", "get_balance", "make_invoice", "pay_invoice", "pay_keysend", "lookup_invoice", "list_transactions", "sign_message"];

const handler = {
  async getInfo() {
    return ok({ alias: "alby-js-check", color: "#ff9900", pubkey: nodePubkey, network: "regtest", block_height: 100, block_hash: "00".repeat(32), methods: METHODS, notifications: ["payment_received", "payment_sent"] });
  },
  async getBalance() {
    return ok({ balance });
  },
  async makeInvoice(p) {
    if (!Number.isInteger(p?.amount) || p.amount <= 0) return fail("BAD_REQUEST", "amount must be a positive number of msat");
    const preimage = randomHex();
    const payment_hash = sha256hex(preimage);
    const created_at = now();
    const expiry = p.expiry > 0 ? p.expiry : 3600;
    const invoice = encodeInvoice({ amountMsat: p.amount, paymentHash: payment_hash, description: p.description ?? "", timestamp: created_at, expiry });
    const tx = { type: "incoming", state: "pending", invoice, description: p.description ?? "", description_hash: "", preimage, payment_hash, amount: p.amount, fees_paid: 0, created_at, expires_at: created_at + expiry };
    txs.push(tx);
    return ok(view(tx));
  },
  async payInvoice(p) {
    if (typeof p?.invoice !== "string" || !p.invoice) return fail("BAD_REQUEST", "invoice required");
    let decoded;
    try {
      decoded = bech32.decode(p.invoice.toLowerCase(), false);
    } catch {
      return fail("BAD_REQUEST", "not a BOLT-11 invoice");
    }
    const incoming = txs.find((t) => t.type === "incoming" && t.invoice === p.invoice.toLowerCase());
    if (!incoming || !decoded) return fail("PAYMENT_FAILED", "no route to the payee");
    if (incoming.state !== "pending") return fail("OTHER", "this invoice has already been paid");
    if (balance < incoming.amount) return fail("INSUFFICIENT_BALANCE", "not enough funds");
    // A payment to our own invoice settles internally.
    const at = now();
    Object.assign(incoming, { state: "settled", settled_at: at });
    const out = { ...incoming, type: "outgoing", settled_at: at, fees_paid: 0 };
    txs.push(out);
    await notify("payment_received", incoming);
    await notify("payment_sent", out);
    return ok({ preimage: incoming.preimage, fees_paid: 0 });
  },
  async payKeysend(p) {
    if (!Number.isInteger(p?.amount) || p.amount <= 0 || !isHex(p?.pubkey, 33)) return fail("BAD_REQUEST", "amount and a 33-byte hex pubkey required");
    return fail("PAYMENT_FAILED", "no route to the payee");
  },
  async lookupInvoice(p) {
    const t = txs.findLast((t) => (p?.payment_hash && t.payment_hash === p.payment_hash) || (p?.invoice && t.invoice === p.invoice));
    if (!p?.payment_hash && !p?.invoice) return fail("BAD_REQUEST", "payment_hash or invoice required");
    return t ? ok(view(t)) : fail("NOT_FOUND", "invoice not found");
  },
  async listTransactions(p) {
    const until = p?.until ?? now();
    let list = txs
      .filter((t) => (p?.unpaid ? true : t.state === "settled"))
      .filter((t) => !p?.type || t.type === p.type)
      .filter((t) => t.created_at >= (p?.from ?? 0) && t.created_at <= until)
      .reverse();
    const total_count = list.length;
    list = list.slice(p?.offset ?? 0, (p?.offset ?? 0) + (p?.limit > 0 ? p.limit : 50));
    return ok({ transactions: list.map(view), total_count });
  },
  async signMessage(p) {
    if (typeof p?.message !== "string") return fail("BAD_REQUEST", "message required");
    const sig = secp256k1.sign(sha256(new TextEncoder().encode(p.message)), nodeSecret, { prehash: false });
    return ok({ message: p.message, signature: Buffer.from(sig).toString("hex") });
  },
};

const service = new NWCWalletService({ relayUrls: [relayUrl] });
// Subscribe first, then publish the info event and wait for the relay's OK (see
// alby_wallet_service.mjs).
const unsub = await service.subscribe(keypair, handler);
await service.publishWalletServiceInfoEvent(walletSecret, [...METHODS, "notifications"], ["payment_received", "payment_sent"]);

process.stdout.write(
  JSON.stringify({ uri: `nostr+walletconnect://${keypair.walletPubkey}?relay=${encodeURIComponent(relayUrl)}&secret=${clientSecret}` }) + "\n",
);

process.stdin.resume();
process.stdin.on("end", () => {
  unsub();
  service.close();
  process.exit(0);
});
