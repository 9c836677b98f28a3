package nip47

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nwc-go/nwc/nostr"
)

// Request is the decrypted content of a request event (kind 23194).
type Request struct {
	Method Method
	// Params is the raw params object; nil is written as {}. Decoding turns a missing or
	// null params into {}. Use DecodeParams or json.Unmarshal to read it.
	Params json.RawMessage
}

// NewRequest builds a request, marshalling params (nil means {}).
func NewRequest(method Method, params any) (*Request, error) {
	r := &Request{Method: method}
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("nip47: marshal %s params: %w", method, err)
		}
		r.Params = b
	}
	return r, nil
}

// AppendJSON appends {"method":…,"params":…} to b. Params must be valid JSON (see Seal).
func (r *Request) AppendJSON(b []byte) []byte {
	b = append(b, `{"method":`...)
	b = nostr.AppendJSONString(b, string(r.Method))
	b = append(b, `,"params":`...)
	b = appendRawOr(b, r.Params, "{}")
	return append(b, '}')
}

// MarshalJSON implements json.Marshaler.
func (r Request) MarshalJSON() ([]byte, error) {
	if err := checkRaw(r.Params); err != nil {
		return nil, fmt.Errorf("nip47: request params: %w", err)
	}
	return r.AppendJSON(make([]byte, 0, 32+len(r.Method)+len(r.Params))), nil
}

// UnmarshalJSON implements json.Unmarshaler. The method must be a non-empty string;
// params may be missing or null. data is copied (encoding/json may reuse it); Params
// points into the copy.
func (r *Request) UnmarshalJSON(data []byte) error {
	return r.decode(append([]byte(nil), data...))
}

// decode parses data (which it may alias) into r. Keys match exactly; for a repeated key
// the last one wins, as with encoding/json.
func (r *Request) decode(data []byte) error {
	var out Request
	err := scanObject(data, func(key, val []byte) error {
		switch string(key) {
		case "method":
			s, err := decodeString(val)
			if err != nil {
				return fmt.Errorf("method: %w", err)
			}
			out.Method = internMethod(s)
		case "params":
			out.Params = nullToNil(val)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidRequest, err)
	}
	if out.Method == "" {
		return fmt.Errorf("%w: method missing", ErrInvalidRequest)
	}
	if out.Params == nil {
		out.Params = json.RawMessage("{}")
	}
	*r = out
	return nil
}

// Error is the error object of a failed response. Code is kept verbatim, known or not.
type Error struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
}

// NewError returns an *Error.
func NewError(code ErrorCode, message string) *Error { return &Error{Code: code, Message: message} }

// Error implements error.
func (e *Error) Error() string {
	if e.Message == "" {
		return "nip47: wallet error " + string(e.Code)
	}
	return "nip47: wallet error " + string(e.Code) + ": " + e.Message
}

// Is makes errors.Is(err, nip47.ErrQuotaExceeded) work; unknown codes match ErrOther.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case ErrorCode:
		return t == e.Code || t == CodeOther && !e.Code.Known()
	case *Error:
		return t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
	}
	return false
}

// Response is the decrypted content of a response event (kind 23195). The response is
// a success exactly when Error is nil.
type Response struct {
	// ResultType is the request's method; "" when the service never learned it (Alby,
	// for requests it could not decrypt).
	ResultType Method
	Error      *Error
	// Result is the raw result; nil is written as {} on success and null on failure.
	Result json.RawMessage
}

// NewResult builds a success response, marshalling result (nil means {}).
func NewResult(method Method, result any) (*Response, error) {
	r := &Response{ResultType: method}
	if result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			return nil, fmt.Errorf("nip47: marshal %s result: %w", method, err)
		}
		r.Result = b
	}
	return r, nil
}

// NewErrorResponse builds a failure response.
func NewErrorResponse(method Method, code ErrorCode, message string) *Response {
	return &Response{ResultType: method, Error: &Error{Code: code, Message: message}}
}

// Err returns r.Error as an error, or nil on success (avoiding a typed-nil error).
func (r *Response) Err() error {
	if r.Error == nil {
		return nil
	}
	return r.Error
}

// Decode unmarshals a successful result into v; on failure it returns the *Error.
func (r *Response) Decode(v any) error {
	if r.Error != nil {
		return r.Error
	}
	if err := json.Unmarshal(rawOr(r.Result, "{}"), v); err != nil {
		return fmt.Errorf("%w: %s result: %v", ErrInvalidResponse, r.ResultType, err)
	}
	return nil
}

