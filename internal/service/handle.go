package service

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// request is one decrypted request being served.
type request struct {
	ev     *nostr.Event
	conn   *wallet.Connection
	live   *live
	key    *nostr.SecretKey
	scheme nip47.Encryption
	method nip47.Method
	params json.RawMessage
	log    *slog.Logger
	// begin is a single payment's request until its reservation records it (see HandleRequest).
	begin *wallet.Request
}

// reply is one response to publish; multi-pay methods produce several, each with a d tag.
type reply struct {
	resp  *nip47.Response
	dTag  string
	hasD  bool
	code  string      // outcome for the request log
	moved wallet.MSat // amount spent or invoiced, for the request log
	// duplicate: the reservation found the request already recorded (another instance
	// runs it), or the connection revoked: no answer.
	duplicate bool
}

// singlePay methods record their request in the reservation's transaction.
func singlePay(m nip47.Method) bool {
	return m == nip47.MethodPayInvoice || m == nip47.MethodPayKeysend
}

// spendOrCreate are the methods Alby Hub drops when the request is older than 6 hours:
// replaying them late would move money or create invoices nobody waits for.
func spendOrCreate(m nip47.Method) bool {
	switch m {
	case nip47.MethodPayInvoice, nip47.MethodPayKeysend, nip47.MethodMultiPayInvoice,
		nip47.MethodMultiPayKeysend, nip47.MethodMakeInvoice, nip47.MethodMakeHoldInvoice,
		nip47.MethodSettleHoldInvoice, nip47.MethodCancelHoldInvoice:
		return true
	}
	return false
}

// HandleRequest serves one request event that the relay pool has already verified.
// Unknown, revoked or mis-addressed requests get no answer and cause no work.
func (s *Service) HandleRequest(ctx context.Context, ev *nostr.Event) {
	s.serving.Add(1)
	defer s.serving.Add(-1)
	start := s.now()
	if ev.Kind != nip47.KindRequest {
		return
	}
	servicePK, ok := nip47.Recipient(ev)
	if !ok {
		return
	}
	s.mu.RLock()
	l := s.conns[servicePK]
	s.mu.RUnlock()
	// Served from the in-memory copy; a revocation the copy does not show yet is caught
	// where the request is recorded (see live).
	if l == nil || l.client != ev.PubKey {
		return
	}
	conn := l.connection(servicePK)
	if exp, ok := nip47.Expiration(ev); ok && !start.Before(exp) {
		s.log.Debug("dropped expired request", "event", ev.ID.String(), "conn", conn.ID)
		return
	}
	key := s.cfg.Keys.Derive(conn.KeyIndex)
	log := withLazy(s.log, "event", ev.ID.String(), "conn", conn.ID)

	req, scheme, err := s.cipher.DecryptRequest(key, ev)
	if err != nil {
		// Not recorded, so the store's revocation check does not apply: read it (rare path).
		if fresh, err := s.cfg.Store.ConnectionByServiceKey(ctx, servicePK); err != nil || fresh.Revoked() {
			return
		}
		if code := s.answerUndecodable(ctx, key, ev, scheme, err, log); code != "" {
			s.cfg.Metrics.Request("", code, s.now().Sub(start))
		}
		return
	}
	r := &request{ev: ev, conn: conn, live: l, key: key, scheme: scheme, method: req.Method, params: req.Params, log: withLazy(log, "method", string(req.Method))}
	if spendOrCreate(r.method) && start.Sub(time.Unix(ev.CreatedAt, 0)) > s.cfg.MaxRequestAge {
		r.log.Info("dropped stale request", "age", start.Sub(time.Unix(ev.CreatedAt, 0)).String())
		return
	}
	// Exactly once: the event id is recorded before anything runs; a repeat from another
	// relay, a reconnect or another instance stops here. A single payment is recorded by
	// its reservation instead, in the same store transaction: an instance that dies before
	// it reserves leaves nothing recorded, and another instance's copy of the request runs.
	// A read-only request on a store private to this process needs no record first (see
	// private.go): repeats are caught in memory, and its log row is written after.
	unrecorded := false
	if s.private != nil && readOnly(r.method) {
		if !s.seen.add(ev.ID, start) {
			r.log.Debug("duplicate request dropped")
			return
		}
		unrecorded = s.unrecorded()
	}
	switch {
	case singlePay(r.method):
		r.begin = &wallet.Request{EventID: ev.ID, ConnectionID: conn.ID, Method: string(r.method), ReceivedAt: start}
	case unrecorded:
		s.unrecordedServed.Add(1)
		s.touch(ctx, r, start)
	case !s.record(ctx, r, start):
		return
	}

	var replies []reply
	if err := s.admit(r, start); err != nil {
		replies = []reply{s.failure(r.method, err)}
	} else {
		replies = s.serve(ctx, r)
	}
	if singlePay(r.method) {
		switch {
		case replies[0].duplicate:
			r.log.Debug("duplicate request dropped")
			return
		case r.begin != nil: // it failed before reserving: record it now, answer if first
			if !s.record(ctx, r, start) {
				return
			}
		default:
			s.touch(ctx, r, start)
		}
	}
	outcome, moved := wallet.OutcomeOK, wallet.MSat(0)
	for _, rep := range replies {
		s.publishReply(ctx, r, rep)
		if rep.code != wallet.OutcomeOK {
			outcome = rep.code
		}
		moved += rep.moved
	}
	took := s.now().Sub(start)
	// The outcome is for the log and the admin page: it need not be committed before the
	// next request is taken (it rides along with the next commit).
	if unrecorded {
		err = s.private.RecordRequestLater(ctx, wallet.Request{EventID: ev.ID, ConnectionID: conn.ID, Method: string(r.method),
			ReceivedAt: start, FinishedAt: s.now(), Outcome: outcome, Amount: moved, Duration: took})
	} else {
		err = s.cfg.Store.FinishRequestLater(ctx, ev.ID, outcome, moved, took, s.now())
	}
	if err != nil {
		r.log.Warn("finish request", "err", err)
	}
	r.log.Info("request", "outcome", outcome, "amount_msat", int64(moved), "duration", took.String())
	s.cfg.Metrics.Request(string(r.method), outcome, took)
}

