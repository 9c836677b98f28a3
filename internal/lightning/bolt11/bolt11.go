// Package bolt11 encodes and decodes BOLT-11 Lightning invoices: bech32
// without length limit, amounts with multipliers, the tagged fields p, s, d,
// h, x, c, n and 9 (r, f, t and unknown fields are skipped on decode), and
// the recoverable secp256k1 signature.
package bolt11

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/nwc-go/nwc/internal/bech32"
)

// MaxLength bounds the accepted string length. BOLT-11 lifts bech32's 90
// character limit; this cap only keeps a hostile input from costing much.
const MaxLength = 1 << 16

// Networks and their human-readable prefixes.
const (
	Mainnet = "mainnet"
	Testnet = "testnet"
	Signet  = "signet"
	Regtest = "regtest"
	Simnet  = "simnet"
)

// Longest prefixes first so "bcrt" wins over "bc" and "tbs" over "tb".
var prefixes = []struct{ prefix, network string }{
	{"lnbcrt", Regtest},
	{"lntbs", Signet},
	{"lnbc", Mainnet},
	{"lntb", Testnet},
	{"lnsb", Simnet},
}

// Prefix returns the human-readable prefix of network ("" if unknown).
func Prefix(network string) string {
	for _, p := range prefixes {
		if p.network == network {
			return p.prefix
		}
	}
	return ""
}

// Feature bits used in the 9 field (BOLT 9).
const (
	FeatureVarOnionRequired      = 8
	FeatureVarOnionOptional      = 9
	FeaturePaymentSecretRequired = 14
	FeaturePaymentSecretOptional = 15
	FeatureBasicMPPRequired      = 16
	FeatureBasicMPPOptional      = 17
	FeatureMetadataRequired      = 48
	FeatureMetadataOptional      = 49
)

// Even (required) feature bits this decoder knows; any other even bit set
// makes an invoice unpayable.
var knownRequired = map[int]bool{
	FeatureVarOnionRequired:      true,
	FeaturePaymentSecretRequired: true,
	FeatureBasicMPPRequired:      true,
	FeatureMetadataRequired:      true,
}

// Defaults applied on decode when the field is absent.
const (
	DefaultExpiry             = time.Hour
	DefaultMinFinalCLTVExpiry = 18
)

// Errors. All wrap ErrInvalid.
var (
	ErrInvalid        = errors.New("bolt11: invalid invoice")
	ErrEncoding       = fmt.Errorf("%w: bad bech32 encoding", ErrInvalid)
	ErrChecksum       = fmt.Errorf("%w: bad checksum", ErrInvalid)
	ErrNetwork        = fmt.Errorf("%w: unknown prefix", ErrInvalid)
	ErrAmount         = fmt.Errorf("%w: bad amount", ErrInvalid)
	ErrSignature      = fmt.Errorf("%w: bad signature", ErrInvalid)
	ErrField          = fmt.Errorf("%w: bad field", ErrInvalid)
	ErrUnknownFeature = fmt.Errorf("%w: unknown required feature", ErrInvalid)
)

// Invoice is a decoded BOLT-11 invoice.
type Invoice struct {
	Network     string // Mainnet, Testnet, Signet, Regtest, Simnet
	Amount      int64  // msat; 0 = any amount
	Timestamp   time.Time
	PaymentHash [32]byte
	// PaymentSecret (s field); nil when absent.
	PaymentSecret *[32]byte
	Description   string
	// DescriptionHash (h field); when set, Description is not encoded.
	DescriptionHash *[32]byte
	// Expiry relative to Timestamp; DefaultExpiry when the x field is
	// absent. Encode omits the field when zero.
	Expiry time.Duration
	// MinFinalCLTVExpiry (c field); DefaultMinFinalCLTVExpiry when absent.
	// Encode writes DefaultMinFinalCLTVExpiry when zero.
	MinFinalCLTVExpiry uint64
	// Payee is the node key: from the n field when present, else recovered
	// from the signature.
	Payee *btcec.PublicKey
	// IncludePayee makes Encode write the n field; Decode sets it when the
	// invoice had one.
	IncludePayee bool
	// Features lists the set feature bits, ascending.
	Features []int
}

// ExpiresAt is Timestamp + Expiry.
func (inv *Invoice) ExpiresAt() time.Time { return inv.Timestamp.Add(inv.Expiry) }

// Expired reports whether the invoice has expired at now.
func (inv *Invoice) Expired(now time.Time) bool { return !now.Before(inv.ExpiresAt()) }

