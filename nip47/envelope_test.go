package nip47

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func TestRequestJSON(t *testing.T) {
	tests := []struct {
		name, in   string
		wantMethod Method
		wantParams string
		wantErr    bool
	}{
		{"spec", `{"method":"pay_invoice","params":{"invoice":"lnbc1"}}`, MethodPayInvoice, `{"invoice":"lnbc1"}`, false},
		{"params missing", `{"method":"get_balance"}`, MethodGetBalance, `{}`, false},
		{"params null", `{"method":"get_info","params":null}`, MethodGetInfo, `{}`, false},
		{"whitespace and key order", " {\n \"params\" : { \"a\" : [1, {\"b\":\"}\"}] } ,\t\"method\" : \"get_info\" }\n", MethodGetInfo, `{ "a" : [1, {"b":"}"}] }`, false},
		{"unknown keys ignored", `{"id":"x","method":"get_balance","params":{},"extra":[1,2,{"c":null}]}`, MethodGetBalance, `{}`, false},
		{"repeated key: last wins", `{"method":"get_info","method":"get_balance"}`, MethodGetBalance, `{}`, false},
		{"escaped key", `{"meth\u006fd":"get_info"}`, MethodGetInfo, `{}`, false},
		{"escaped method", `{"method":"get\u005finfo"}`, MethodGetInfo, `{}`, false},
		{"unknown method kept", `{"method":"do_magic","params":{}}`, "do_magic", `{}`, false},
		{"params not object is kept", `{"method":"get_info","params":[1]}`, MethodGetInfo, `[1]`, false},
		{"method missing", `{"params":{}}`, "", "", true},
		{"method null", `{"method":null}`, "", "", true},
		{"method not string", `{"method":5}`, "", "", true},
		{"not object", `["get_info"]`, "", "", true},
		{"not JSON", `{"method":"get_info"`, "", "", true},
		{"trailing garbage", `{"method":"get_info"} x`, "", "", true},
		{"empty", ``, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			err := json.Unmarshal([]byte(tt.in), &r)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("accepted: %+v", r)
				}
				// Through the internal path too, as Open uses it.
				if err := new(Request).decode([]byte(tt.in)); !errors.Is(err, ErrInvalidRequest) {
					t.Errorf("decode err = %v, want ErrInvalidRequest", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != tt.wantMethod || string(r.Params) != tt.wantParams {
				t.Errorf("got %q %s", r.Method, r.Params)
			}
		})
	}
}

