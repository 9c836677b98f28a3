package wallet

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestScopeFor(t *testing.T) {
	for _, tc := range []struct {
		method string
		scope  Scope
		ok     bool
	}{
		{MethodPayInvoice, ScopePayInvoice, true},
		{MethodPayKeysend, ScopePayInvoice, true},
		{MethodMultiPayInvoice, ScopePayInvoice, true},
		{MethodMultiPayKeysend, ScopePayInvoice, true},
		{MethodMakeInvoice, ScopeMakeInvoice, true},
		{MethodMakeHoldInvoice, ScopeMakeInvoice, true},
		{MethodSettleHoldInvoice, ScopeMakeInvoice, true},
		{MethodCancelHoldInvoice, ScopeMakeInvoice, true},
		{MethodLookupInvoice, ScopeLookupInvoice, true},
		{MethodListTransactions, ScopeListTransactions, true},
		{MethodGetBalance, ScopeGetBalance, true},
		{MethodGetInfo, ScopeGetInfo, true},
		{MethodGetBudget, "", true},
		{MethodSignMessage, ScopeSignMessage, true},
		{MethodCreateConnection, ScopeSuperuser, true},
		{"notifications", "", false}, // a scope, not a method
		{"pay_bolt12_offer", "", false},
		{"", "", false},
	} {
		s, ok := ScopeFor(tc.method)
		if s != tc.scope || ok != tc.ok {
			t.Errorf("ScopeFor(%q) = %q, %v; want %q, %v", tc.method, s, ok, tc.scope, tc.ok)
		}
	}
}