// Field type values (5-bit).
const (
	fieldP = 1
	fieldR = 3
	field9 = 5
	fieldX = 6
	fieldF = 9
	fieldD = 13
	fieldS = 16
	fieldN = 19
	fieldH = 23
	fieldC = 24
)

const (
	maxDataLength  = 1023 // 10-bit data_length
	signatureWords = 104  // 520 bits
	timestampWords = 7    // 35 bits
	// msat per unit of each multiplier; pico is 1/10 msat and handled apart.
	msatPerBTC = 100_000_000_000
)

// Encode serialises inv and signs it with key. inv.Payee, if set, must be
// key's public key.
func Encode(inv *Invoice, key *btcec.PrivateKey) (string, error) {
	if key == nil {
		return "", errors.New("bolt11: nil key")
	}
	if inv.Payee != nil && !inv.Payee.IsEqual(key.PubKey()) {
		return "", errors.New("bolt11: payee does not match signing key")
	}
	hrp, err := encodeHRP(inv.Network, inv.Amount)
	if err != nil {
		return "", err
	}
	ts := inv.Timestamp.Unix()
	if ts < 0 || ts >= 1<<35 {
		return "", errors.New("bolt11: timestamp out of range")
	}
	data := appendUint(nil, uint64(ts), timestampWords)

	data = appendBytesField(data, fieldP, inv.PaymentHash[:])
	if inv.PaymentSecret != nil {
		data = appendBytesField(data, fieldS, inv.PaymentSecret[:])
	}
	if inv.DescriptionHash != nil {
		data = appendBytesField(data, fieldH, inv.DescriptionHash[:])
	} else {
		if !utf8.ValidString(inv.Description) {
			return "", errors.New("bolt11: description is not UTF-8")
		}
		if len(inv.Description)*8 > maxDataLength*5 {
			return "", errors.New("bolt11: description too long (use a description hash)")
		}
		data = appendBytesField(data, fieldD, []byte(inv.Description))
	}
	if inv.Expiry < 0 {
		return "", errors.New("bolt11: negative expiry")
	}
	if inv.Expiry > 0 {
		secs := uint64((inv.Expiry + time.Second - 1) / time.Second)
		data = appendUintField(data, fieldX, secs)
	}
	cltv := inv.MinFinalCLTVExpiry
	if cltv == 0 {
		cltv = DefaultMinFinalCLTVExpiry
	}
	data = appendUintField(data, fieldC, cltv)
	if inv.IncludePayee {
		data = appendBytesField(data, fieldN, key.PubKey().SerializeCompressed())
	}
	if len(inv.Features) > 0 {
		words, err := encodeFeatures(inv.Features)
		if err != nil {
			return "", err
		}
		data = appendField(data, field9, words)
	}

	hash := sigHash(hrp, data)
	compact := ecdsa.SignCompact(key, hash[:], true)
	// SignCompact yields header||r||s with header 27+4+recid; BOLT-11 wants r||s||recid.
	sig := make([]byte, 65)
	copy(sig, compact[1:])
	sig[64] = compact[0] - 31
	words, _ := convertBits(sig, 8, 5, true)
	data = append(data, words...)
	return bech32.Encode(hrp, data), nil
}

