package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// errSilent: the wallet has not answered any request yet and several timed out; the
// remaining checks are skipped instead of each waiting for its own timeout.
var errSilent = errors.New("check: the wallet has answered no request so far")

// silentAfter is how many unanswered requests (with no answer ever) make the wallet
// "silent".
const silentAfter = 3

// session is the app side of one run: one relay pool, one subscription to every response
// of the wallet, requests sent one at a time.
type session struct {
	uri    *nip47.ConnectionURI
	o      Options
	log    *slog.Logger
	pool   *relaypool.Pool
	cipher *nip47.Cipher
	resp   *relaypool.Subscription

	sent      map[nostr.EventID]*exchange
	exchanges []*exchange // in the order sent
	answered  int         // exchanges that got at least one answer
	timeouts  int
}

// exchange is one request and the answers it got.
type exchange struct {
	method  nip47.Method
	scheme  nip47.Encryption // the scheme the content was encrypted with
	tag     string           // the encryption tag sent ("" = none)
	req     *nostr.Event
	answers []*answer
	// probe marks requests whose answers are judged by their own check only (the
	// unsupported-encryption probe may legitimately have an empty result_type).
	probe bool
}

// answer is one response event and what could be read from it.
type answer struct {
	ev     *nostr.Event
	resp   *nip47.Response // nil when it could not be read
	scheme nip47.Encryption
	err    error // why resp is nil
	eTag   bool  // the e tag names the request
	late   bool  // arrived while another request was awaited
}

// callOpts shape one request.
type callOpts struct {
	scheme   nip47.Encryption // default: the session's preferred scheme
	untagged bool             // NIP-04 without the encryption tag (legacy clients)
	tag      string           // an encryption tag naming another scheme than the content's
	extra    []nostr.Tag
	answers  int           // answers to wait for (default 1)
	wait     time.Duration // default Options.Timeout
}

func dial(ctx context.Context, uri *nip47.ConnectionURI, o Options) (*session, error) {
	po := o.Pool
	if po.Logger == nil {
		po.Logger = o.Logger.With("component", "relaypool")
	}
	secret := uri.Secret
	po.AuthKeys = func(string) []*nostr.SecretKey { return []*nostr.SecretKey{secret} }
	s := &session{uri: uri, o: o, log: o.Logger, pool: relaypool.New(po), cipher: nip47.NewCipher(16), sent: map[nostr.EventID]*exchange{}}
	for _, r := range uri.Relays {
		if err := s.pool.AddRelay(r); err != nil {
			s.pool.Close()
			return nil, fmt.Errorf("%w: relay %q: %v", ErrTransport, r, err)
		}
	}
	var err error
	// Every answer of the wallet, whatever its tags: an answer without an e tag or p tag
	// must still be seen (and blamed).
	s.resp, err = s.pool.Subscribe(ctx, []nostr.Filter{{Kinds: []int{nip47.KindResponse}, Authors: []string{uri.WalletPubKey.String()}}},
		relaypool.WithBufferSize(1024), relaypool.WithAuthKey(secret))
	if err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("%w: %v", ErrTransport, err)
	}
	// The subscription must be live before the first request, or a quick answer is lost.
	select {
	case <-s.resp.EOSE():
	case <-ctx.Done():
		s.close()
		return nil, ctx.Err()
	}
	return s, nil
}

func (s *session) close() {
	s.resp.Close()
	s.pool.Close()
}

// fetchInfo returns the newest info event of the wallet (nil if there is none).
func (s *session) fetchInfo(ctx context.Context) (*nostr.Event, error) {
	qctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	evs, err := s.pool.QuerySync(qctx, []nostr.Filter{{Kinds: []int{nip47.KindInfo}, Authors: []string{s.uri.WalletPubKey.String()}, Limit: 1}},
		relaypool.WithAuthKey(s.uri.Secret))
	if err != nil && len(evs) == 0 {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: no relay answered the info query: %v", ErrTransport, err)
	}
	var newest *nostr.Event
	for _, ev := range evs {
		if newest == nil || ev.CreatedAt > newest.CreatedAt {
			newest = ev
		}
	}
	return newest, nil
}

// seal builds a request event as o asks.
func (s *session) seal(method nip47.Method, params any, o callOpts) (*nostr.Event, nip47.Encryption, error) {
	req, err := nip47.NewRequest(method, params)
	if err != nil {
		return nil, "", err
	}
	now := s.o.Clock()
	switch {
	case o.untagged:
		ev, err := s.cipher.SealLegacyRequest(s.uri.Secret, s.uri.WalletPubKey, req, now, o.extra...)
		return ev, nip47.EncryptionNIP04, err
	case o.tag != "":
		// Encrypt with o.scheme, then name another scheme in the tag and sign again.
		ev, err := s.cipher.SealRequest(s.uri.Secret, s.uri.WalletPubKey, o.scheme, req, now, o.extra...)
		if err != nil {
			return nil, "", err
		}
		for i, t := range ev.Tags {
			if len(t) >= 2 && t[0] == "encryption" {
				ev.Tags[i] = nostr.Tag{"encryption", o.tag}
			}
		}
		return ev, o.scheme, ev.Sign(s.uri.Secret)
	}
	ev, err := s.cipher.SealRequest(s.uri.Secret, s.uri.WalletPubKey, o.scheme, req, now, o.extra...)
	return ev, o.scheme, err
}