// record is BeginRequest; false (answer nothing) if the request is recorded already.
func (s *Service) record(ctx context.Context, r *request, at time.Time) bool {
	r.begin = nil
	if err := s.cfg.Store.BeginRequest(ctx, r.ev.ID, r.conn.ID, string(r.method), at); err != nil {
		switch {
		case errors.Is(err, wallet.ErrDuplicateRequest):
			r.log.Debug("duplicate request dropped")
		case errors.Is(err, wallet.ErrRevoked):
			r.log.Debug("request of a revoked connection dropped")
		default:
			r.log.Error("record request", "err", err)
		}
		return false
	}
	s.touch(ctx, r, at)
	return true
}

// touchEvery is how fresh "last used" is kept: a busy connection would otherwise cost one
// more write transaction on every request.
const touchEvery = time.Minute

func (s *Service) touch(ctx context.Context, r *request, at time.Time) {
	last := r.live.touched.Load()
	if at.Unix()-last < int64(touchEvery/time.Second) || !r.live.touched.CompareAndSwap(last, at.Unix()) {
		return // fresh enough, or a concurrent request of the connection writes it
	}
	if err := s.cfg.Store.TouchConnection(ctx, r.conn.ID, at); err != nil {
		r.log.Warn("touch connection", "err", err)
	}
}

// admit applies the checks every method shares: scope, expiry, rate limit.
func (s *Service) admit(r *request, now time.Time) error {
	if err := wallet.Authorize(r.conn, string(r.method), now); err != nil {
		return err
	}
	if !s.limiter.allow(r.conn.ID, now) {
		return wallet.ErrRateLimited
	}
	return nil
}

// answerUndecodable follows Alby Hub: unsupported encryption and undecryptable content are
// answered (NIP-44, empty result_type); content that decrypts but is not a request is not.
// It returns the code answered, "" for none.
func (s *Service) answerUndecodable(ctx context.Context, key *nostr.SecretKey, ev *nostr.Event, scheme nip47.Encryption, err error, log *slog.Logger) string {
	var resp *nip47.Response
	switch {
	case errors.Is(err, nip47.ErrUnsupportedEncryption):
		resp = nip47.NewErrorResponse("", nip47.CodeUnsupportedEncryption, "unsupported encryption: "+truncate(string(scheme), 32))
	case errors.Is(err, nip47.ErrDecrypt):
		resp = nip47.NewErrorResponse("", nip47.CodeBadRequest, "failed to decrypt the request")
	default:
		log.Info("ignored undecodable request", "err", err)
		return ""
	}
	log.Info("request", "outcome", string(resp.Error.Code))
	out, err := s.cipher.SealResponse(key, ev.PubKey, ev.ID, nip47.EncryptionNIP44, resp, s.now())
	if err != nil {
		log.Error("seal response", "err", err)
		return ""
	}
	s.publish(ctx, out, log)
	return string(resp.Error.Code)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// failure builds the error reply for err through the one mapping function.
func (s *Service) failure(method nip47.Method, err error) reply {
	code, msg := errorResponse(err)
	return reply{resp: nip47.NewErrorResponse(method, code, msg), code: string(code)}
}

// success builds a result reply.
func (s *Service) success(method nip47.Method, result any, moved wallet.MSat) reply {
	resp, err := nip47.NewResult(method, result)
	if err != nil {
		return s.failure(method, err)
	}
	return reply{resp: resp, code: wallet.OutcomeOK, moved: moved}
}

func (s *Service) publishReply(ctx context.Context, r *request, rep reply) {
	var extra []nostr.Tag
	if rep.hasD {
		extra = append(extra, nip47.DTag(rep.dTag))
	}
	ev, err := s.cipher.SealResponse(r.key, r.ev.PubKey, r.ev.ID, r.scheme, rep.resp, s.now(), extra...)
	if err != nil {
		r.log.Error("seal response", "err", err)
		return
	}
	// An answer is handed to the relays without waiting for their OK where they can
	// report it later (the pool): the worker goes on, and Run waits for the outcomes
	// before it returns.
	if ap, ok := s.cfg.Relays.(asyncPublisher); ok {
		s.answers.Add(1)
		log := r.log
		if err := ap.PublishAsync(ev, func(err error) { s.published(ev, log, err); s.answers.Done() }); err != nil {
			s.published(ev, log, err)
			s.answers.Done()
		}
		return
	}
	s.publish(ctx, ev, r.log)
}

// asyncPublisher is a Relays that can report a publication's outcome later.
type asyncPublisher interface {
	PublishAsync(ev *nostr.Event, done func(error)) error
}

// publish hands ev to the relays. Relays.Publish bounds its own wait (the pool gives up on
// a relay after its PublishTimeout): no timer per answer here.
func (s *Service) publish(ctx context.Context, ev *nostr.Event, log *slog.Logger) error {
	err := s.cfg.Relays.Publish(ctx, ev)
	s.published(ev, log, err)
	return err
}

// published logs and counts a publication that no relay accepted (err != nil).
func (s *Service) published(ev *nostr.Event, log *slog.Logger, err error) {
	if err != nil {
		log.Warn("publish", "kind", ev.Kind, "err", err)
		s.cfg.Metrics.PublishFailed(ev.Kind)
	}
}
