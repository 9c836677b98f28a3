// nostr-tools (nip47 + nip04) against `nwc serve`, the way nostr-tools and rust-nostr
// clients talk NWC: NIP-04 content and NO ["encryption", ...] tag on requests. Every answer
// must come back NIP-04 encrypted (nip04.decrypt must read it), and notifications must
// also be published as kind 23196 (NIP-04), the only kind those clients read.
//   NWC_URI        the connection under test (default methods, --notifications)
//   NWC_URI_PAYEE  a second connection that makes the invoice to pay
// Prints one JSON report on stdout; exit status 0 only if every check passed.
import { Report, WebSocket, assert, assertEq, env, hexToBytes, isHex, randomHex, sha256hex, Waiters } from "./lib.mjs";
import { finalizeEvent, getPublicKey, nip04, nip47, verifyEvent } from "nostr-tools";
import { Relay, useWebSocketImplementation } from "nostr-tools/relay";
import { readFileSync } from "node:fs";

useWebSocketImplementation(WebSocket);

const version = JSON.parse(readFileSync(new URL("./node_modules/nostr-tools/package.json", import.meta.url))).version;
const report = new Report({ peer: `nostr-tools@${version} nip47+nip04`, node: process.version });

const payer = nip47.parseConnectionString(env("NWC_URI"));
const payee = nip47.parseConnectionString(env("NWC_URI_PAYEE"));
const relays = new Map(); // url -> Relay

async function relayFor(conn) {
  const url = conn.relays[0];
  if (!relays.has(url)) relays.set(url, await Relay.connect(url));
  return relays.get(url);
}

// send publishes a request event and returns the decrypted response of its service.
// The response subscription is opened before publishing (ephemeral events are not stored).
async function send(conn, event) {
  const relay = await relayFor(conn);
  const responses = new Waiters();
  const sub = relay.subscribe([{ kinds: [23195], authors: [conn.pubkey], "#e": [event.id] }], {
    onevent: (ev) => responses.push(ev),
  });
  try {
    await relay.publish(event);
    const ev = await responses.wait(() => true, 10000, `response to ${event.id}`);
    assert(verifyEvent(ev), "response signature");
    assertEq(ev.tags.find((t) => t[0] === "e")?.[1], event.id, "response e tag");
    let plain;
    try {
      plain = nip04.decrypt(conn.secret, conn.pubkey, ev.content);
    } catch (e) {
      throw new Error(`response is not NIP-04 (nip04.decrypt: ${e.message}); content starts ${JSON.stringify(ev.content.slice(0, 24))}`);
    }
    return JSON.parse(plain);
  } finally {
    sub.close();
  }
}

// request builds a request like makeNwcRequestEvent does, for any method.
function request(conn, method, params) {
  const content = nip04.encrypt(conn.secret, conn.pubkey, JSON.stringify({ method, params }));
  return finalizeEvent({ kind: 23194, created_at: Math.round(Date.now() / 1000), tags: [["p", conn.pubkey]], content }, hexToBytes(conn.secret));
}

async function run() {
  const notes = new Waiters();
  // The connections were just created: wait for each info event (a live subscription,
  // not just the stored ones) so we know the service has picked them up.
  const infoOf = (conn) =>
    relayFor(conn).then((relay) => {
      const events = new Waiters();
      const sub = relay.subscribe([{ kinds: [13194], authors: [conn.pubkey] }], { onevent: (ev) => events.push(ev) });
      return events.wait(() => true, 10000, `info event of ${conn.pubkey}`).finally(() => sub.close());
    });
  await report.check("info event: advertises nip04", async () => {
    const [info] = await Promise.all([infoOf(payer), infoOf(payee)]);
    assert(verifyEvent(info), "info event signature");
    const enc = info.tags.find((t) => t[0] === "encryption")?.[1] ?? "";
    assert(enc.split(" ").includes("nip04"), `encryption tag includes nip04: ${enc}`);
    return { content: info.content, encryption: enc };
  });

  // Notifications as nostr-tools/rust-nostr clients read them: kind 23196, NIP-04.
  const relay = await relayFor(payer);
  const clientPubkey = getPublicKey(hexToBytes(payer.secret));
  const notifSub = relay.subscribe([{ kinds: [23196], authors: [payer.pubkey], "#p": [clientPubkey] }], {
    onevent: (ev) => {
      try {
        notes.push(JSON.parse(nip04.decrypt(payer.secret, payer.pubkey, ev.content)));
      } catch (e) {
        notes.push({ undecryptable: String(e) });
      }
    },
  });

  await report.check("get_balance (NIP-04, no encryption tag)", async () => {
    const r = await send(payer, request(payer, "get_balance", {}));
    assertEq(r.result_type, "get_balance", "result_type");
    assert(r.error == null, `no error: ${JSON.stringify(r.error)}`);
    assert(Number.isInteger(r.result?.balance) && r.result.balance > 0, "balance > 0");
    return r;
  });

  const inv = await report.check("make_invoice (NIP-04, payee connection)", async () => {
    const r = await send(payee, request(payee, "make_invoice", { amount: 42000, description: "nostr-tools" }));
    assertEq(r.result_type, "make_invoice", "result_type");
    assert(r.result?.invoice?.startsWith("lnbcrt"), "invoice");
    return r.result;
  });

  const paid = await report.check("pay_invoice via nip47.makeNwcRequestEvent", async () => {
    const ev = await nip47.makeNwcRequestEvent(payer.pubkey, hexToBytes(payer.secret), inv.invoice);
    assert(!ev.tags.some((t) => t[0] === "encryption"), "request has no encryption tag");
    const r = await send(payer, ev);
    assertEq(r.result_type, "pay_invoice", "result_type");
    assert(r.error == null, `no error: ${JSON.stringify(r.error)}`);
    assert(isHex(r.result?.preimage, 32), "preimage");
    assertEq(sha256hex(r.result.preimage), inv.payment_hash, "sha256(preimage)");
    return r.result;
  });

  await report.check("notification payment_sent (kind 23196, NIP-04)", async () => {
    // The connection is not isolated: it hears payment_received for the payee's invoice too.
    const sent = (x) => x.undecryptable || (x.notification_type === "payment_sent" && x.notification?.payment_hash === inv.payment_hash);
    const n = await notes.wait(sent, 10000, "payment_sent");
    assert(!n.undecryptable, `decrypts with nip04: ${n.undecryptable}`);
    assertEq(n.notification.preimage, paid.preimage, "preimage");
    return n;
  });

  await report.check("error NOT_FOUND answered in NIP-04 (lookup_invoice)", async () => {
    const r = await send(payer, request(payer, "lookup_invoice", { payment_hash: randomHex() }));
    assertEq(r.result_type, "lookup_invoice", "result_type");
    assertEq(r.error?.code, "NOT_FOUND", "error code");
    assert(typeof r.error.message === "string" && r.error.message.length > 0, "error message");
    assert(r.result == null, "result null/absent");
    return r;
  });

  await report.check("error NOT_IMPLEMENTED answered in NIP-04 (unknown method)", async () => {
    const r = await send(payer, request(payer, "no_such_method", {}));
    assertEq(r.error?.code, "NOT_IMPLEMENTED", "error code");
    return r;
  });

  notifSub.close();
}

let ok = false;
try {
  await run();
} catch (e) {
  report.checks.push({ name: "script", ok: false, error: String(e?.stack ?? e) });
} finally {
  ok = report.print();
  for (const r of relays.values()) r.close();
}
process.exit(ok ? 0 : 1);
