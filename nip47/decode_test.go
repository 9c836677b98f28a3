package nip47

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeParamsInvalid(t *testing.T) {
	upper := strings.ToUpper(hashA[:10]) + hashA[10:]
	tests := []struct {
		method Method
		params string
	}{
		{MethodPayInvoice, `{}`},
		{MethodPayInvoice, `{"invoice":"  "}`},
		{MethodPayInvoice, `{"invoice":"` + invoice + `","amount":-1}`},
		{MethodPayInvoice, `{"invoice":5}`},
		{MethodPayInvoice, `{"invoice":"x","amount":1.5}`},
		{MethodPayInvoice, `[]`},
		{MethodPayInvoice, `"x"`},
		{MethodMultiPayInvoice, `{}`},
		{MethodMultiPayInvoice, `{"invoices":[]}`},
		{MethodMultiPayInvoice, `{"invoices":{}}`},
		{MethodPayKeysend, `{"pubkey":"` + nodeID + `"}`},
		{MethodPayKeysend, `{"amount":0,"pubkey":"` + nodeID + `"}`},
		{MethodPayKeysend, `{"amount":1}`},
		{MethodPayKeysend, `{"amount":1,"pubkey":"` + nodeID[2:] + `"}`},   // 64 hex
		{MethodPayKeysend, `{"amount":1,"pubkey":"04` + nodeID[2:] + `"}`}, // not compressed
		{MethodPayKeysend, `{"amount":1,"pubkey":"02` + strings.Repeat("g", 64) + `"}`},
		{MethodPayKeysend, `{"amount":1,"pubkey":"` + nodeID + `","preimage":"abc"}`},
		{MethodPayKeysend, `{"amount":1,"pubkey":"` + nodeID + `","tlv_records":[{"type":1,"value":"abc"}]}`},
		{MethodPayKeysend, `{"amount":1,"pubkey":"` + nodeID + `","tlv_records":[{"type":1,"value":"zz"}]}`},
		{MethodPayKeysend, `{"amount":1,"pubkey":"` + nodeID + `","tlv_records":[{"type":-1,"value":"00"}]}`},
		{MethodPayKeysend, `{"amount":1,"pubkey":"` + nodeID + `","tlv_records":[{"type":18446744073709551616,"value":"00"}]}`},
		{MethodMultiPayKeysend, `{"keysends":[]}`},
		{MethodMakeInvoice, `{}`},
		{MethodMakeInvoice, `{"amount":0}`},
		{MethodMakeInvoice, `{"amount":-5}`},
		{MethodMakeInvoice, `{"amount":5,"expiry":-1}`},
		{MethodMakeInvoice, `{"amount":5,"description_hash":"xyz"}`},
		{MethodLookupInvoice, `{}`},
		{MethodLookupInvoice, `{"payment_hash":"","invoice":""}`},
		{MethodLookupInvoice, `{"payment_hash":"abc"}`},
		{MethodListTransactions, `{"limit":-1}`},
		{MethodListTransactions, `{"from":-1}`},
		{MethodListTransactions, `{"type":"sideways"}`},
		{MethodListTransactions, `{"unpaid":"yes"}`},
		{MethodGetBalance, `[]`},
		{MethodMakeHoldInvoice, `{"amount":5}`},
		{MethodMakeHoldInvoice, `{"payment_hash":"` + hashA + `"}`},
		{MethodMakeHoldInvoice, `{"amount":5,"payment_hash":"` + hashA[:62] + `"}`},
		{MethodMakeHoldInvoice, `{"amount":5,"payment_hash":"` + hashA + `","min_cltv_expiry_delta":-1}`},
		{MethodMakeHoldInvoice, `{"amount":5,"payment_hash":"` + hashA + `","description_hash":"x"}`},
		{MethodSettleHoldInvoice, `{}`},
		{MethodSettleHoldInvoice, `{"preimage":"` + hashA + `00"}`},
		{MethodCancelHoldInvoice, `{}`},
		{MethodCancelHoldInvoice, `{"payment_hash":"nothex` + hashA[6:] + `"}`},
		{MethodSignMessage, `{}`},
		{MethodCreateConnection, `{"request_methods":["get_info"]}`},
		{MethodCreateConnection, `{"pubkey":"zz","request_methods":["get_info"]}`},
		{MethodCreateConnection, `{"pubkey":"b889ff5b1513b641e2a139f661a661364979c5beee91842f8f0ef42ab558e9d4"}`},
		{MethodCreateConnection, `{"pubkey":"b889ff5b1513b641e2a139f661a661364979c5beee91842f8f0ef42ab558e9d4","request_methods":["get_info"],"budget_renewal":"hourly"}`},
		{MethodCreateConnection, `{"pubkey":"b889ff5b1513b641e2a139f661a661364979c5beee91842f8f0ef42ab558e9d4","request_methods":["get_info"],"max_amount":-1}`},
	}
	for _, tt := range tests {
		t.Run(string(tt.method)+" "+tt.params, func(t *testing.T) {
			p, err := DecodeParams(tt.method, json.RawMessage(tt.params))
			if !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("err = %v, want ErrInvalidParams", err)
			}
			if p != nil {
				t.Errorf("returned params %#v with an error", p)
			}
		})
	}
	if _, err := DecodeParams(MethodCancelHoldInvoice, json.RawMessage(`{"payment_hash":"`+upper+`"}`)); err != nil {
		t.Errorf("uppercase hex rejected: %v", err)
	}
	if _, err := DecodeParams("do_magic", json.RawMessage(`{}`)); !errors.Is(err, ErrUnknownMethod) {
		t.Errorf("unknown method: %v", err)
	}
}

