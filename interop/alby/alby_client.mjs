// @getalby/sdk's NWCClient against `nwc serve` (sandbox backend): every method the client
// has, the error codes, and notifications. Driven by alby_test.go, which creates the
// connections with `nwc connect new` and passes their URIs:
//   NWC_URI_MAIN        all methods + sign_message, notifications, budget 100000sat/daily
//   NWC_URI_PAYER       default methods, notifications, no budget
//   NWC_URI_RESTRICTED  get_info,get_balance only
//   NWC_URI_BUDGET      pay_invoice,get_info with a 10sat/daily budget
//   NWC_URI_ISOLATED    isolated sub-wallet credited 5000 sat by `nwc faucet`
// Prints one JSON report on stdout; exit status 0 only if every check passed.
import { Report, assert, assertEq, env, expectCode, isHex, randomHex, sha256hex, Waiters } from "./lib.mjs";
import { NWCClient, Nip47WalletError, Nip47UnexpectedResponseError } from "@getalby/sdk/nwc";
import { getPublicKey, generateSecretKey } from "nostr-tools";
import { readFileSync } from "node:fs";

const sdkVersion = JSON.parse(readFileSync(new URL("./node_modules/@getalby/sdk/package.json", import.meta.url))).version;
const report = new Report({ peer: `@getalby/sdk@${sdkVersion} NWCClient`, node: process.version });

const main = new NWCClient({ nostrWalletConnectUrl: env("NWC_URI_MAIN") });
const payer = new NWCClient({ nostrWalletConnectUrl: env("NWC_URI_PAYER") });
const restricted = new NWCClient({ nostrWalletConnectUrl: env("NWC_URI_RESTRICTED") });
const budget = new NWCClient({ nostrWalletConnectUrl: env("NWC_URI_BUDGET") });
const isolated = new NWCClient({ nostrWalletConnectUrl: env("NWC_URI_ISOLATED") });
const clients = [main, payer, restricted, budget, isolated];

const WAIT = 10000; // ms for a notification
const now = () => Math.floor(Date.now() / 1000);
const sat = (n) => n * 1000;
const notes = new Waiters(); // notifications of the main connection
const hasHash = (type, hash) => (n) => n.notification_type === type && n.notification?.payment_hash === hash;

function checkTx(tx, want) {
  for (const [k, v] of Object.entries(want)) assertEq(tx[k], v, `transaction.${k}`);
  assert(isHex(tx.payment_hash, 32), "payment_hash is 32-byte hex");
  assert(Number.isInteger(tx.amount), "amount is an integer (msat)");
  assert(Number.isInteger(tx.created_at) && Math.abs(tx.created_at - now()) < 600, "created_at is now (unix s)");
}

