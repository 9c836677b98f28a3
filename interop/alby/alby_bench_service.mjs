// @getalby/sdk's NWCWalletService with a trivial handler (a fixed get_balance), for the
// side-by-side benchmark in docs/benchmarks.md (scripts/bench/alby.sh): the peer's whole
// request path — relay subscription, verify, decrypt, dispatch, encrypt, sign, publish —
// with no wallet behind it. Relay from env RELAY_URL. Prints {"uri": ..., "pid": ...}
// once it listens; exits when stdin closes.
import { env, hexToBytes, randomHex } from "./lib.mjs";
import { NWCWalletService, NWCWalletServiceKeyPair } from "@getalby/sdk/nwc";
import { getPublicKey } from "nostr-tools";

const relayUrl = env("RELAY_URL");
const walletSecret = randomHex();
const clientSecret = randomHex();
const keypair = new NWCWalletServiceKeyPair(walletSecret, getPublicKey(hexToBytes(clientSecret)));

const service = new NWCWalletService({ relayUrls: [relayUrl] });
const unsub = await service.subscribe(keypair, {
  async getBalance() {
    return { result: { balance: 1_000_000_000 }, error: undefined };
  },
});
await service.publishWalletServiceInfoEvent(walletSecret, ["get_balance"], []);

process.stdout.write(
  JSON.stringify({
    uri: `nostr+walletconnect://${keypair.walletPubkey}?relay=${encodeURIComponent(relayUrl)}&secret=${clientSecret}`,
    pid: process.pid,
  }) + "\n",
);

process.stdin.resume();
process.stdin.on("end", () => {
  unsub();
  service.close();
  process.exit(0);
});
