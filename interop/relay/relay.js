// A third-party Nostr relay for nwc's interop test: the relay logic is @nostr-relay/core
// (NIP-01, NIP-42 challenge/validation), wired to a WebSocket server from `ws` and a small
// in-memory event store. Listens on 127.0.0.1:$PORT (0 = a free port) and prints
// "listening ws://127.0.0.1:<port>" on stdout once ready.
//
// NWC_INTEROP_AUTH=1 turns NIP-42 on: the relay sends a challenge and refuses EVENT and REQ
// with "auth-required:" until the client has authenticated (any key).
'use strict';

const { WebSocketServer } = require('ws');
const { NostrRelay } = require('@nostr-relay/core');
const { EventRepository, EventUtils, EventType } = require('@nostr-relay/common');

class MemoryRepository extends EventRepository {
  constructor() {
    super();
    this.events = new Map(); // id -> event
  }
  isSearchSupported() {
    return false;
  }
  upsert(event) {
    if (this.events.has(event.id)) {
      return { isDuplicate: true };
    }
    const type = EventUtils.getType(event.kind);
    if (type === EventType.REPLACEABLE || type === EventType.PARAMETERIZED_REPLACEABLE) {
      const d = type === EventType.PARAMETERIZED_REPLACEABLE ? EventUtils.extractDTagValue(event) : null;
      for (const old of this.events.values()) {
        if (old.kind !== event.kind || old.pubkey !== event.pubkey) continue;
        if (d !== null && EventUtils.extractDTagValue(old) !== d) continue;
        const newer = old.created_at > event.created_at ||
          (old.created_at === event.created_at && old.id < event.id);
        if (newer) return { isDuplicate: true };
        this.events.delete(old.id);
      }
    }
    this.events.set(event.id, event);
    return { isDuplicate: false };
  }
  find(filter) {
    const now = Math.floor(Date.now() / 1000);
    const out = [];
    for (const ev of this.events.values()) {
      const exp = EventUtils.extractExpirationTimestamp(ev);
      if (exp !== null && exp <= now) continue;
      if (EventUtils.isMatchingFilter(ev, filter)) out.push(ev);
    }
    out.sort((a, b) => b.created_at - a.created_at);
    return filter.limit ? out.slice(0, filter.limit) : out;
  }
  async destroy() {
    this.events.clear();
  }
}

const auth = process.env.NWC_INTEROP_AUTH === '1';
const relay = new NostrRelay(new MemoryRepository(), {
  hostname: auth ? '127.0.0.1' : undefined,
  logLevel: 3, // errors only: stdout is read by the test
});

if (auth) {
  relay.register({
    async handleMessage(ctx, message, next) {
      if (!ctx.pubkey && message[0] === 'EVENT') {
        ctx.sendMessage(['OK', message[1].id, false, 'auth-required: authenticate first']);
        return { messageType: 'EVENT', success: false };
      }
      if (!ctx.pubkey && message[0] === 'REQ') {
        ctx.sendMessage(['CLOSED', message[1], 'auth-required: authenticate first']);
        return { messageType: 'REQ', events: [] };
      }
      return next();
    },
  });
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT || 0), maxPayload: 1 << 20 });
wss.on('connection', (ws, req) => {
  relay.handleConnection(ws, req.socket.remoteAddress);
  ws.on('message', async (data) => {
    let message;
    try {
      message = JSON.parse(data.toString());
    } catch {
      ws.send(JSON.stringify(['NOTICE', 'invalid: not JSON']));
      return;
    }
    if (!Array.isArray(message)) return;
    try {
      await relay.handleMessage(ws, message);
    } catch (err) {
      ws.send(JSON.stringify(['NOTICE', 'error: ' + err.message]));
    }
  });
  ws.on('close', () => relay.handleDisconnect(ws));
  ws.on('error', () => {});
});
wss.on('listening', () => {
  process.stdout.write(`listening ws://127.0.0.1:${wss.address().port}\n`);
});

function shutdown() {
  wss.close();
  for (const ws of wss.clients) ws.terminate();
  relay.destroy().finally(() => process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// Exit with the test process: it holds our stdin open.
process.stdin.on('end', shutdown);
process.stdin.resume();