async function run() {
  await report.check("info event (13194): encryption, capabilities, notifications", async () => {
    const info = await main.getWalletServiceInfo();
    assert(info.encryptions.includes("nip44_v2") && info.encryptions.includes("nip04"), "encryption tag has nip44_v2 and nip04");
    for (const m of ["pay_invoice", "make_invoice", "lookup_invoice", "list_transactions", "get_balance", "get_info", "sign_message", "notifications"]) {
      assert(info.capabilities.includes(m), `capabilities include ${m}: ${info.capabilities}`);
    }
    assert(info.notifications.includes("payment_received") && info.notifications.includes("payment_sent"), "notifications tag");
    return info;
  });

  await report.check("encryption negotiated: nip44_v2", async () => {
    await main.getBalance();
    assertEq(main.encryptionType, "nip44_v2", "encryptionType");
    return main.encryptionType;
  });

  const info = await report.check("get_info", async () => {
    const r = await main.getInfo();
    assert(isHex(r.pubkey, 33), "pubkey is a 33-byte node id");
    assertEq(r.network, "regtest", "network");
    assert(Number.isInteger(r.block_height) && r.block_height > 0, "block_height");
    assert(isHex(r.block_hash, 32), "block_hash");
    for (const m of ["pay_invoice", "make_invoice", "sign_message", "get_balance"]) assert(r.methods.includes(m), `methods include ${m}`);
    assert(r.notifications.includes("payment_received"), "notifications include payment_received");
    return r;
  });
  report.values.node_pubkey = info?.pubkey;

  await report.check("get_info (restricted connection: methods are the connection's)", async () => {
    const r = await restricted.getInfo();
    // get_budget is always allowed (as in Alby Hub), so it is listed too.
    assertEq([...r.methods].sort().join(","), "get_balance,get_budget,get_info", "methods");
    return r;
  });

  await report.check("get_balance", async () => {
    const r = await main.getBalance();
    assert(Number.isInteger(r.balance) && r.balance > 0, `balance > 0 msat: ${r.balance}`);
    return r;
  });

  await report.check("get_budget (100000sat/daily)", async () => {
    const r = await main.getBudget();
    assertEq(r.total_budget, sat(100000), "total_budget (msat)");
    assertEq(r.renewal_period, "daily", "renewal_period");
    assert(Number.isInteger(r.used_budget) && r.used_budget >= 0, "used_budget");
    assert(Number.isInteger(r.renews_at) && r.renews_at > now() && r.renews_at <= now() + 86400 + 3600, "renews_at within a day");
    return r;
  });

  await report.check("get_budget (no budget: {})", async () => {
    const r = await payer.getBudget();
    assertEq(JSON.stringify(r), "{}", "result");
    return r;
  });

  const unsubscribe = await main.subscribeNotifications((n) => notes.push(n));

  // make_invoice + pay_invoice by another connection + payment_received notification.
  const inv = await report.check("make_invoice", async () => {
    const r = await main.makeInvoice({ amount: sat(21000), description: "interop coffee", expiry: 3600 });
    checkTx(r, { type: "incoming", state: "pending", amount: sat(21000), description: "interop coffee" });
    assert(r.invoice.startsWith("lnbcrt210u"), `invoice is a regtest bolt11 for 21000 sat: ${r.invoice.slice(0, 16)}`);
    assert(r.expires_at - r.created_at === 3600, "expires_at = created_at + expiry");
    return r;
  });

  const paid = await report.check("pay_invoice (invoice of another connection)", async () => {
    const r = await payer.payInvoice({ invoice: inv.invoice });
    assert(isHex(r.preimage, 32), "preimage is 32-byte hex");
    assertEq(sha256hex(r.preimage), inv.payment_hash, "sha256(preimage)");
    assertEq(r.fees_paid, 0, "fees_paid (internal payment)");
    return r;
  });

  await report.check("notification payment_received (nip44, kind 23197)", async () => {
    const n = await notes.wait(hasHash("payment_received", inv.payment_hash), WAIT, "payment_received");
    checkTx(n.notification, { type: "incoming", state: "settled", amount: sat(21000), preimage: paid.preimage });
    assert(Number.isInteger(n.notification.settled_at), "settled_at");
    return n;
  });

  // The invoice was paid by another connection of the same wallet, so the wallet has an
  // incoming and an outgoing row with this hash; a non-isolated connection sees both and
  // the service (like Alby Hub) may answer with either. The unambiguous case is below
  // (isolated connection).
  await report.check("lookup_invoice (payment_hash)", async () => {
    const r = await main.lookupInvoice({ payment_hash: inv.payment_hash });
    checkTx(r, { state: "settled", invoice: inv.invoice, preimage: paid.preimage, amount: sat(21000) });
    assert(Number.isInteger(r.settled_at), "settled_at");
    report.values.self_payment_lookup_type = r.type;
    return r;
  });

  await report.check("lookup_invoice (invoice)", async () => {
    const r = await main.lookupInvoice({ invoice: inv.invoice });
    checkTx(r, { payment_hash: inv.payment_hash, state: "settled" });
    return r;
  });

  // The main connection pays: payment_sent.
  const out = await report.check("pay_invoice (main pays the payer's invoice)", async () => {
    const bill = await payer.makeInvoice({ amount: sat(1000), description: "outgoing" });
    const r = await main.payInvoice({ invoice: bill.invoice, metadata: { comment: "interop" } });
    assertEq(sha256hex(r.preimage), bill.payment_hash, "sha256(preimage)");
    return { payment_hash: bill.payment_hash, ...r };
  });

  await report.check("notification payment_sent", async () => {
    const n = await notes.wait(hasHash("payment_sent", out.payment_hash), WAIT, "payment_sent");
    checkTx(n.notification, { type: "outgoing", state: "settled", amount: sat(1000), preimage: out.preimage });
    return n;
  });

  await report.check("list_transactions", async () => {
    const r = await main.listTransactions({ limit: 10 });
    assert(Array.isArray(r.transactions), "transactions is an array");
    const byHash = new Map(r.transactions.map((t) => [t.payment_hash + t.type, t]));
    assertEq(byHash.get(inv.payment_hash + "incoming")?.state, "settled", "incoming tx listed");
    assertEq(byHash.get(out.payment_hash + "outgoing")?.state, "settled", "outgoing tx listed");
    for (let i = 1; i < r.transactions.length; i++) {
      assert(r.transactions[i - 1].created_at >= r.transactions[i].created_at, "newest first");
    }
    assert(Number.isInteger(r.total_count) && r.total_count >= r.transactions.length, "total_count");
    return { count: r.transactions.length, total_count: r.total_count };
  });

  await report.check("list_transactions (type=outgoing, limit=1)", async () => {
    const r = await main.listTransactions({ type: "outgoing", limit: 1 });
    assertEq(r.transactions.length, 1, "one transaction");
    assertEq(r.transactions[0].type, "outgoing", "type");
    return r.transactions[0];
  });

  // Keysend to a node that is not the sandbox (outcome: succeed), with our preimage and a TLV.
  const dest = "02" + getPublicKey(generateSecretKey());
  await report.check("pay_keysend", async () => {
    const preimage = randomHex();
    const r = await main.payKeysend({
      amount: sat(100),
      pubkey: dest,
      preimage,
      tlv_records: [{ type: 7629169, value: Buffer.from('{"podcast":"interop"}').toString("hex") }],
    });
    assertEq(r.preimage, preimage, "preimage (the payer's)");
    assert(Number.isInteger(r.fees_paid) && r.fees_paid > 0, "fees_paid > 0 (external)");
    return r;
  });

  await report.check("multi_pay_invoice", async () => {
    const a = await payer.makeInvoice({ amount: sat(11), description: "multi a" });
    const b = await payer.makeInvoice({ amount: sat(12), description: "multi b" });
    const r = await main.multiPayInvoice({ invoices: [{ id: "a", invoice: a.invoice }, { id: "b", invoice: b.invoice }] });
    const got = Object.fromEntries(r.invoices.map((x) => [x.dTag, x]));
    assertEq(sha256hex(got.a?.preimage ?? ""), a.payment_hash, "element a preimage");
    assertEq(sha256hex(got.b?.preimage ?? ""), b.payment_hash, "element b preimage");
    return r;
  });

  await report.check("multi_pay_keysend", async () => {
    const r = await main.multiPayKeysend({
      keysends: [
        { id: "k1", pubkey: dest, amount: sat(21) },
        { id: "k2", pubkey: dest, amount: sat(22), preimage: randomHex() },
      ],
    });
    assertEq(r.keysends.map((x) => x.dTag).sort().join(","), "k1,k2", "d tags");
    for (const x of r.keysends) assert(isHex(x.preimage, 32), `preimage of ${x.dTag}`);
    return r;
  });

  const signed = await report.check("sign_message", async () => {
    const r = await main.signMessage({ message: "nwc interop" });
    assertEq(r.message, "nwc interop", "message");
    assert(typeof r.signature === "string" && r.signature.length > 80, "signature (zbase32)");
    return r;
  });
  report.values.sign_message = signed;

  // Hold invoices: the payer locks one in, main gets hold_invoice_accepted, settles it.
  await report.check("make_hold_invoice + hold_invoice_accepted + settle_hold_invoice", async () => {
    const preimage = randomHex();
    const hash = sha256hex(preimage);
    const hold = await main.makeHoldInvoice({ amount: sat(500), payment_hash: hash, description: "hold settle" });
    checkTx(hold, { type: "incoming", payment_hash: hash, amount: sat(500) });
    const paying = payer.payInvoice({ invoice: hold.invoice });
    paying.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile
    const n = await notes.wait(hasHash("hold_invoice_accepted", hash), WAIT, "hold_invoice_accepted");
    assertEq(n.notification.state, "accepted", "notification state");
    assert(Number.isInteger(n.notification.settle_deadline), "settle_deadline (block height)");
    const settled = await main.settleHoldInvoice({ preimage });
    assertEq(JSON.stringify(settled), "{}", "settle result");
    const r = await paying;
    assertEq(r.preimage, preimage, "payer got the preimage");
    const look = await main.lookupInvoice({ payment_hash: hash });
    assertEq(look.state, "settled", "looked-up state");
    return { accepted: n.notification, settled };
  });

  await report.check("make_hold_invoice + cancel_hold_invoice (payer gets PAYMENT_FAILED)", async () => {
    const hash = sha256hex(randomHex());
    const hold = await main.makeHoldInvoice({ amount: sat(600), payment_hash: hash, description: "hold cancel" });
    const paying = payer.payInvoice({ invoice: hold.invoice });
    paying.catch(() => {});
    await notes.wait(hasHash("hold_invoice_accepted", hash), WAIT, "hold_invoice_accepted");
    const canceled = await main.cancelHoldInvoice({ payment_hash: hash });
    assertEq(JSON.stringify(canceled), "{}", "cancel result");
    return await expectCode(paying, "PAYMENT_FAILED", Nip47WalletError);
  });

  // Errors.
  await report.check("error NOT_FOUND (lookup_invoice of an unknown hash)", () =>
    expectCode(main.lookupInvoice({ payment_hash: randomHex() }), "NOT_FOUND", Nip47WalletError));

  await report.check("error RESTRICTED (pay_invoice without the scope)", async () => {
    const bill = await payer.makeInvoice({ amount: sat(5), description: "restricted" });
    return expectCode(restricted.payInvoice({ invoice: bill.invoice }), "RESTRICTED", Nip47WalletError);
  });

  await report.check("error RESTRICTED (make_invoice without the scope)", () =>
    expectCode(restricted.makeInvoice({ amount: sat(5) }), "RESTRICTED", Nip47WalletError));

  await report.check("error QUOTA_EXCEEDED (budget 10 sat, invoice 1000 sat)", async () => {
    const bill = await payer.makeInvoice({ amount: sat(1000), description: "over budget" });
    return expectCode(budget.payInvoice({ invoice: bill.invoice }), "QUOTA_EXCEEDED", Nip47WalletError);
  });

  await report.check("get_balance (isolated, after faucet 5000 sat)", async () => {
    const r = await isolated.getBalance();
    assertEq(r.balance, sat(5000), "balance");
    return r;
  });

  await report.check("error INSUFFICIENT_BALANCE (isolated, invoice 10000 sat)", async () => {
    const bill = await payer.makeInvoice({ amount: sat(10000), description: "too much" });
    return expectCode(isolated.payInvoice({ invoice: bill.invoice }), "INSUFFICIENT_BALANCE", Nip47WalletError);
  });

  await report.check("error INSUFFICIENT_BALANCE (multi_pay_invoice element, isolated)", async () => {
    const bill = await payer.makeInvoice({ amount: sat(9000), description: "too much, multi" });
    // js-sdk rejects the whole multi call on the first element error.
    return expectCode(isolated.multiPayInvoice({ invoices: [{ id: "x", invoice: bill.invoice }] }), "INSUFFICIENT_BALANCE", Nip47UnexpectedResponseError);
  });

  await report.check("isolated: make_invoice, paid by another connection, lookup_invoice, balance", async () => {
    const r = await isolated.makeInvoice({ amount: sat(2000), description: "isolated" });
    const p = await payer.payInvoice({ invoice: r.invoice });
    const look = await isolated.lookupInvoice({ payment_hash: r.payment_hash });
    checkTx(look, { type: "incoming", state: "settled", preimage: p.preimage, amount: sat(2000) });
    const b = await isolated.getBalance();
    assertEq(b.balance, sat(7000), "balance after receiving 2000 sat");
    const list = await isolated.listTransactions({ limit: 20 });
    const hashes = list.transactions.map((t) => t.payment_hash);
    assert(hashes.includes(r.payment_hash), "own transaction listed");
    assert(!hashes.includes(inv.payment_hash), "other connections' transactions not listed");
    return { lookup: look, balance: b.balance, listed: hashes.length };
  });

  await report.check("create_connection (not granted: RESTRICTED)", () =>
    expectCode(
      main.createConnection({ pubkey: getPublicKey(generateSecretKey()), name: "child", request_methods: ["get_balance"] }),
      "RESTRICTED",
      Nip47WalletError,
    ));

  // NIP-04 through the same library (requests tagged ["encryption","nip04"]).
  await report.check("NIP-04: get_balance + make_invoice with encryption forced to nip04", async () => {
    const c = new NWCClient({ nostrWalletConnectUrl: env("NWC_URI_PAYER") });
    clients.push(c);
    c._encryptionType = "nip04"; // private field: the library has no option to prefer nip04
    const b = await c.getBalance();
    assert(Number.isInteger(b.balance), "balance");
    const r = await c.makeInvoice({ amount: sat(3), description: "nip04" });
    assert(r.invoice.startsWith("lnbcrt"), "invoice");
    assertEq(c.encryptionType, "nip04", "encryptionType");
    return { balance: b.balance, invoice: r.invoice.slice(0, 20) };
  });

  unsubscribe();
}

// console.error/warn of the library go to stderr, which the Go test shows on failure.
let ok = false;
try {
  await run();
} catch (e) {
  report.checks.push({ name: "script", ok: false, error: String(e?.stack ?? e) });
} finally {
  ok = report.print();
  for (const c of clients) c.close();
}
process.exit(ok ? 0 : 1);
