package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/nwc-go/nwc/internal/nwa"
	"github.com/nwc-go/nwc/internal/wallet"
)

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (h *handler) apiFail(w http.ResponseWriter, err error) {
	if errors.Is(err, wallet.ErrNotFound) {
		apiError(w, http.StatusNotFound, "no such connection")
		return
	}
	h.log.Error("admin API", "err", err)
	apiError(w, http.StatusInternalServerError, err.Error())
}

func (h *handler) apiOverview(w http.ResponseWriter, r *http.Request, _ session) {
	o, err := h.overview(r.Context())
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (h *handler) apiConnections(w http.ResponseWriter, r *http.Request, _ session) {
	list, err := h.connectionViews(r.Context())
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": list})
}

func (h *handler) apiConnection(w http.ResponseWriter, r *http.Request, _ session) {
	c, err := h.connectionByPath(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	v, err := h.connectionView(r.Context(), c, true)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *handler) apiRequests(w http.ResponseWriter, r *http.Request, _ session) {
	c, err := h.connectionByPath(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	reqs, err := h.requestViews(r.Context(), c.ID)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": reqs})
}

func (h *handler) apiCreate(w http.ResponseWriter, r *http.Request, _ session) {
	var n NewConnection
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
		apiError(w, http.StatusBadRequest, `want {"name": "...", "methods": ["pay_invoice", ...], "budget": "50000sat/monthly", "expires": "30d", "isolated": false, "notifications": false}`)
		return
	}
	// "pay_invoice,get_info" in one element is accepted as on the command line.
	var methods []string
	for _, m := range n.Methods {
		methods = append(methods, strings.FieldsFunc(m, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	n.Methods = methods
	if err := checkNew(&n); err != nil {
		apiError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), errBadForm.Error()+": "))
		return
	}
	c, uri, err := h.cfg.Create(r.Context(), n)
	if err != nil {
		apiError(w, http.StatusBadRequest, "could not create the connection: "+err.Error())
		return
	}
	v, err := h.connectionView(r.Context(), c, false)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	qr, err := qrDataURL(uri.String())
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"connection": v, "uri": uri.String(), "qr_png": string(qr)})
}

func (h *handler) apiRevoke(w http.ResponseWriter, r *http.Request, _ session) {
	c, err := h.connectionByPath(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	if err := h.cfg.Revoke(r.Context(), c.ID); err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": c.ID, "status": "revoked"})
}

// NWARequestView is a parsed walletauth URI as the API shows it before approval.
type NWARequestView struct {
	ClientPubKey      string   `json:"client_pubkey"`
	Name              string   `json:"name"`
	Icon              string   `json:"icon,omitempty"`
	Relays            []string `json:"relays"`
	Methods           []string `json:"methods"`
	NotificationTypes []string `json:"notification_types,omitempty"`
	BudgetMSat        int64    `json:"max_amount"`
	BudgetRenewal     string   `json:"budget_renewal,omitempty"`
	ExpiresAt         *int64   `json:"expires_at,omitempty"`
	Isolated          bool     `json:"isolated"`
	ReturnTo          string   `json:"return_to,omitempty"`
	Notes             []string `json:"notes,omitempty"`
}

func nwaRequestView(req *nwa.Request) NWARequestView {
	v := NWARequestView{
		ClientPubKey: req.URI.ClientPubKey.String(), Name: req.Name, Icon: req.Icon, Relays: req.URI.Relays,
		Methods: req.Methods, NotificationTypes: req.NotificationTypes, BudgetMSat: int64(req.Budget.Limit),
		ExpiresAt: unixPtr(req.ExpiresAt), Isolated: req.Isolated, ReturnTo: req.ReturnTo, Notes: req.Notes,
	}
	if req.Budget.Enabled() {
		v.BudgetRenewal = string(req.Budget.Renewal)
	}
	return v
}

// ApprovalView is the API's answer to an approval.
type ApprovalView struct {
	Connection   *ConnectionView   `json:"connection"`
	WalletPubKey string            `json:"wallet_pubkey"`
	Relays       []string          `json:"relays"`
	Published    bool              `json:"published"`
	Results      []RelayResultView `json:"results"`
	ReturnURL    string            `json:"return_url,omitempty"`
	Offline      bool              `json:"offline,omitempty"`
}

// RelayResultView is the info event's publication on one relay.
type RelayResultView struct {
	URL     string `json:"url"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// readNWARequest reads {"uri": ...} and parses the walletauth URI in it; false when it
// has answered with an error.
func (h *handler) readNWARequest(w http.ResponseWriter, r *http.Request) (*nwa.Request, bool) {
	var body struct {
		URI string `json:"uri"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, `want {"uri": "nostr+walletauth://..."}`)
		return nil, false
	}
	req, err := nwa.Parse(body.URI, h.now())
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return req, true
}

func (h *handler) apiNWAParse(w http.ResponseWriter, r *http.Request, _ session) {
	req, ok := h.readNWARequest(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, nwaRequestView(req))
}

func (h *handler) apiNWAApprove(w http.ResponseWriter, r *http.Request, _ session) {
	req, ok := h.readNWARequest(w, r)
	if !ok {
		return
	}
	a, err := h.cfg.Approve(r.Context(), req)
	if errors.Is(err, nwa.ErrAlreadyConnected) {
		apiError(w, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		h.apiFail(w, err)
		return
	}
	v, err := h.connectionView(r.Context(), a.Connection, false)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ApprovalJSON(a, v))
}

// ApprovalJSON is the JSON form of an approval (also printed by `nwc connect approve --json`).
func ApprovalJSON(a *nwa.Approval, conn *ConnectionView) ApprovalView {
	out := ApprovalView{
		Connection: conn, WalletPubKey: a.Connection.ServicePubKey.String(), Relays: a.Relays,
		Published: a.Published(), ReturnURL: a.ReturnURL, Offline: a.Offline, Results: []RelayResultView{},
	}
	for _, res := range a.Results {
		out.Results = append(out.Results, RelayResultView{URL: res.URL, Status: res.Status.String(), Message: res.Message})
	}
	return out
}
