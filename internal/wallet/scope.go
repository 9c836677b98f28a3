package wallet

import (
	"fmt"
	"slices"
	"strings"
)

// Scope is a permission granted to a connection. One scope covers several
// methods (Alby Hub's model, NIP47.md §7).
type Scope string

// Scopes.
const (
	ScopePayInvoice       Scope = "pay_invoice"       // pay_invoice, pay_keysend, multi_pay_*
	ScopeMakeInvoice      Scope = "make_invoice"      // make_invoice and the hold-invoice methods
	ScopeLookupInvoice    Scope = "lookup_invoice"    // lookup_invoice
	ScopeListTransactions Scope = "list_transactions" // list_transactions
	ScopeGetBalance       Scope = "get_balance"       // get_balance
	ScopeGetInfo          Scope = "get_info"          // node fields of get_info (the method itself is always allowed)
	ScopeSignMessage      Scope = "sign_message"      // sign_message
	ScopeNotifications    Scope = "notifications"     // receive 23196/23197 notifications
	ScopeSuperuser        Scope = "superuser"         // create_connection
)

// AllScopes lists every scope in canonical order.
var AllScopes = []Scope{
	ScopePayInvoice, ScopeMakeInvoice, ScopeLookupInvoice, ScopeListTransactions,
	ScopeGetBalance, ScopeGetInfo, ScopeSignMessage, ScopeNotifications, ScopeSuperuser,
}

// Method names (NIP-47 §4, incl. removed multi_* and Alby extensions).
const (
	MethodPayInvoice        = "pay_invoice"
	MethodPayKeysend        = "pay_keysend"
	MethodMultiPayInvoice   = "multi_pay_invoice"
	MethodMultiPayKeysend   = "multi_pay_keysend"
	MethodMakeInvoice       = "make_invoice"
	MethodLookupInvoice     = "lookup_invoice"
	MethodListTransactions  = "list_transactions"
	MethodGetBalance        = "get_balance"
	MethodGetInfo           = "get_info"
	MethodMakeHoldInvoice   = "make_hold_invoice"
	MethodSettleHoldInvoice = "settle_hold_invoice"
	MethodCancelHoldInvoice = "cancel_hold_invoice"
	MethodSignMessage       = "sign_message"
	MethodGetBudget         = "get_budget"
	MethodCreateConnection  = "create_connection"
)

// methodScopes maps each known method to the scope that grants it; ""
// marks methods that need no scope. Order is the canonical method order.
var methodScopes = []struct {
	method string
	scope  Scope
}{
	{MethodPayInvoice, ScopePayInvoice},
	{MethodPayKeysend, ScopePayInvoice},
	{MethodMultiPayInvoice, ScopePayInvoice},
	{MethodMultiPayKeysend, ScopePayInvoice},
	{MethodMakeInvoice, ScopeMakeInvoice},
	{MethodMakeHoldInvoice, ScopeMakeInvoice},
	{MethodSettleHoldInvoice, ScopeMakeInvoice},
	{MethodCancelHoldInvoice, ScopeMakeInvoice},
	{MethodLookupInvoice, ScopeLookupInvoice},
	{MethodListTransactions, ScopeListTransactions},
	{MethodGetBalance, ScopeGetBalance},
	{MethodGetInfo, ""},
	{MethodGetBudget, ""},
	{MethodSignMessage, ScopeSignMessage},
	{MethodCreateConnection, ScopeSuperuser},
}

// Notification types (NIP-47 §6).
const (
	NotificationPaymentReceived     = "payment_received"
	NotificationPaymentSent         = "payment_sent"
	NotificationHoldInvoiceAccepted = "hold_invoice_accepted"
)

// AllNotificationTypes lists the notification types in canonical order.
var AllNotificationTypes = []string{
	NotificationPaymentReceived, NotificationPaymentSent, NotificationHoldInvoiceAccepted,
}

// ScopeFor returns the scope that grants method. ok is false for an unknown
// method. get_info and get_budget are always allowed: for them the scope is
// "" except that get_info reports ScopeGetInfo, which governs its node fields.
func ScopeFor(method string) (scope Scope, ok bool) {
	if method == MethodGetInfo {
		return ScopeGetInfo, true
	}
	for _, ms := range methodScopes {
		if ms.method == method {
			return ms.scope, true
		}
	}
	return "", false
}

// AlwaysAllowed reports whether method needs no scope (get_info, get_budget).
func AlwaysAllowed(method string) bool {
	return method == MethodGetInfo || method == MethodGetBudget
}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return slices.Contains(AllScopes, s) }

// ParseScopes turns a list of scope or method names (as given to
// `nwc connect new --methods`, comma or space separated elements allowed)
// into a sorted, de-duplicated scope list. get_info/get_budget add nothing
// beyond ScopeGetInfo for "get_info".
func ParseScopes(names []string) ([]Scope, error) {
	var out []Scope
	for _, n := range names {
		for _, f := range strings.FieldsFunc(n, func(r rune) bool { return r == ',' || r == ' ' }) {
			s := Scope(f)
			if !s.Valid() {
				var ok bool
				if s, ok = ScopeFor(f); !ok {
					return nil, fmt.Errorf("%w: %q", ErrInvalidScope, f)
				}
			}
			if s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.SortFunc(out, func(a, b Scope) int { return slices.Index(AllScopes, a) - slices.Index(AllScopes, b) })
	return out, nil
}

// MethodsFor lists, in canonical order, the methods callable with scopes,
// always including get_info and get_budget.
func MethodsFor(scopes []Scope) []string {
	var out []string
	for _, ms := range methodScopes {
		if ms.scope == "" || slices.Contains(scopes, ms.scope) {
			out = append(out, ms.method)
		}
	}
	return out
}