// Decode parses s (optionally prefixed "lightning:"), checks the checksum
// and the signature, and returns the invoice.
func Decode(s string) (*Invoice, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 10 && strings.EqualFold(s[:10], "lightning:") {
		s = s[10:]
	}
	hrp, data, err := bech32Decode(s)
	if err != nil {
		return nil, err
	}
	inv := &Invoice{Expiry: DefaultExpiry, MinFinalCLTVExpiry: DefaultMinFinalCLTVExpiry}
	if inv.Network, inv.Amount, err = decodeHRP(hrp); err != nil {
		return nil, err
	}
	if len(data) < timestampWords+signatureWords {
		return nil, fmt.Errorf("%w: too short", ErrEncoding)
	}
	sigWords := data[len(data)-signatureWords:]
	data = data[:len(data)-signatureWords]
	inv.Timestamp = time.Unix(int64(readUint(data[:timestampWords])), 0).UTC()

	var havePayee, haveHash, haveDesc bool
	fields := data[timestampWords:]
	for len(fields) > 0 {
		if len(fields) < 3 {
			return nil, fmt.Errorf("%w: truncated field header", ErrField)
		}
		typ := fields[0]
		n := int(fields[1])<<5 | int(fields[2])
		if len(fields) < 3+n {
			return nil, fmt.Errorf("%w: field %d overruns data", ErrField, typ)
		}
		v := fields[3 : 3+n]
		fields = fields[3+n:]
		switch typ {
		case fieldP:
			// Later or wrong-length p fields are skipped (first valid one wins).
			if n != 52 || haveHash {
				continue
			}
			b, err := convertBits(v, 5, 8, false)
			if err != nil {
				return nil, fmt.Errorf("%w: p: %w", ErrField, err)
			}
			copy(inv.PaymentHash[:], b)
			haveHash = true
		case fieldS:
			if n != 52 || inv.PaymentSecret != nil {
				continue
			}
			b, err := convertBits(v, 5, 8, false)
			if err != nil {
				return nil, fmt.Errorf("%w: s: %w", ErrField, err)
			}
			inv.PaymentSecret = (*[32]byte)(b)
		case fieldH:
			if n != 52 || inv.DescriptionHash != nil {
				continue
			}
			b, err := convertBits(v, 5, 8, false)
			if err != nil {
				return nil, fmt.Errorf("%w: h: %w", ErrField, err)
			}
			inv.DescriptionHash = (*[32]byte)(b)
		case fieldD:
			if haveDesc {
				continue
			}
			b, err := convertBits(v, 5, 8, false)
			if err != nil {
				return nil, fmt.Errorf("%w: d: %w", ErrField, err)
			}
			if !utf8.Valid(b) {
				return nil, fmt.Errorf("%w: d is not UTF-8", ErrField)
			}
			inv.Description = string(b)
			haveDesc = true
		case fieldN:
			if n != 53 || havePayee {
				continue
			}
			b, err := convertBits(v, 5, 8, false)
			if err != nil {
				return nil, fmt.Errorf("%w: n: %w", ErrField, err)
			}
			pk, err := btcec.ParsePubKey(b)
			if err != nil {
				return nil, fmt.Errorf("%w: n: %w", ErrField, err)
			}
			inv.Payee, havePayee, inv.IncludePayee = pk, true, true
		case fieldX:
			secs, ok := readUintChecked(v)
			if !ok || secs > uint64(math.MaxInt64/int64(time.Second)) {
				return nil, fmt.Errorf("%w: x out of range", ErrField)
			}
			inv.Expiry = time.Duration(secs) * time.Second
		case fieldC:
			c, ok := readUintChecked(v)
			if !ok {
				return nil, fmt.Errorf("%w: c out of range", ErrField)
			}
			inv.MinFinalCLTVExpiry = c
		case field9:
			inv.Features = decodeFeatures(v)
		default:
			// r, f, t and unknown fields: not needed here.
		}
	}
	if !haveHash {
		return nil, fmt.Errorf("%w: no payment hash", ErrField)
	}
	for _, f := range inv.Features {
		if f%2 == 0 && !knownRequired[f] {
			return nil, fmt.Errorf("%w: bit %d", ErrUnknownFeature, f)
		}
	}

	sig, err := convertBits(sigWords, 5, 8, false)
	if err != nil || len(sig) != 65 {
		return nil, fmt.Errorf("%w: malformed", ErrSignature)
	}
	hash := sigHash(hrp, data)
	if havePayee {
		if err := verifyLowS(sig[:64], hash[:], inv.Payee); err != nil {
			return nil, err
		}
	} else {
		if sig[64] > 3 {
			return nil, fmt.Errorf("%w: recovery id %d", ErrSignature, sig[64])
		}
		compact := make([]byte, 65)
		compact[0] = 27 + 4 + sig[64]
		copy(compact[1:], sig[:64])
		pk, _, err := ecdsa.RecoverCompact(compact, hash[:])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSignature, err)
		}
		inv.Payee = pk
	}
	return inv, nil
}

func verifyLowS(rs, hash []byte, pub *btcec.PublicKey) error {
	var r, s btcec.ModNScalar
	if r.SetByteSlice(rs[:32]) || s.SetByteSlice(rs[32:]) || r.IsZero() || s.IsZero() {
		return fmt.Errorf("%w: r or s out of range", ErrSignature)
	}
	if s.IsOverHalfOrder() {
		return fmt.Errorf("%w: high S", ErrSignature)
	}
	if !ecdsa.NewSignature(&r, &s).Verify(hash, pub) {
		return fmt.Errorf("%w: does not verify for payee", ErrSignature)
	}
	return nil
}

