// Package wallet is the domain of the wallet service: connections (apps) with
// their scopes, budgets and expiry, amounts in millisatoshis, transactions,
// budget window maths and the pure authorization check. It does no I/O.
package wallet