func TestParseScopes(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []Scope
		err  bool
	}{
		{[]string{"pay_invoice,get_balance"}, []Scope{ScopePayInvoice, ScopeGetBalance}, false},
		{[]string{"get_balance", "pay_keysend", "pay_invoice"}, []Scope{ScopePayInvoice, ScopeGetBalance}, false},
		{[]string{"make_hold_invoice notifications"}, []Scope{ScopeMakeInvoice, ScopeNotifications}, false},
		{[]string{"get_budget"}, nil, false},
		{[]string{"get_info"}, []Scope{ScopeGetInfo}, false},
		{[]string{"superuser", "sign_message", "list_transactions", "lookup_invoice"},
			[]Scope{ScopeLookupInvoice, ScopeListTransactions, ScopeSignMessage, ScopeSuperuser}, false},
		{[]string{""}, nil, false},
		{[]string{"pay_invoice,steal_funds"}, nil, true},
	} {
		got, err := ParseScopes(tc.in)
		if tc.err {
			if !errors.Is(err, ErrInvalidScope) {
				t.Errorf("ParseScopes(%q) error %v, want ErrInvalidScope", tc.in, err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ParseScopes(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestMethodsFor(t *testing.T) {
	for _, tc := range []struct {
		scopes []Scope
		want   []string
	}{
		{nil, []string{"get_info", "get_budget"}},
		{[]Scope{ScopePayInvoice}, []string{"pay_invoice", "pay_keysend", "multi_pay_invoice", "multi_pay_keysend", "get_info", "get_budget"}},
		{[]Scope{ScopeGetBalance, ScopeMakeInvoice}, []string{"make_invoice", "make_hold_invoice", "settle_hold_invoice",
			"cancel_hold_invoice", "get_balance", "get_info", "get_budget"}},
		{[]Scope{ScopeNotifications}, []string{"get_info", "get_budget"}},
	} {
		if got := MethodsFor(tc.scopes); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("MethodsFor(%v) = %v, want %v", tc.scopes, got, tc.want)
		}
	}
}

func TestAuthorize(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	base := Connection{Scopes: []Scope{ScopePayInvoice, ScopeGetBalance}}
	expired := base
	expired.ExpiresAt = now
	future := base
	future.ExpiresAt = now.Add(time.Second)
	revoked := base
	revoked.RevokedAt = now.Add(-time.Hour)
	revokedAndExpired := revoked
	revokedAndExpired.ExpiresAt = now.Add(-time.Minute)
	none := Connection{}
	for _, tc := range []struct {
		name   string
		c      *Connection
		method string
		want   error
	}{
		{"granted", &base, MethodPayInvoice, nil},
		{"covered by scope", &base, MethodMultiPayKeysend, nil},
		{"missing scope", &base, MethodMakeInvoice, ErrRestricted},
		{"hold invoice needs make_invoice", &base, MethodSettleHoldInvoice, ErrRestricted},
		{"get_info always", &none, MethodGetInfo, nil},
		{"get_budget always", &none, MethodGetBudget, nil},
		{"nothing granted", &none, MethodGetBalance, ErrRestricted},
		{"superuser needed", &base, MethodCreateConnection, ErrRestricted},
		{"unknown method", &base, "pay_offer", ErrUnknownMethod},
		{"expiry is exclusive", &expired, MethodGetInfo, ErrExpired},
		{"not yet expired", &future, MethodPayInvoice, nil},
		{"revoked", &revoked, MethodGetInfo, ErrRevoked},
		{"revoked wins over expired", &revokedAndExpired, MethodPayInvoice, ErrRevoked},
		{"expired wins over unknown method", &expired, "nope", ErrExpired},
		{"nil connection", nil, MethodGetInfo, ErrRestricted},
	} {
		err := Authorize(tc.c, tc.method, now)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: Authorize = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := Authorize(&base, MethodMakeInvoice, now); err == nil || err.Error() != "wallet: restricted: this app does not have the make_invoice scope" {
		t.Errorf("restricted message = %v", err)
	}
}

func TestConnectionState(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	c := Connection{ExpiresAt: now.Add(time.Hour)}
	if !c.Active(now) || c.Expired(now) || c.Revoked() {
		t.Fatal("fresh connection not active")
	}
	if c.Active(now.Add(time.Hour)) || !c.Expired(now.Add(time.Hour)) {
		t.Fatal("connection active at its expiry")
	}
	never := Connection{}
	if never.Expired(now.AddDate(100, 0, 0)) {
		t.Fatal("connection without expiry expired")
	}
	c.RevokedAt = now
	if c.Active(now) || !c.Revoked() {
		t.Fatal("revoked connection active")
	}
}

func TestNotifications(t *testing.T) {
	for _, tc := range []struct {
		c    Connection
		typ  string
		want []string
		gets bool
	}{
		{Connection{}, NotificationPaymentReceived, nil, false},
		{Connection{NotificationTypes: []string{NotificationPaymentSent}}, NotificationPaymentSent, nil, false}, // no scope
		{Connection{Scopes: []Scope{ScopeNotifications}}, NotificationHoldInvoiceAccepted, AllNotificationTypes, true},
		{Connection{Scopes: []Scope{ScopeNotifications}, NotificationTypes: []string{NotificationPaymentSent}},
			NotificationPaymentReceived, []string{NotificationPaymentSent}, false},
		{Connection{Scopes: []Scope{ScopeNotifications}, NotificationTypes: []string{NotificationPaymentSent}},
			NotificationPaymentSent, []string{NotificationPaymentSent}, true},
	} {
		if got := tc.c.Notifications(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%+v.Notifications() = %v, want %v", tc.c, got, tc.want)
		}
		if got := tc.c.WantsNotification(tc.typ); got != tc.gets {
			t.Errorf("%+v.WantsNotification(%s) = %v, want %v", tc.c, tc.typ, got, tc.gets)
		}
	}
	// The returned slice is a copy.
	c := Connection{Scopes: []Scope{ScopeNotifications}}
	c.Notifications()[0] = "mutated"
	if AllNotificationTypes[0] != NotificationPaymentReceived {
		t.Fatal("Notifications exposed the package slice")
	}
}

func TestStateAt(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		tx   Transaction
		want TxState
	}{
		{Transaction{Type: TxIncoming, State: StatePending, ExpiresAt: now}, StateExpired},
		{Transaction{Type: TxIncoming, State: StatePending, ExpiresAt: now.Add(time.Second)}, StatePending},
		{Transaction{Type: TxIncoming, State: StatePending}, StatePending},
		{Transaction{Type: TxIncoming, State: StateSettled, ExpiresAt: now.Add(-time.Hour)}, StateSettled},
		{Transaction{Type: TxIncoming, State: StateAccepted, ExpiresAt: now.Add(-time.Hour)}, StateAccepted},
		{Transaction{Type: TxOutgoing, State: StatePending, ExpiresAt: now.Add(-time.Hour)}, StatePending},
	} {
		if got := tc.tx.StateAt(now); got != tc.want {
			t.Errorf("StateAt(%+v) = %s, want %s", tc.tx, got, tc.want)
		}
	}
}

func TestConnectionStatus(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		c    Connection
		want string
	}{
		{"no expiry", Connection{}, "active"},
		{"before expiry", Connection{ExpiresAt: now.Add(time.Second)}, "active"},
		{"at expiry", Connection{ExpiresAt: now}, "expired"},
		{"revoked", Connection{RevokedAt: now.Add(-time.Hour)}, "revoked"},
		{"revoked wins over expired", Connection{RevokedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}, "revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Status(now); got != tt.want {
				t.Errorf("Status = %q, want %q", got, tt.want)
			}
		})
	}
}
