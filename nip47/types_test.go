package nip47

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

const (
	hashA   = "1111111111111111111111111111111111111111111111111111111111111111"
	hashB   = "2222222222222222222222222222222222222222222222222222222222222222"
	nodeID  = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619"
	invoice = "lnbc10u1pjexampleinvoice"
)

func i64(v int64) *int64 { return &v }

// jsonEqual compares two JSON texts semantically.
func jsonEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON mismatch\n got: %s\nwant: %s", got, want)
	}
}

var sampleTx = Transaction{
	Type: TransactionIncoming, State: StateSettled, Invoice: invoice, Description: "coffee",
	DescriptionHash: hashB, Preimage: hashA, PaymentHash: hashB, Amount: 21000, FeesPaid: 0,
	CreatedAt: 1700000000, ExpiresAt: i64(1700003600), SettledAt: i64(1700000100),
	Metadata: json.RawMessage(`{"comment":"hi"}`),
}

const sampleTxJSON = `{"type":"incoming","state":"settled","invoice":"` + invoice + `","description":"coffee",
 "description_hash":"` + hashB + `","preimage":"` + hashA + `","payment_hash":"` + hashB + `",
 "amount":21000,"fees_paid":0,"created_at":1700000000,"expires_at":1700003600,"settled_at":1700000100,
 "metadata":{"comment":"hi"}}`

