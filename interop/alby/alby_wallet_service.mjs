// @getalby/sdk's NWCWalletService on a relay (env RELAY_URL), answering every method its
// handler interface has with fixed data, for our Go client (alby_test.go). The handler
// also checks the params our client sent (a mismatch is answered with code
// "UNEXPECTED_PARAMS", which fails the Go test). Prints {"uri": ...} on stdout once it
// listens; exits when stdin closes.
import { env, hexToBytes, randomHex } from "./lib.mjs";
import { NWCWalletService, NWCWalletServiceKeyPair } from "@getalby/sdk/nwc";
import { finalizeEvent, getPublicKey, nip04, nip44 } from "nostr-tools";

const relayUrl = env("RELAY_URL");
const walletSecret = randomHex();
const clientSecret = randomHex();
const clientPubkey = getPublicKey(hexToBytes(clientSecret));
const keypair = new NWCWalletServiceKeyPair(walletSecret, clientPubkey);

// Fixed answers; alby_test.go holds the same values.
const NODE = "02" + "11".repeat(32);
const PREIMAGE = "22".repeat(32);
const HASH = "33".repeat(32);
const tx = (extra) => ({
  type: "incoming",
  state: "settled",
  invoice: "lnbcrt10n1fixedinvoice",
  description: "fixed",
  description_hash: "",
  preimage: PREIMAGE,
  payment_hash: HASH,
  amount: 1000,
  fees_paid: 0,
  created_at: 1700000000,
  expires_at: 1700003600,
  settled_at: 1700000010,
  metadata: { comment: "hi" },
  ...extra,
});

const ok = (result) => ({ result, error: undefined });
const fail = (code, message) => ({ result: undefined, error: { code, message } });
// want checks a received params object against expected key/values (JSON-compared).
function want(params, expected) {
  for (const [k, v] of Object.entries(expected)) {
    if (JSON.stringify(params?.[k]) !== JSON.stringify(v)) {
      return fail("UNEXPECTED_PARAMS", `${k}: got ${JSON.stringify(params?.[k])}, want ${JSON.stringify(v)}`);
    }
  }
  return null;
}

const service = new NWCWalletService({ relayUrls: [relayUrl] });

// notify publishes one notification the way a NIP-47 service does: kind 23197 (NIP-44)
// and kind 23196 (NIP-04), signed by the wallet key, p-tagged to the client.
async function notify(type, notification) {
  const content = JSON.stringify({ notification_type: type, notification });
  const created_at = Math.floor(Date.now() / 1000);
  const key = nip44.getConversationKey(hexToBytes(walletSecret), clientPubkey);
  const events = [
    finalizeEvent({ kind: 23197, created_at, tags: [["p", clientPubkey]], content: nip44.encrypt(content, key) }, hexToBytes(walletSecret)),
    finalizeEvent({ kind: 23196, created_at, tags: [["p", clientPubkey]], content: nip04.encrypt(walletSecret, clientPubkey, content) }, hexToBytes(walletSecret)),
  ];
  for (const ev of events) await Promise.any(service.pool.publish([relayUrl], ev));
}

const handler = {
  async getInfo() {
    return ok({
      alias: "alby-js",
      color: "#ff9900",
      pubkey: NODE,
      network: "regtest",
      block_height: 123,
      block_hash: "44".repeat(32),
      methods: ["get_info", "get_balance", "make_invoice", "pay_invoice", "pay_keysend", "lookup_invoice", "list_transactions", "sign_message"],
      notifications: ["payment_received"],
    });
  },
  async getBalance() {
    return ok({ balance: 123456789 });
  },
  async makeInvoice(p) {
    return (
      want(p, { amount: 21000, description: "coffee", expiry: 600 }) ??
      ok(tx({ type: "incoming", state: "pending", amount: p.amount, description: p.description, preimage: "", settled_at: undefined }))
    );
  },
  async payInvoice(p) {
    switch (p?.invoice) {
      case "lnbcrt-insufficient":
        return fail("INSUFFICIENT_BALANCE", "not enough sats");
      case "lnbcrt-weird":
        return fail("WEIRD_CODE", "a code nobody knows");
      case "lnbcrt-notify":
        // Publish before answering, so the notification is out when the Go call returns.
        await notify("payment_received", tx({ payment_hash: "55".repeat(32), amount: 4242 }));
        return ok({ preimage: PREIMAGE, fees_paid: 0 });
    }
    return want(p, { invoice: "lnbcrt-ok", amount: 5000, metadata: { comment: "thanks" } }) ?? ok({ preimage: PREIMAGE, fees_paid: 7 });
  },
  async payKeysend(p) {
    return (
      want(p, { amount: 1000, pubkey: NODE, preimage: PREIMAGE, tlv_records: [{ type: 5482373484, value: "0102ff" }] }) ??
      ok({ preimage: p.preimage, fees_paid: 3 })
    );
  },
  async lookupInvoice(p) {
    if (p?.payment_hash === HASH) return ok(tx({}));
    if (p?.invoice === "lnbcrt10n1fixedinvoice") return ok(tx({}));
    return fail("NOT_FOUND", "invoice not found");
  },
  async listTransactions(p) {
    return (
      want(p, { limit: 2, offset: 1, type: "outgoing", from: 1600000000, until: 1800000000, unpaid: true }) ??
      ok({
        transactions: [tx({ type: "outgoing", fees_paid: 1000 }), tx({ type: "outgoing", state: "pending", preimage: "", settled_at: undefined, payment_hash: "66".repeat(32) })],
        total_count: 5,
      })
    );
  },
  async signMessage(p) {
    return ok({ message: p.message, signature: "d" + "y".repeat(103) });
  },
};

// Subscribe first, then publish the info event and wait for the relay's OK: the relay
// handles one connection's messages in order, so once the info event (which our client
// waits for in Dial) is stored, the request subscription is live.
const unsub = await service.subscribe(keypair, handler);
await service.publishWalletServiceInfoEvent(
  walletSecret,
  ["get_info", "get_balance", "make_invoice", "pay_invoice", "pay_keysend", "lookup_invoice", "list_transactions", "sign_message"],
  ["payment_received"],
);

process.stdout.write(
  JSON.stringify({
    uri: `nostr+walletconnect://${keypair.walletPubkey}?relay=${encodeURIComponent(relayUrl)}&secret=${clientSecret}`,
  }) + "\n",
);

process.stdin.resume();
process.stdin.on("end", () => {
  unsub();
  service.close();
  process.exit(0);
});