func TestRequestMarshal(t *testing.T) {
	tests := []struct {
		req  Request
		want string
	}{
		{Request{Method: MethodGetBalance}, `{"method":"get_balance","params":{}}`},
		{Request{Method: MethodPayInvoice, Params: json.RawMessage(`{"invoice":"x"}`)}, `{"method":"pay_invoice","params":{"invoice":"x"}}`},
		{Request{Method: "we\"ird\n\x01é"}, `{"method":"we\"ird\n\u0001é","params":{}}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.req)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("got %s, want %s", b, tt.want)
		}
		var back Request
		if err := json.Unmarshal(b, &back); err != nil || back.Method != tt.req.Method {
			t.Errorf("round trip: %q %v", back.Method, err)
		}
	}
	if _, err := json.Marshal(Request{Method: MethodGetInfo, Params: json.RawMessage(`{bad`)}); err == nil {
		t.Error("marshalled invalid params")
	}
	if _, err := NewRequest(MethodPayInvoice, func() {}); err == nil {
		t.Error("NewRequest accepted an unmarshallable value")
	}
}

func TestResponseJSON(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantType   Method
		wantErr    *Error
		wantResult string
		invalid    bool
	}{
		{"spec success", `{"result_type":"pay_invoice","error":null,"result":{"preimage":"ab","fees_paid":3000}}`,
			MethodPayInvoice, nil, `{"preimage":"ab","fees_paid":3000}`, false},
		{"spec error", `{"result_type":"pay_invoice","error":{"code":"INSUFFICIENT_BALANCE","message":"not enough funds"},"result":null}`,
			MethodPayInvoice, &Error{CodeInsufficientBalance, "not enough funds"}, "", false},
		{"alby omits error", `{"result_type":"get_balance","result":{"balance":5}}`, MethodGetBalance, nil, `{"balance":5}`, false},
		{"alby omits result", `{"result_type":"pay_invoice","error":{"code":"QUOTA_EXCEEDED","message":"budget"}}`,
			MethodPayInvoice, &Error{CodeQuotaExceeded, "budget"}, "", false},
		{"empty result is success", `{"result_type":"settle_hold_invoice","result":{}}`, MethodSettleHoldInvoice, nil, `{}`, false},
		{"success without result", `{"result_type":"cancel_hold_invoice"}`, MethodCancelHoldInvoice, nil, "", false},
		{"alby early error with empty result_type", `{"result_type":"","error":{"code":"UNSUPPORTED_ENCRYPTION","message":"invalid encryption: nip99"}}`,
			"", &Error{CodeUnsupportedEncryption, "invalid encryption: nip99"}, "", false},
		{"unknown code kept", `{"result_type":"pay_invoice","error":{"code":"SOMETHING_NEW","message":"m"}}`,
			MethodPayInvoice, &Error{"SOMETHING_NEW", "m"}, "", false},
		{"message missing", `{"result_type":"pay_invoice","error":{"code":"EXPIRED"}}`, MethodPayInvoice, &Error{CodeExpired, ""}, "", false},
		{"error wins over result", `{"result_type":"get_balance","error":{"code":"INTERNAL","message":"x"},"result":{"balance":1}}`,
			MethodGetBalance, &Error{CodeInternal, "x"}, "", false},
		{"result_type null", `{"result_type":null,"result":{}}`, "", nil, `{}`, false},
		{"error not object", `{"result_type":"x","error":"boom"}`, "", nil, "", true},
		{"error code not string", `{"error":{"code":1}}`, "", nil, "", true},
		{"result_type not string", `{"result_type":1}`, "", nil, "", true},
		{"not object", `[]`, "", nil, "", true},
		{"not JSON", `{`, "", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Response
			err := json.Unmarshal([]byte(tt.in), &r)
			if tt.invalid {
				if err == nil {
					t.Fatalf("accepted: %+v", r)
				}
				// Open uses the internal path, which always wraps ErrInvalidResponse.
				if err := new(Response).decode([]byte(tt.in)); !errors.Is(err, ErrInvalidResponse) {
					t.Errorf("decode err = %v, want ErrInvalidResponse", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.ResultType != tt.wantType || !reflect.DeepEqual(r.Error, tt.wantErr) || string(r.Result) != tt.wantResult {
				t.Errorf("got %q %+v %s", r.ResultType, r.Error, r.Result)
			}
			if (r.Err() == nil) != (tt.wantErr == nil) {
				t.Errorf("Err() = %v", r.Err())
			}
		})
	}
}

func TestResponseMarshal(t *testing.T) {
	tests := []struct {
		resp *Response
		want string
	}{
		{&Response{ResultType: MethodGetBalance, Result: json.RawMessage(`{"balance":1}`)},
			`{"result_type":"get_balance","error":null,"result":{"balance":1}}`},
		{&Response{ResultType: MethodSettleHoldInvoice}, `{"result_type":"settle_hold_invoice","error":null,"result":{}}`},
		{NewErrorResponse(MethodPayInvoice, CodePaymentFailed, `no "route"`),
			`{"result_type":"pay_invoice","error":{"code":"PAYMENT_FAILED","message":"no \"route\""},"result":null}`},
		{NewErrorResponse("", CodeBadRequest, "failed to decrypt"),
			`{"result_type":"","error":{"code":"BAD_REQUEST","message":"failed to decrypt"},"result":null}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.resp)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("got  %s\nwant %s", b, tt.want)
		}
		var back Response
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.ResultType != tt.resp.ResultType || !reflect.DeepEqual(back.Error, tt.resp.Error) {
			t.Errorf("round trip %+v", back)
		}
	}
	if _, err := json.Marshal(&Response{Result: json.RawMessage(`nope`)}); err == nil {
		t.Error("marshalled invalid result")
	}
}

func TestResponseDecode(t *testing.T) {
	r, err := NewResult(MethodGetBalance, GetBalanceResult{Balance: 42})
	if err != nil {
		t.Fatal(err)
	}
	var got GetBalanceResult
	if err := r.Decode(&got); err != nil || got.Balance != 42 {
		t.Errorf("Decode = %v, %+v", err, got)
	}
	failed := NewErrorResponse(MethodGetBalance, CodeRestricted, "no scope")
	err = failed.Decode(&got)
	var werr *Error
	if !errors.As(err, &werr) || werr.Code != CodeRestricted {
		t.Errorf("Decode on failure = %v", err)
	}
	if err := (&Response{Result: json.RawMessage(`{"balance":"x"}`)}).Decode(&got); !errors.Is(err, ErrInvalidResponse) {
		t.Errorf("Decode bad = %v", err)
	}
}

func TestErrorIs(t *testing.T) {
	wrapped := fmt.Errorf("client: %w", NewError(CodeQuotaExceeded, "budget exhausted"))
	tests := []struct {
		err    error
		target error
		want   bool
	}{
		{wrapped, ErrQuotaExceeded, true},
		{wrapped, CodeQuotaExceeded, true},
		{wrapped, ErrInsufficientBalance, false},
		{wrapped, ErrOther, false},
		{wrapped, &Error{Code: CodeQuotaExceeded}, true},
		{wrapped, &Error{Code: CodeQuotaExceeded, Message: "other"}, false},
		{NewError("NEW_CODE", "x"), ErrOther, true},
		{NewError(CodeOther, "x"), ErrOther, true},
		{NewError(CodeBadRequest, "x"), ErrBadRequest, true},
		{NewError(CodeExpired, ""), ErrExpired, true},
		{NewError(CodeExpired, ""), errors.New("EXPIRED"), false},
	}
	for i, tt := range tests {
		if got := errors.Is(tt.err, tt.target); got != tt.want {
			t.Errorf("%d: errors.Is(%v, %v) = %v", i, tt.err, tt.target, got)
		}
	}
	if got := NewError(CodeInternal, "boom").Error(); got != "nip47: wallet error INTERNAL: boom" {
		t.Errorf("Error() = %q", got)
	}
	if got := NewError(CodeInternal, "").Error(); got != "nip47: wallet error INTERNAL" {
		t.Errorf("Error() = %q", got)
	}
}