// TestMethodRoundTrip decodes canonical params and results for every method, checks the
// typed value, and re-encodes it to the same JSON.
func TestMethodRoundTrip(t *testing.T) {
	client, _ := nostr.ParsePublicKey("b889ff5b1513b641e2a139f661a661364979c5beee91842f8f0ef42ab558e9d4")
	tests := []struct {
		method     Method
		params     string
		wantParams any
		result     string
		wantResult any
	}{
		{MethodPayInvoice,
			`{"invoice":"` + invoice + `","amount":21000,"metadata":{"comment":"hi"}}`,
			&PayInvoiceParams{Invoice: invoice, Amount: 21000, Metadata: json.RawMessage(`{"comment":"hi"}`)},
			`{"preimage":"` + hashA + `","fees_paid":3000}`,
			&PayInvoiceResult{Preimage: hashA, FeesPaid: 3000}},
		{MethodMultiPayInvoice,
			`{"invoices":[{"id":"a1","invoice":"` + invoice + `","amount":123,"metadata":{}},{"invoice":"` + invoice + `"}]}`,
			&MultiPayInvoiceParams{Invoices: []MultiPayInvoiceItem{
				{ID: "a1", Invoice: invoice, Amount: 123, Metadata: json.RawMessage(`{}`)}, {Invoice: invoice}}},
			`{"preimage":"` + hashA + `","fees_paid":1}`,
			&PayInvoiceResult{Preimage: hashA, FeesPaid: 1}},
		{MethodPayKeysend,
			`{"amount":10000,"pubkey":"` + nodeID + `","preimage":"` + hashA + `","tlv_records":[{"type":5482373484,"value":"0102ff"},{"type":18446744073709551615,"value":""}]}`,
			&PayKeysendParams{Amount: 10000, Pubkey: nodeID, Preimage: hashA,
				TLVRecords: []TLVRecord{{Type: 5482373484, Value: "0102ff"}, {Type: 1<<64 - 1, Value: ""}}},
			`{"preimage":"` + hashA + `","fees_paid":123}`,
			&PayKeysendResult{Preimage: hashA, FeesPaid: 123}},
		{MethodMultiPayKeysend,
			`{"keysends":[{"id":"k1","amount":123,"pubkey":"` + nodeID + `","tlv_records":[{"type":7629169,"value":"ab"}]},{"amount":5,"pubkey":"` + nodeID + `","preimage":"` + hashB + `"}]}`,
			&MultiPayKeysendParams{Keysends: []MultiPayKeysendItem{
				{ID: "k1", Amount: 123, Pubkey: nodeID, TLVRecords: []TLVRecord{{Type: 7629169, Value: "ab"}}},
				{Amount: 5, Pubkey: nodeID, Preimage: hashB}}},
			`{"preimage":"` + hashA + `","fees_paid":0}`,
			&PayInvoiceResult{Preimage: hashA}},
		{MethodMakeInvoice,
			`{"amount":21000,"description":"coffee","description_hash":"` + hashB + `","expiry":3600,"metadata":{"a":1}}`,
			&MakeInvoiceParams{Amount: 21000, Description: "coffee", DescriptionHash: hashB, Expiry: 3600, Metadata: json.RawMessage(`{"a":1}`)},
			sampleTxJSON, &sampleTx},
		{MethodLookupInvoice,
			`{"payment_hash":"` + hashB + `"}`,
			&LookupInvoiceParams{PaymentHash: hashB},
			sampleTxJSON, &sampleTx},
		{MethodLookupInvoice,
			`{"invoice":"` + invoice + `"}`,
			&LookupInvoiceParams{Invoice: invoice},
			`{"type":"outgoing","payment_hash":"` + hashB + `","amount":1000,"fees_paid":10,"created_at":1}`,
			&Transaction{Type: TransactionOutgoing, PaymentHash: hashB, Amount: 1000, FeesPaid: 10, CreatedAt: 1}},
		{MethodListTransactions,
			`{"from":1693876973,"until":1703225078,"limit":10,"offset":5,"unpaid":true,"type":"incoming","unpaid_outgoing":true,"unpaid_incoming":true}`,
			&ListTransactionsParams{From: 1693876973, Until: 1703225078, Limit: 10, Offset: 5, Unpaid: true,
				Type: TransactionIncoming, UnpaidOutgoing: true, UnpaidIncoming: true},
			`{"transactions":[` + sampleTxJSON + `],"total_count":7}`,
			&ListTransactionsResult{Transactions: []Transaction{sampleTx}, TotalCount: 7}},
		{MethodListTransactions, `{}`, &ListTransactionsParams{},
			`{"transactions":[]}`, &ListTransactionsResult{Transactions: []Transaction{}}},
		{MethodGetBalance, `{}`, &GetBalanceParams{},
			`{"balance":100000}`, &GetBalanceResult{Balance: 100000}},
		{MethodGetInfo, `{}`, &GetInfoParams{},
			`{"alias":"my node","color":"#3399ff","pubkey":"` + nodeID + `","network":"mainnet","block_height":850000,
			  "block_hash":"` + hashA + `","methods":["pay_invoice","get_balance"],"notifications":["payment_received"],
			  "lud16":"alice@example.com","metadata":{"id":1,"name":"app"}}`,
			&GetInfoResult{Alias: "my node", Color: "#3399ff", Pubkey: nodeID, Network: "mainnet", BlockHeight: 850000,
				BlockHash: hashA, Methods: []Method{MethodPayInvoice, MethodGetBalance},
				Notifications: []string{NotificationPaymentReceived}, LUD16: "alice@example.com",
				Metadata: json.RawMessage(`{"id":1,"name":"app"}`)}},
		{MethodMakeHoldInvoice,
			`{"amount":5000,"payment_hash":"` + hashB + `","description":"hold","description_hash":"` + hashA + `","expiry":600,"min_cltv_expiry_delta":144,"metadata":{"x":"y"}}`,
			&MakeHoldInvoiceParams{Amount: 5000, PaymentHash: hashB, Description: "hold", DescriptionHash: hashA,
				Expiry: 600, MinCLTVExpiryDelta: 144, Metadata: json.RawMessage(`{"x":"y"}`)},
			`{"type":"incoming","state":"pending","invoice":"` + invoice + `","payment_hash":"` + hashB + `","amount":5000,"fees_paid":0,"created_at":10,"expires_at":610}`,
			&Transaction{Type: TransactionIncoming, State: StatePending, Invoice: invoice, PaymentHash: hashB,
				Amount: 5000, CreatedAt: 10, ExpiresAt: i64(610)}},
		{MethodSettleHoldInvoice, `{"preimage":"` + hashA + `"}`, &SettleHoldInvoiceParams{Preimage: hashA},
			`{}`, &SettleHoldInvoiceResult{}},
		{MethodCancelHoldInvoice, `{"payment_hash":"` + hashB + `"}`, &CancelHoldInvoiceParams{PaymentHash: hashB},
			`{}`, &CancelHoldInvoiceResult{}},
		{MethodSignMessage, `{"message":"hello"}`, &SignMessageParams{Message: "hello"},
			`{"message":"hello","signature":"d9hqxw"}`, &SignMessageResult{Message: "hello", Signature: "d9hqxw"}},
		{MethodGetBudget, `{}`, &GetBudgetParams{},
			`{"used_budget":1000,"total_budget":100000000,"renews_at":1760000000,"renewal_period":"monthly"}`,
			&GetBudgetResult{UsedBudget: 1000, TotalBudget: 100000000, RenewsAt: i64(1760000000), RenewalPeriod: BudgetRenewalMonthly}},
		{MethodGetBudget, `{}`, &GetBudgetParams{},
			`{"used_budget":0,"total_budget":5000,"renewal_period":"never"}`,
			&GetBudgetResult{TotalBudget: 5000, RenewalPeriod: BudgetRenewalNever}},
		{MethodGetBudget, `{}`, &GetBudgetParams{}, `{}`, &GetBudgetResult{}},
		{MethodCreateConnection,
			`{"pubkey":"` + client.String() + `","name":"App","request_methods":["pay_invoice","get_balance"],"notification_types":["payment_received"],"max_amount":100000,"budget_renewal":"monthly","expires_at":1760000000,"isolated":true,"metadata":{"k":"v"}}`,
			&CreateConnectionParams{Pubkey: client, Name: "App", RequestMethods: []Method{MethodPayInvoice, MethodGetBalance},
				NotificationTypes: []string{NotificationPaymentReceived}, MaxAmount: 100000, BudgetRenewal: BudgetRenewalMonthly,
				ExpiresAt: 1760000000, Isolated: true, Metadata: json.RawMessage(`{"k":"v"}`)},
			`{"wallet_pubkey":"` + client.String() + `"}`,
			&CreateConnectionResult{WalletPubkey: client}},
	}
	covered := map[Method]bool{}
	for _, tt := range tests {
		t.Run(string(tt.method), func(t *testing.T) {
			covered[tt.method] = true
			p, err := DecodeParams(tt.method, json.RawMessage(tt.params))
			if err != nil {
				t.Fatalf("DecodeParams: %v", err)
			}
			if !reflect.DeepEqual(p, tt.wantParams) {
				t.Errorf("params\n got %#v\nwant %#v", p, tt.wantParams)
			}
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, b, []byte(tt.params))

			r, err := DecodeResult(tt.method, json.RawMessage(tt.result))
			if err != nil {
				t.Fatalf("DecodeResult: %v", err)
			}
			if !reflect.DeepEqual(r, tt.wantResult) {
				t.Errorf("result\n got %#v\nwant %#v", r, tt.wantResult)
			}
			b, err = json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, b, []byte(tt.result))

			// The same through the envelopes.
			req, err := NewRequest(tt.method, p)
			if err != nil {
				t.Fatal(err)
			}
			var req2 Request
			if err := json.Unmarshal(mustMarshal(t, req), &req2); err != nil {
				t.Fatal(err)
			}
			if req2.Method != tt.method {
				t.Errorf("method %q", req2.Method)
			}
			jsonEqual(t, req2.Params, []byte(tt.params))
			resp, err := NewResult(tt.method, r)
			if err != nil {
				t.Fatal(err)
			}
			var resp2 Response
			if err := json.Unmarshal(mustMarshal(t, resp), &resp2); err != nil {
				t.Fatal(err)
			}
			if resp2.Error != nil || resp2.ResultType != tt.method {
				t.Errorf("response %+v", resp2)
			}
			jsonEqual(t, resp2.Result, []byte(tt.result))
		})
	}
	for _, m := range Methods {
		if !covered[m] {
			t.Errorf("method %s not covered", m)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTolerantDecoding feeds the shapes deployed services really send (§4.1, §10).
func TestTolerantDecoding(t *testing.T) {
	t.Run("alby transaction", func(t *testing.T) {
		// Alby: "" for absent strings, null for absent timestamps, settle_deadline null.
		in := `{"type":"incoming","state":"pending","invoice":"` + invoice + `","description":"","description_hash":"",
			"preimage":"","payment_hash":"` + hashB + `","amount":1000,"fees_paid":0,"created_at":5,
			"expires_at":null,"settled_at":null,"settle_deadline":null,"metadata":null}`
		var tx Transaction
		if err := json.Unmarshal([]byte(in), &tx); err != nil {
			t.Fatal(err)
		}
		want := Transaction{Type: TransactionIncoming, State: StatePending, Invoice: invoice, PaymentHash: hashB, Amount: 1000, CreatedAt: 5}
		if !reflect.DeepEqual(tx, want) {
			t.Errorf("got %#v", tx)
		}
		// Re-encoding omits what was absent.
		jsonEqual(t, mustMarshal(t, tx), []byte(`{"type":"incoming","state":"pending","invoice":"`+invoice+`","payment_hash":"`+hashB+`","amount":1000,"fees_paid":0,"created_at":5}`))
	})
	t.Run("old service without state", func(t *testing.T) {
		var tx Transaction
		if err := json.Unmarshal([]byte(`{"type":"outgoing","payment_hash":"`+hashA+`","amount":1}`), &tx); err != nil {
			t.Fatal(err)
		}
		if tx.State != "" || tx.Type != TransactionOutgoing {
			t.Errorf("got %#v", tx)
		}
	})
	t.Run("hold_invoice_accepted with settle_deadline", func(t *testing.T) {
		var n Notification
		in := `{"notification_type":"hold_invoice_accepted","notification":{"type":"incoming","state":"accepted","payment_hash":"` + hashA + `","amount":5,"created_at":1,"settle_deadline":850144}}`
		if err := json.Unmarshal([]byte(in), &n); err != nil {
			t.Fatal(err)
		}
		if n.NotificationType != NotificationHoldInvoiceAccepted || n.Notification.SettleDeadline == nil || *n.Notification.SettleDeadline != 850144 {
			t.Errorf("got %#v", n)
		}
	})
	t.Run("get_info without permission", func(t *testing.T) {
		in := `{"alias":null,"color":null,"pubkey":null,"network":null,"block_height":null,"block_hash":null,
			"methods":["get_budget"],"notifications":[],"metadata":null,"lud16":""}`
		r, err := DecodeResult(MethodGetInfo, json.RawMessage(in))
		if err != nil {
			t.Fatal(err)
		}
		want := &GetInfoResult{Methods: []Method{MethodGetBudget}, Notifications: []string{}}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("got %#v", r)
		}
	})
	t.Run("empty lists encode as []", func(t *testing.T) {
		jsonEqual(t, mustMarshal(t, GetInfoResult{}), []byte(`{"methods":[],"notifications":[]}`))
		jsonEqual(t, mustMarshal(t, ListTransactionsResult{}), []byte(`{"transactions":[]}`))
		jsonEqual(t, mustMarshal(t, &GetBudgetResult{}), []byte(`{}`))
	})
	t.Run("null results", func(t *testing.T) {
		for _, m := range Methods {
			if _, err := DecodeResult(m, json.RawMessage("null")); err != nil {
				t.Errorf("%s: %v", m, err)
			}
			if _, err := DecodeResult(m, nil); err != nil {
				t.Errorf("%s: %v", m, err)
			}
		}
	})
	t.Run("bad result", func(t *testing.T) {
		_, err := DecodeResult(MethodGetBalance, json.RawMessage(`{"balance":"lots"}`))
		if !errors.Is(err, ErrInvalidResponse) {
			t.Errorf("err = %v", err)
		}
		_, err = DecodeResult("frobnicate", json.RawMessage(`{}`))
		if !errors.Is(err, ErrUnknownMethod) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("create_connection bad pubkey", func(t *testing.T) {
		var p CreateConnectionParams
		if err := json.Unmarshal([]byte(`{"pubkey":"zz"}`), &p); err == nil {
			t.Error("accepted a bad pubkey")
		}
	})
}

func TestParseCapabilities(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"pay_invoice get_balance", []string{"pay_invoice", "get_balance"}},
		{"pay_invoice,get_balance,notifications", []string{"pay_invoice", "get_balance", "notifications"}},
		{" pay_invoice ,  get_balance\n", []string{"pay_invoice", "get_balance"}},
	}
	for _, tt := range tests {
		if got := ParseCapabilities(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseCapabilities(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestConstants(t *testing.T) {
	for _, m := range Methods {
		if !m.Known() {
			t.Errorf("%s not Known", m)
		}
		if got := internMethod([]byte(m)); got != m {
			t.Errorf("intern %s = %s", m, got)
		}
	}
	if Method("foo").Known() || ErrorCode("FOO").Known() || BudgetRenewal("hourly").Valid() || Encryption("nip44").Supported() {
		t.Error("unknown value reported as known")
	}
	for _, r := range []BudgetRenewal{BudgetRenewalNever, BudgetRenewalDaily, BudgetRenewalWeekly, BudgetRenewalMonthly, BudgetRenewalYearly} {
		if !r.Valid() {
			t.Errorf("%s not valid", r)
		}
	}
	if EncryptionNIP44 != "nip44_v2" || KindNotification != 23197 || KindNotificationNIP04 != 23196 {
		t.Error("constants changed")
	}
}