// AppendJSON appends the spec form, with "error":null on success and "result":null on
// failure. Result must be valid JSON (see Seal).
func (r *Response) AppendJSON(b []byte) []byte {
	b = append(b, `{"result_type":`...)
	b = nostr.AppendJSONString(b, string(r.ResultType))
	if r.Error == nil {
		b = append(b, `,"error":null,"result":`...)
		b = appendRawOr(b, r.Result, "{}")
		return append(b, '}')
	}
	b = append(b, `,"error":{"code":`...)
	b = nostr.AppendJSONString(b, string(r.Error.Code))
	b = append(b, `,"message":`...)
	b = nostr.AppendJSONString(b, r.Error.Message)
	return append(b, `},"result":null}`...)
}

// MarshalJSON implements json.Marshaler.
func (r Response) MarshalJSON() ([]byte, error) {
	if r.Error == nil {
		if err := checkRaw(r.Result); err != nil {
			return nil, fmt.Errorf("nip47: response result: %w", err)
		}
	}
	return r.AppendJSON(make([]byte, 0, 64+len(r.Result))), nil
}

// UnmarshalJSON implements json.Unmarshaler. Missing keys equal null; the error code is
// kept verbatim; a missing error message is tolerated.
func (r *Response) UnmarshalJSON(data []byte) error {
	return r.decode(append([]byte(nil), data...))
}

func (r *Response) decode(data []byte) error {
	var out Response
	err := scanObject(data, func(key, val []byte) error {
		switch string(key) {
		case "result_type":
			s, err := decodeString(val)
			if err != nil {
				return fmt.Errorf("result_type: %w", err)
			}
			out.ResultType = internMethod(s)
		case "error":
			out.Error = nil
			if isNull(val) {
				return nil
			}
			if val[0] != '{' {
				return errors.New("error: not an object")
			}
			var e struct {
				Code    *string `json:"code"`
				Message *string `json:"message"`
			}
			if err := json.Unmarshal(val, &e); err != nil {
				return fmt.Errorf("error: %v", err)
			}
			out.Error = &Error{}
			if e.Code != nil {
				out.Error.Code = ErrorCode(*e.Code)
			}
			if e.Message != nil {
				out.Error.Message = *e.Message
			}
		case "result":
			out.Result = nullToNil(val)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	if out.Error != nil {
		out.Result = nil
	}
	*r = out
	return nil
}

// Notification is the decrypted content of a notification event (kinds 23196/23197).
type Notification struct {
	NotificationType string      `json:"notification_type"` // one of the Notification* constants
	Notification     Transaction `json:"notification"`
}

// internMethod avoids allocating a string for the known method names.
func internMethod(b []byte) Method {
	switch string(b) {
	case "pay_invoice":
		return MethodPayInvoice
	case "pay_keysend":
		return MethodPayKeysend
	case "make_invoice":
		return MethodMakeInvoice
	case "lookup_invoice":
		return MethodLookupInvoice
	case "list_transactions":
		return MethodListTransactions
	case "get_balance":
		return MethodGetBalance
	case "get_info":
		return MethodGetInfo
	case "make_hold_invoice":
		return MethodMakeHoldInvoice
	case "settle_hold_invoice":
		return MethodSettleHoldInvoice
	case "cancel_hold_invoice":
		return MethodCancelHoldInvoice
	case "multi_pay_invoice":
		return MethodMultiPayInvoice
	case "multi_pay_keysend":
		return MethodMultiPayKeysend
	case "sign_message":
		return MethodSignMessage
	case "get_budget":
		return MethodGetBudget
	case "create_connection":
		return MethodCreateConnection
	case "":
		return ""
	}
	return Method(b)
}

func rawOr(raw json.RawMessage, def string) []byte {
	if len(raw) == 0 {
		return []byte(def)
	}
	return raw
}

func appendRawOr(b []byte, raw json.RawMessage, def string) []byte {
	if len(raw) == 0 {
		return append(b, def...)
	}
	return append(b, raw...)
}

var errRawInvalid = errors.New("not valid JSON")

func checkRaw(raw json.RawMessage) error {
	if len(raw) != 0 && !json.Valid(raw) {
		return errRawInvalid
	}
	return nil
}

func nullToNil(raw []byte) json.RawMessage {
	if isNull(raw) {
		return nil
	}
	return raw
}

func isNull(raw []byte) bool { return len(raw) == 0 || string(raw) == "null" }