// sigHash is sha256(hrp || data padded to bytes).
func sigHash(hrp string, data []byte) [32]byte {
	b, _ := convertBits(data, 5, 8, true)
	h := sha256.New()
	h.Write([]byte(hrp))
	h.Write(b)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func encodeHRP(network string, amount int64) (string, error) {
	prefix := Prefix(network)
	if prefix == "" {
		return "", fmt.Errorf("%w: network %q", ErrNetwork, network)
	}
	switch {
	case amount < 0:
		return "", fmt.Errorf("%w: negative", ErrAmount)
	case amount == 0:
		return prefix, nil
	}
	// Largest multiplier that represents the amount exactly.
	for _, m := range []struct {
		suffix string
		msat   int64
	}{{"", msatPerBTC}, {"m", msatPerBTC / 1e3}, {"u", msatPerBTC / 1e6}, {"n", msatPerBTC / 1e9}} {
		if amount%m.msat == 0 {
			return prefix + strconv.FormatInt(amount/m.msat, 10) + m.suffix, nil
		}
	}
	if amount > math.MaxInt64/10 {
		return "", fmt.Errorf("%w: too large", ErrAmount)
	}
	return prefix + strconv.FormatInt(amount*10, 10) + "p", nil
}

func decodeHRP(hrp string) (network string, amount int64, err error) {
	rest := ""
	for _, p := range prefixes {
		if strings.HasPrefix(hrp, p.prefix) {
			network, rest = p.network, hrp[len(p.prefix):]
			break
		}
	}
	if network == "" {
		return "", 0, fmt.Errorf("%w: %q", ErrNetwork, hrp)
	}
	if rest == "" {
		return network, 0, nil
	}
	digits, mult := rest, byte(0)
	if last := rest[len(rest)-1]; last < '0' || last > '9' {
		digits, mult = rest[:len(rest)-1], last
	}
	if digits == "" || digits[0] == '0' {
		return "", 0, fmt.Errorf("%w: %q", ErrAmount, rest)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", 0, fmt.Errorf("%w: %q", ErrAmount, rest)
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %q", ErrAmount, rest)
	}
	var msat uint64
	var ok bool
	switch mult {
	case 0:
		msat, ok = mulCheck(n, msatPerBTC)
	case 'm':
		msat, ok = mulCheck(n, msatPerBTC/1e3)
	case 'u':
		msat, ok = mulCheck(n, msatPerBTC/1e6)
	case 'n':
		msat, ok = mulCheck(n, msatPerBTC/1e9)
	case 'p':
		if n%10 != 0 {
			return "", 0, fmt.Errorf("%w: sub-millisatoshi precision", ErrAmount)
		}
		msat, ok = n/10, true
	default:
		return "", 0, fmt.Errorf("%w: multiplier %q", ErrAmount, mult)
	}
	if !ok || msat > math.MaxInt64 {
		return "", 0, fmt.Errorf("%w: too large", ErrAmount)
	}
	return network, int64(msat), nil
}

func mulCheck(a, b uint64) (uint64, bool) {
	hi, lo := bits.Mul64(a, b)
	return lo, hi == 0
}

func appendUint(dst []byte, v uint64, words int) []byte {
	for i := words - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(5*uint(i)))&31)
	}
	return dst
}

func readUint(words []byte) uint64 {
	var v uint64
	for _, w := range words {
		v = v<<5 | uint64(w)
	}
	return v
}

// readUintChecked reads a big-endian 5-bit-group integer, failing on overflow.
func readUintChecked(words []byte) (uint64, bool) {
	var v uint64
	for _, w := range words {
		if v>>59 != 0 {
			return 0, false
		}
		v = v<<5 | uint64(w)
	}
	return v, true
}

func appendField(dst []byte, typ byte, words []byte) []byte {
	dst = append(dst, typ, byte(len(words)>>5), byte(len(words)&31))
	return append(dst, words...)
}

func appendBytesField(dst []byte, typ byte, b []byte) []byte {
	words, _ := convertBits(b, 8, 5, true)
	return appendField(dst, typ, words)
}

// appendUintField writes v with the minimum number of groups (SHOULD per spec).
func appendUintField(dst []byte, typ byte, v uint64) []byte {
	n := 0
	for x := v; x > 0; x >>= 5 {
		n++
	}
	return appendField(dst, typ, appendUint(nil, v, n))
}

func encodeFeatures(features []int) ([]byte, error) {
	top := slices.Max(features)
	if slices.Min(features) < 0 || top >= maxDataLength*5 {
		return nil, fmt.Errorf("bolt11: feature bit out of range")
	}
	words := make([]byte, top/5+1)
	for _, f := range features {
		words[len(words)-1-f/5] |= 1 << (f % 5)
	}
	return words, nil
}

func decodeFeatures(words []byte) []int {
	var out []int
	for i := len(words) - 1; i >= 0; i-- {
		base := (len(words) - 1 - i) * 5
		for b := 0; b < 5; b++ {
			if words[i]>>b&1 == 1 {
				out = append(out, base+b)
			}
		}
	}
	return out
}