func TestDecodeParamsNormalises(t *testing.T) {
	big := `{"x":"` + strings.Repeat("a", MaxMetadataSize) + `"}`
	tests := []struct {
		method Method
		params string
		want   any
	}{
		{MethodGetBalance, ``, &GetBalanceParams{}},
		{MethodGetInfo, `null`, &GetInfoParams{}},
		{MethodGetBudget, `{"anything":1}`, &GetBudgetParams{}},
		{MethodPayInvoice, `{"invoice":" ` + invoice + `\n","metadata":null}`, &PayInvoiceParams{Invoice: invoice}},
		{MethodPayInvoice, `{"invoice":"x","metadata":` + big + `}`, &PayInvoiceParams{Invoice: "x"}},
		{MethodPayInvoice, `{"invoice":"x","metadata":"not an object"}`, &PayInvoiceParams{Invoice: "x"}},
		{MethodPayInvoice, `{"invoice":"x","unknown":true,"amount":null}`, &PayInvoiceParams{Invoice: "x"}},
		{MethodMakeInvoice, `{"amount":1,"description_hash":"` + strings.ToUpper(hashB) + `","description":""}`,
			&MakeInvoiceParams{Amount: 1, DescriptionHash: hashB}},
		{MethodPayKeysend, `{"amount":1,"pubkey":"` + strings.ToUpper(nodeID) + `","preimage":"","tlv_records":[{"type":1,"value":"ABCD"}]}`,
			&PayKeysendParams{Amount: 1, Pubkey: nodeID, TLVRecords: []TLVRecord{{1, "abcd"}}}},
		{MethodLookupInvoice, `{"payment_hash":"` + hashA + `","invoice":"` + invoice + `"}`,
			&LookupInvoiceParams{PaymentHash: hashA, Invoice: invoice}},
		{MethodLookupInvoice, `{"payment_hash":null,"invoice":"` + invoice + `"}`, &LookupInvoiceParams{Invoice: invoice}},
		// Elements are not validated by DecodeParams: the service answers them one by one.
		{MethodMultiPayInvoice, `{"invoices":[{"id":"bad","invoice":""}]}`,
			&MultiPayInvoiceParams{Invoices: []MultiPayInvoiceItem{{ID: "bad"}}}},
		{MethodMultiPayKeysend, `{"keysends":[{"id":"bad"}]}`,
			&MultiPayKeysendParams{Keysends: []MultiPayKeysendItem{{ID: "bad"}}}},
	}
	for _, tt := range tests {
		t.Run(string(tt.method), func(t *testing.T) {
			got, err := DecodeParams(tt.method, json.RawMessage(tt.params))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestMultiPayItemValidate(t *testing.T) {
	items := []struct {
		item    Params
		wantErr bool
	}{
		{&MultiPayInvoiceItem{ID: "a", Invoice: invoice}, false},
		{&MultiPayInvoiceItem{ID: "a"}, true},
		{&MultiPayInvoiceItem{Invoice: invoice, Amount: -1}, true},
		{&MultiPayKeysendItem{Amount: 1, Pubkey: nodeID}, false},
		{&MultiPayKeysendItem{Amount: 1, Pubkey: "03"}, true},
		{&MultiPayKeysendItem{Pubkey: nodeID}, true},
	}
	for i, tt := range items {
		err := tt.item.Validate()
		if (err != nil) != tt.wantErr || err != nil && !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%d: Validate = %v", i, err)
		}
	}
}
