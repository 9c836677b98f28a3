package admin

import (
	"context"
	"time"

	"github.com/nwc-go/nwc/internal/nwa"
	"github.com/nwc-go/nwc/internal/wallet"
)

// ConnectionView is a connection with its usage, as the pages and the JSON API show it.
// Amounts are msat, times unix seconds (absent = never).
type ConnectionView struct {
	ID                  int64                `json:"id"`
	Name                string               `json:"name"`
	Status              string               `json:"status"` // active, expired or revoked
	ClientPubKey        string               `json:"client_pubkey"`
	ServicePubKey       string               `json:"service_pubkey"`
	Scopes              []string             `json:"scopes"`  // what was granted (one scope covers several methods)
	Methods             []string             `json:"methods"` // every method that grants
	Notifications       []string             `json:"notifications"`
	Isolated            bool                 `json:"isolated"`
	BalanceMSat         *int64               `json:"balance_msat,omitempty"` // isolated connections only
	BudgetMSat          int64                `json:"budget_msat"`            // 0 = no budget
	BudgetRenewal       string               `json:"budget_renewal"`
	BudgetUsedMSat      int64                `json:"budget_used_msat"` // in the current window (all time without a budget)
	BudgetRemainingMSat *int64               `json:"budget_remaining_msat,omitempty"`
	BudgetRenewsAt      *int64               `json:"budget_renews_at,omitempty"`
	ExpiresAt           *int64               `json:"expires_at,omitempty"`
	CreatedAt           int64                `json:"created_at"`
	LastUsedAt          *int64               `json:"last_used_at,omitempty"`
	RevokedAt           *int64               `json:"revoked_at,omitempty"`
	AppRelays           []string             `json:"app_relays,omitempty"` // NWA connections: the relays the app chose
	Requests            *wallet.RequestStats `json:"requests,omitempty"`   // detail view only
}

// UsedPercent is the share of the budget used, 0-100 (0 without a budget).
func (v *ConnectionView) UsedPercent() int {
	if v.BudgetMSat <= 0 {
		return 0
	}
	return int(min(100, v.BudgetUsedMSat*100/v.BudgetMSat))
}

func scopeNames(scopes []wallet.Scope) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if s != wallet.ScopeNotifications {
			out = append(out, string(s))
		}
	}
	return out
}

func unixPtr(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	u := t.Unix()
	return &u
}

// connectionView gathers a connection's usage from the store.
func (h *handler) connectionView(ctx context.Context, c *wallet.Connection, detail bool) (*ConnectionView, error) {
	now := h.now()
	v := &ConnectionView{
		ID: c.ID, Name: c.Name, Status: c.Status(now),
		ClientPubKey: c.ClientPubKey.String(), ServicePubKey: c.ServicePubKey.String(),
		Scopes: scopeNames(c.Scopes), Methods: c.Methods(), Notifications: c.Notifications(), Isolated: c.Isolated,
		BudgetMSat: int64(c.Budget.Limit), BudgetRenewal: string(c.Budget.Renewal),
		ExpiresAt: unixPtr(c.ExpiresAt), CreatedAt: c.CreatedAt.Unix(),
		LastUsedAt: unixPtr(c.LastUsedAt), RevokedAt: unixPtr(c.RevokedAt),
	}
	if v.BudgetRenewal == "" {
		v.BudgetRenewal = string(wallet.RenewalNever)
	}
	used, err := h.cfg.Store.BudgetUsed(ctx, c.ID, c.Budget.WindowStart(now, h.loc))
	if err != nil {
		return nil, err
	}
	v.BudgetUsedMSat = int64(used)
	if c.Budget.Enabled() {
		rem := int64(c.Budget.Remaining(used))
		v.BudgetRemainingMSat = &rem
		v.BudgetRenewsAt = unixPtr(wallet.NextRenewal(c.Budget.Renewal, now, h.loc))
	}
	if c.Isolated {
		bal, err := h.cfg.Store.IsolatedBalance(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		b := int64(bal)
		v.BalanceMSat = &b
	}
	if detail {
		stats, err := h.cfg.Store.RequestStats(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		v.Requests = &stats
		if st, ok := h.cfg.Store.(nwa.Store); ok {
			if v.AppRelays, err = nwa.RelaysOf(ctx, st, c); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

func (h *handler) connectionViews(ctx context.Context) ([]*ConnectionView, error) {
	list, err := h.cfg.Store.ListConnections(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*ConnectionView, 0, len(list))
	// Newest first: the one just created is at the top.
	for i := len(list) - 1; i >= 0; i-- {
		v, err := h.connectionView(ctx, &list[i], false)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// RequestView is one request of a connection's log.
type RequestView struct {
	EventID    string `json:"event_id"`
	Method     string `json:"method"`
	Outcome    string `json:"outcome"` // "ok", a NIP-47 error code, or "running"
	AmountMSat int64  `json:"amount_msat"`
	ReceivedAt int64  `json:"received_at"`
	DurationMS int64  `json:"duration_ms"`
}

func (h *handler) requestViews(ctx context.Context, id int64) ([]RequestView, error) {
	reqs, err := h.cfg.Store.RecentRequests(ctx, id, 50)
	if err != nil {
		return nil, err
	}
	out := make([]RequestView, 0, len(reqs))
	for _, r := range reqs {
		outcome := r.Outcome
		if outcome == "" {
			outcome = "running"
		}
		out = append(out, RequestView{
			EventID: r.EventID.String(), Method: r.Method, Outcome: outcome, AmountMSat: int64(r.Amount),
			ReceivedAt: r.ReceivedAt.Unix(), DurationMS: r.Duration.Milliseconds(),
		})
	}
	return out, nil
}

// Overview is the wallet at a glance.
type Overview struct {
	Backend     BackendView `json:"backend"`
	Relays      []RelayView `json:"relays"`
	Connections int         `json:"connections"` // active ones
	Total       int         `json:"connections_total"`
}

// BackendView describes the Lightning backend; Error is set when it could not be asked.
type BackendView struct {
	Alias       string `json:"alias,omitempty"`
	Network     string `json:"network,omitempty"`
	PubKey      string `json:"pubkey,omitempty"`
	BalanceMSat int64  `json:"balance_msat"`
	Error       string `json:"error,omitempty"`
}

// RelayView is one relay of the service's pool.
type RelayView struct {
	URL       string `json:"url"`
	Connected bool   `json:"connected"`
	Since     *int64 `json:"since,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

func (h *handler) overview(ctx context.Context) (*Overview, error) {
	o := &Overview{Relays: []RelayView{}}
	if h.cfg.Backend != nil {
		info, err := h.cfg.Backend.Info(ctx)
		if err == nil {
			o.Backend.Alias, o.Backend.Network, o.Backend.PubKey = info.Alias, info.Network, info.PubKey
			o.Backend.BalanceMSat, err = h.cfg.Backend.Balance(ctx)
		}
		if err != nil {
			o.Backend.Error = err.Error()
		}
	}
	if h.cfg.Relays != nil {
		for _, r := range h.cfg.Relays() {
			rv := RelayView{URL: r.URL, Connected: r.Connected, Since: unixPtr(r.Since)}
			if r.LastError != nil {
				rv.LastError = r.LastError.Error()
			}
			o.Relays = append(o.Relays, rv)
		}
	}
	list, err := h.cfg.Store.ListConnections(ctx)
	if err != nil {
		return nil, err
	}
	now := h.now()
	o.Total = len(list)
	for i := range list {
		if list[i].Active(now) {
			o.Connections++
		}
	}
	return o, nil
}