// send signs and publishes a request; it fails with ErrTransport when no relay took it.
// The publish result is returned for checks that expect relays to refuse the event.
func (s *session) send(ctx context.Context, method nip47.Method, params any, o callOpts) (*exchange, *relaypool.PublishResult, error) {
	ev, scheme, err := s.seal(method, params, o)
	if err != nil {
		return nil, nil, err
	}
	x := &exchange{method: method, scheme: scheme, tag: ev.Tags.Value("encryption"), req: ev}
	s.sent[ev.ID] = x
	s.exchanges = append(s.exchanges, x)
	pctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	res, err := s.pool.Publish(pctx, ev, relaypool.WithAuthKey(s.uri.Secret))
	s.log.Debug("request", "method", string(method), "id", ev.ID.String(), "scheme", string(scheme), "err", err)
	if err != nil {
		if ctx.Err() != nil {
			return x, res, ctx.Err()
		}
		return x, res, fmt.Errorf("%w: no relay accepted the %s request: %v%s", ErrTransport, method, err, relayReasons(res))
	}
	return x, res, nil
}

func relayReasons(res *relaypool.PublishResult) string {
	if res == nil {
		return ""
	}
	out := ""
	for _, r := range res.Results() {
		out += fmt.Sprintf("; %s: %s %s", r.URL, r.Status, r.Message)
	}
	return out
}

// call sends a request and waits for its answers (o.answers, default 1) or the timeout.
// It returns the exchange whatever happened; a wallet that did not answer is not an
// error (the check decides), a transport failure is.
func (s *session) call(ctx context.Context, method nip47.Method, params any, o callOpts) (*exchange, error) {
	if s.answered == 0 && s.timeouts >= silentAfter {
		return nil, errSilent
	}
	if o.answers <= 0 {
		o.answers = 1
	}
	if o.wait <= 0 {
		o.wait = s.o.Timeout
	}
	x, _, err := s.send(ctx, method, params, o)
	if err != nil {
		return nil, err
	}
	if err := s.await(ctx, x, o.answers, o.wait); err != nil {
		return nil, err
	}
	if len(x.answers) == 0 {
		s.timeouts++
	}
	return x, nil
}

// await reads answers until x has n of them or d has passed.
func (s *session) await(ctx context.Context, x *exchange, n int, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for len(x.answers) < n {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		case ev, ok := <-s.resp.Events():
			if !ok {
				return fmt.Errorf("%w: the relay pool closed", ErrTransport)
			}
			s.take(x, ev)
		}
	}
	return nil
}

// take files one response event: under the request its e tag names, or, without a usable
// e tag, under the awaited request if it decrypts with our key (it is then ours, only
// mis-tagged). Answers to other apps of a shared wallet key do not decrypt and are dropped.
func (s *session) take(current *exchange, ev *nostr.Event) {
	a := &answer{ev: ev}
	a.resp, a.scheme, a.err = s.cipher.DecryptResponse(s.uri.Secret, ev)
	if to, ok := nip47.ResponseTo(ev); ok {
		if x := s.sent[to]; x != nil {
			a.eTag = true
			a.late = x != current
			s.file(x, a)
			return
		}
	}
	if a.err != nil || current == nil {
		return
	}
	s.file(current, a)
}

func (s *session) file(x *exchange, a *answer) {
	if len(x.answers) == 0 {
		s.answered++
	}
	x.answers = append(x.answers, a)
	s.log.Debug("answer", "method", string(x.method), "e_tag", a.eTag, "late", a.late, "err", a.err)
}

// drain files the answers that are already waiting (late ones), without blocking.
func (s *session) drain() {
	for {
		select {
		case ev, ok := <-s.resp.Events():
			if !ok {
				return
			}
			s.take(nil, ev)
		default:
			return
		}
	}
}

// first returns the first readable answer of x, or why there is none.
func (x *exchange) first() (*nip47.Response, string) {
	if x == nil {
		return nil, "not sent"
	}
	if len(x.answers) == 0 {
		return nil, "no answer"
	}
	for _, a := range x.answers {
		if a.resp != nil {
			return a.resp, ""
		}
	}
	return nil, fmt.Sprintf("the answer cannot be read: %v", x.answers[0].err)
}

// decode reads a successful result into v.
func decodeResult(resp *nip47.Response, v any) error {
	if len(resp.Result) == 0 {
		return errors.New("result is missing")
	}
	if err := json.Unmarshal(resp.Result, v); err != nil {
		return fmt.Errorf("result does not decode: %v", err)
	}
	return nil
}
