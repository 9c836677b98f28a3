package bolt11

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/nwc-go/nwc/internal/bech32"
)

// Vectors from BOLT #11 "Examples", all signed with specKey.
const (
	specKey   = "e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734"
	specPayee = "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad"
	specHash  = "0001020304050607080900010203040506070809000102030405060708090102"
	specTime  = 1496314658
	cakeDesc  = "One piece of chocolate cake, one icecream cone, one pickle, one slice of swiss cheese, one slice of salami, one lollypop, one piece of cherry pie, one sausage, one cupcake, and one slice of watermelon"

	coffeeBeans = "lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqpqsq67gye39hfg3zd8rgc80k32tvy9xk2xunwm5lzexnvpx6fd77en8qaq424dxgt56cag2dpt359k3ssyhetktkpqh24jqnjyw6uqd08sgptq44qu"
)

type want struct {
	network  string
	amount   int64
	ts       int64
	hash     string
	desc     string
	descHash string
	expiry   time.Duration
	cltv     uint64
	secret   string
	features []int
}

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func TestDecodeSpecExamples(t *testing.T) {
	tests := []struct {
		name    string
		invoice string
		want    want
	}{
		{"donation any amount",
			"lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq8rkx3yf5tcsyz3d73gafnh3cax9rn449d9p5uxz9ezhhypd0elx87sjle52x86fux2ypatgddc6k63n7erqz25le42c4u4ecky03ylcqca784w",
			want{network: Mainnet, ts: specTime, hash: specHash, desc: "Please consider supporting this project", expiry: time.Hour, cltv: 18}},
		{"coffee within one minute",
			"lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpuaztrnwngzn3kdzw5hydlzf03qdgm2hdq27cqv3agm2awhz5se903vruatfhq77w3ls4evs3ch9zw97j25emudupq63nyw24cg27h2rspfj9srp",
			want{network: Mainnet, amount: 250_000_000, ts: specTime, hash: specHash, desc: "1 cup coffee", expiry: time.Minute, cltv: 18}},
		{"utf-8 description",
			"lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny",
			want{network: Mainnet, amount: 250_000_000, ts: specTime, hash: specHash, desc: "ナンセンス 1杯", expiry: time.Minute, cltv: 18}},
		{"description hash",
			"lnbc20m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqscc6gd6ql3jrc5yzme8v4ntcewwz5cnw92tz0pc8qcuufvq7khhr8wpald05e92xw006sq94mg8v2ndf4sefvf9sygkshp5zfem29trqq2yxxz7",
			want{network: Mainnet, amount: 2_000_000_000, ts: specTime, hash: specHash, descHash: sha(cakeDesc), expiry: time.Hour, cltv: 18}},
		{"testnet with fallback",
			"lntb20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfpp3x9et2e20v6pu37c5d9vax37wxq72un98kmzzhznpurw9sgl2v0nklu2g4d0keph5t7tj9tcqd8rexnd07ux4uv2cjvcqwaxgj7v4uwn5wmypjd5n69z2xm3xgksg28nwht7f6zspwp3f9t",
			want{network: Testnet, amount: 2_000_000_000, ts: specTime, hash: specHash, descHash: sha(cakeDesc), expiry: time.Hour, cltv: 18}},
		{"fallback and route hints",
			"lnbc20m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqsfpp3qjmp7lwpagxun9pygexvgpjdc4jdj85fr9yq20q82gphp2nflc7jtzrcazrra7wwgzxqc8u7754cdlpfrmccae92qgzqvzq2ps8pqqqqqqpqqqqq9qqqvpeuqafqxu92d8lr6fvg0r5gv0heeeqgcrqlnm6jhphu9y00rrhy4grqszsvpcgpy9qqqqqqgqqqqq7qqzqj9n4evl6mr5aj9f58zp6fyjzup6ywn3x6sk8akg5v4tgn2q8g4fhx05wf6juaxu9760yp46454gpg5mtzgerlzezqcqvjnhjh8z3g2qqdhhwkj",
			want{network: Mainnet, amount: 2_000_000_000, ts: specTime, hash: specHash, descHash: sha(cakeDesc), expiry: time.Hour, cltv: 18}},
		{"p2sh fallback",
			"lnbc20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfppj3a24vwu6r8ejrss3axul8rxldph2q7z9kmrgvr7xlaqm47apw3d48zm203kzcq357a4ls9al2ea73r8jcceyjtya6fu5wzzpe50zrge6ulk4nvjcpxlekvmxl6qcs9j3tz0469gq5g658y",
			want{network: Mainnet, amount: 2_000_000_000, ts: specTime, hash: specHash, descHash: sha(cakeDesc), expiry: time.Hour, cltv: 18}},
		{"p2wpkh fallback",
			"lnbc20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfppqw508d6qejxtdg4y5r3zarvary0c5xw7kepvrhrm9s57hejg0p662ur5j5cr03890fa7k2pypgttmh4897d3raaq85a293e9jpuqwl0rnfuwzam7yr8e690nd2ypcq9hlkdwdvycqa0qza8",
			want{network: Mainnet, amount: 2_000_000_000, ts: specTime, hash: specHash, descHash: sha(cakeDesc), expiry: time.Hour, cltv: 18}},
		{"p2wsh fallback",
			"lnbc20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfp4qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q28j0v3rwgy9pvjnd48ee2pl8xrpxysd5g44td63g6xcjcu003j3qe8878hluqlvl3km8rm92f5stamd3jw763n3hck0ct7p8wwj463cql26ava",
			want{network: Mainnet, amount: 2_000_000_000, ts: specTime, hash: specHash, descHash: sha(cakeDesc), expiry: time.Hour, cltv: 18}},
		{"pico amount, week expiry, cltv 10",
			"lnbc9678785340p1pwmna7lpp5gc3xfm08u9qy06djf8dfflhugl6p7lgza6dsjxq454gxhj9t7a0sd8dgfkx7cmtwd68yetpd5s9xar0wfjn5gpc8qhrsdfq24f5ggrxdaezqsnvda3kkum5wfjkzmfqf3jkgem9wgsyuctwdus9xgrcyqcjcgpzgfskx6eqf9hzqnteypzxz7fzypfhg6trddjhygrcyqezcgpzfysywmm5ypxxjemgw3hxjmn8yptk7untd9hxwg3q2d6xjcmtv4ezq7pqxgsxzmnyyqcjqmt0wfjjq6t5v4khxxqyjw5qcqp2rzjq0gxwkzc8w6323m55m4jyxcjwmy7stt9hwkwe2qxmy8zpsgg7jcuwz87fcqqeuqqqyqqqqlgqqqqn3qq9qn07ytgrxxzad9hc4xt3mawjjt8znfv8xzscs7007v9gh9j569lencxa8xeujzkxs0uamak9aln6ez02uunw6rd2ht2sqe4hz8thcdagpleym0j",
			want{network: Mainnet, amount: 967_878_534, ts: 1572468703, hash: "462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f",
				desc:   `Blockstream Store: 88.85 USD for Blockstream Ledger Nano S x 1, "Back In My Day" Sticker x 2, "I Got Lightning Working" Sticker x 2 and 1 more items`,
				expiry: 604800 * time.Second, cltv: 10}},
		{"payment secret and features 9 15 99", coffeeBeans,
			want{network: Mainnet, amount: 2_500_000_000, ts: specTime, hash: specHash, desc: "coffee beans", expiry: time.Hour, cltv: 18,
				secret: strings.Repeat("11", 32), features: []int{9, 15, 99}}},
		{"upper case", strings.ToUpper(coffeeBeans),
			want{network: Mainnet, amount: 2_500_000_000, ts: specTime, hash: specHash, desc: "coffee beans", expiry: time.Hour, cltv: 18,
				secret: strings.Repeat("11", 32), features: []int{9, 15, 99}}},
		{"lightning: URI prefix", "lightning:" + coffeeBeans,
			want{network: Mainnet, amount: 2_500_000_000, ts: specTime, hash: specHash, desc: "coffee beans", expiry: time.Hour, cltv: 18,
				secret: strings.Repeat("11", 32), features: []int{9, 15, 99}}},
		{"fields that must be ignored",
			"lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqpqsq2qrqqqfppnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqppnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqpp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqhpnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqhp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqspnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqsp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnp5qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnpkqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq2jxxfsnucm4jf4zwtznpaxphce606fvhvje5x7d4gw7n73994hgs7nteqvenq8a4ml8aqtchv5d9pf7l558889hp4yyrqv6a7zpq9fgpskqhza",
			want{network: Mainnet, amount: 2_500_000_000, ts: specTime, hash: specHash, desc: "coffee beans", expiry: time.Hour, cltv: 18,
				secret: strings.Repeat("11", 32), features: []int{9, 15, 99}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Decode(tt.invoice)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkInvoice(t, inv, tt.want)
			if got := hex.EncodeToString(inv.Payee.SerializeCompressed()); got != specPayee {
				t.Errorf("payee = %s, want %s", got, specPayee)
			}
		})
	}
}

func checkInvoice(t *testing.T, inv *Invoice, w want) {
	t.Helper()
	if inv.Network != w.network {
		t.Errorf("network = %q, want %q", inv.Network, w.network)
	}
	if inv.Amount != w.amount {
		t.Errorf("amount = %d, want %d", inv.Amount, w.amount)
	}
	if inv.Timestamp.Unix() != w.ts {
		t.Errorf("timestamp = %d, want %d", inv.Timestamp.Unix(), w.ts)
	}
	if got := hex.EncodeToString(inv.PaymentHash[:]); got != w.hash {
		t.Errorf("payment hash = %s, want %s", got, w.hash)
	}
	if inv.Description != w.desc {
		t.Errorf("description = %q, want %q", inv.Description, w.desc)
	}
	gotDH := ""
	if inv.DescriptionHash != nil {
		gotDH = hex.EncodeToString(inv.DescriptionHash[:])
	}
	if gotDH != w.descHash {
		t.Errorf("description hash = %q, want %q", gotDH, w.descHash)
	}
	if inv.Expiry != w.expiry {
		t.Errorf("expiry = %v, want %v", inv.Expiry, w.expiry)
	}
	if inv.MinFinalCLTVExpiry != w.cltv {
		t.Errorf("cltv = %d, want %d", inv.MinFinalCLTVExpiry, w.cltv)
	}
	gotSecret := ""
	if inv.PaymentSecret != nil {
		gotSecret = hex.EncodeToString(inv.PaymentSecret[:])
	}
	if gotSecret != w.secret {
		t.Errorf("secret = %q, want %q", gotSecret, w.secret)
	}
	if !slices.Equal(inv.Features, w.features) {
		t.Errorf("features = %v, want %v", inv.Features, w.features)
	}
}

// The spec gives the signed message hash of its first example.
func TestSigHashMatchesSpec(t *testing.T) {
	s := "lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq8rkx3yf5tcsyz3d73gafnh3cax9rn449d9p5uxz9ezhhypd0elx87sjle52x86fux2ypatgddc6k63n7erqz25le42c4u4ecky03ylcqca784w"
	hrp, data, err := bech32Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	h := sigHash(hrp, data[:len(data)-signatureWords])
	if got, want := hex.EncodeToString(h[:]), "c3d4e83f646fa79a393d75277b1d858db1d1f7ab7137dcb7835db2ecd518e1c9"; got != want {
		t.Fatalf("sig hash = %s, want %s", got, want)
	}
}

func TestDecodeInvalid(t *testing.T) {
	tests := []struct {
		name    string
		invoice string
		err     error
	}{
		// From BOLT #11 "Examples of Invalid Invoices".
		{"unknown even feature 100", "lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q4psqqqqqqqqqqqqqqqpqsqq40wa3khl49yue3zsgm26jrepqr2eghqlx86rttutve3ugd05em86nsefzh4pfurpd9ek9w2vp95zxqnfe2u7ckudyahsa52q66tgzcp6t2dyk", ErrUnknownFeature},
		{"bad checksum", "lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrnt", ErrChecksum},
		{"no separator", "pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny", ErrEncoding},
		{"mixed case", "LNBC2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny", ErrEncoding},
		{"signature not recoverable", "lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpuaxtrnwngzn3kdzw5hydlzf03qdgm2hdq27cqv3agm2awhz5se903vruatfhq77w3ls4evs3ch9zw97j25emudupq63nyw24cg27h2rspk28uwq", ErrSignature},
		{"too short", "lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6na6hlh", ErrInvalid},
		{"invalid multiplier", "lnbc2500x1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpujr6jxr9gq9pv6g46y7d20jfkegkg4gljz2ea2a3m9lmvvr95tq2s0kvu70u3axgelz3kyvtp2ywwt0y8hkx2869zq5dll9nelr83zzqqpgl2zg", ErrAmount},
		{"sub-millisatoshi", "lnbc2500000001p1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu7hqtk93pkf7sw55rdv4k9z2vj050rxdr6za9ekfs3nlt5lr89jqpdmxsmlj9urqumg0h9wzpqecw7th56tdms40p2ny9q4ddvjsedzcplva53s", ErrAmount},
		// Our own.
		{"empty", "", ErrEncoding},
		{"only separator", "1", ErrEncoding},
		{"non-ascii", "lnbc1ñ", ErrEncoding},
		{"bad data char", "lnbc1bbbbbbbbbbb", ErrEncoding},
		{"unknown prefix", bech32.Encode("lnxy", make([]byte, 120)), ErrNetwork},
		{"not lightning", bech32.Encode("bc", make([]byte, 120)), ErrNetwork},
		{"leading zero amount", bech32.Encode("lnbc01m", make([]byte, 120)), ErrAmount},
		{"amount overflow", bech32.Encode("lnbc99999999999999999999", make([]byte, 120)), ErrAmount},
		{"amount too big for msat", bech32.Encode("lnbc999999999", make([]byte, 120)), ErrAmount},
		{"multiplier only", bech32.Encode("lnbcm", make([]byte, 120)), ErrAmount},
		{"no payment hash", bech32.Encode("lnbc", make([]byte, timestampWords+signatureWords)), ErrField},
		{"field overruns", bech32.Encode("lnbc", append(make([]byte, timestampWords), append([]byte{fieldD, 1, 0}, make([]byte, signatureWords)...)...)), ErrField},
		{"too long", "lnbc1" + strings.Repeat("q", MaxLength), ErrEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Decode(tt.invoice)
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", inv)
			}
			if !errors.Is(err, tt.err) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want %v (and ErrInvalid)", err, tt.err)
			}
		})
	}
}

func testKey(t testing.TB) *btcec.PrivateKey {
	t.Helper()
	b, _ := hex.DecodeString(specKey)
	k, _ := btcec.PrivKeyFromBytes(b)
	return k
}

func TestRoundTrip(t *testing.T) {
	key := testKey(t)
	secret := [32]byte{7, 7, 7}
	dh := sha256.Sum256([]byte("long description"))
	ts := time.Unix(1_700_000_000, 0).UTC()
	tests := []struct {
		name string
		inv  Invoice
	}{
		{"regtest msat amount", Invoice{Network: Regtest, Amount: 1, PaymentHash: [32]byte{1}, PaymentSecret: &secret, Description: "x", Expiry: 90 * time.Second, MinFinalCLTVExpiry: 40, Features: []int{8, 14, 17}}},
		{"signet sat amount", Invoice{Network: Signet, Amount: 21_000, PaymentHash: [32]byte{2}, Description: "coffee ☕", Expiry: time.Hour, MinFinalCLTVExpiry: 144}},
		{"testnet milli", Invoice{Network: Testnet, Amount: 2_500_000_000, PaymentHash: [32]byte{3}, DescriptionHash: &dh, Expiry: 24 * time.Hour, MinFinalCLTVExpiry: 18}},
		{"mainnet whole btc", Invoice{Network: Mainnet, Amount: 3 * msatPerBTC, PaymentHash: [32]byte{4}, Expiry: time.Hour, MinFinalCLTVExpiry: 18}},
		{"simnet nano", Invoice{Network: Simnet, Amount: 12_300, PaymentHash: [32]byte{5}, Expiry: time.Hour, MinFinalCLTVExpiry: 18}},
		{"any amount with payee field", Invoice{Network: Regtest, PaymentHash: [32]byte{6}, Description: "", Expiry: time.Hour, MinFinalCLTVExpiry: 18, IncludePayee: true}},
		{"large feature bit", Invoice{Network: Regtest, Amount: 1000, PaymentHash: [32]byte{7}, Expiry: time.Hour, MinFinalCLTVExpiry: 18, Features: []int{9, 255}}},
		{"max description", Invoice{Network: Regtest, Amount: 1000, PaymentHash: [32]byte{8}, Description: strings.Repeat("a", 639), Expiry: time.Hour, MinFinalCLTVExpiry: 18}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.inv
			in.Timestamp = ts
			s, err := Encode(&in, key)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !strings.HasPrefix(s, Prefix(in.Network)) {
				t.Fatalf("%s lacks prefix %s", s, Prefix(in.Network))
			}
			out, err := Decode(s)
			if err != nil {
				t.Fatalf("Decode(%s): %v", s, err)
			}
			if !out.Payee.IsEqual(key.PubKey()) {
				t.Errorf("payee mismatch")
			}
			in.Payee = out.Payee
			if !equalInvoice(&in, out) {
				t.Errorf("round trip:\n in  %+v\n out %+v", in, *out)
			}
			again, err := Encode(out, key)
			if err != nil || again != s {
				t.Errorf("re-encode differs (%v):\n%s\n%s", err, s, again)
			}
		})
	}
}

func equalInvoice(a, b *Invoice) bool {
	eq32 := func(x, y *[32]byte) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Network == b.Network && a.Amount == b.Amount && a.Timestamp.Equal(b.Timestamp) &&
		a.PaymentHash == b.PaymentHash && eq32(a.PaymentSecret, b.PaymentSecret) &&
		eq32(a.DescriptionHash, b.DescriptionHash) && a.Description == b.Description &&
		a.Expiry == b.Expiry && a.MinFinalCLTVExpiry == b.MinFinalCLTVExpiry &&
		a.IncludePayee == b.IncludePayee && slices.Equal(a.Features, b.Features)
}

func TestAmountEncoding(t *testing.T) {
	tests := []struct {
		msat int64
		hrp  string
	}{
		{1, "lnbcrt10p"},
		{10, "lnbcrt100p"},
		{100, "lnbcrt1n"},
		{1000, "lnbcrt10n"},
		{100_000, "lnbcrt1u"},
		{1_000_000, "lnbcrt10u"},
		{100_000_000, "lnbcrt1m"},
		{250_000_000, "lnbcrt2500u"},
		{100_000_000_000, "lnbcrt1"},
		{123_456_789, "lnbcrt1234567890p"},
	}
	for _, tt := range tests {
		got, err := encodeHRP(Regtest, tt.msat)
		if err != nil || got != tt.hrp {
			t.Errorf("encodeHRP(%d) = %q, %v; want %q", tt.msat, got, err, tt.hrp)
			continue
		}
		net, back, err := decodeHRP(got)
		if err != nil || net != Regtest || back != tt.msat {
			t.Errorf("decodeHRP(%q) = %s %d %v", got, net, back, err)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	key := testKey(t)
	other, _ := btcec.NewPrivateKey()
	tests := []struct {
		name string
		inv  Invoice
		key  *btcec.PrivateKey
	}{
		{"nil key", Invoice{Network: Regtest}, nil},
		{"unknown network", Invoice{Network: "moon"}, key},
		{"negative amount", Invoice{Network: Regtest, Amount: -1}, key},
		{"payee mismatch", Invoice{Network: Regtest, Payee: other.PubKey()}, key},
		{"description too long", Invoice{Network: Regtest, Description: strings.Repeat("a", 640)}, key},
		{"invalid utf-8", Invoice{Network: Regtest, Description: "\xff"}, key},
		{"negative expiry", Invoice{Network: Regtest, Expiry: -time.Second}, key},
		{"negative timestamp", Invoice{Network: Regtest, Timestamp: time.Unix(-1, 0)}, key},
		{"negative feature", Invoice{Network: Regtest, Features: []int{-2}}, key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := Encode(&tt.inv, tt.key); err == nil {
				t.Fatalf("Encode succeeded: %s", s)
			}
		})
	}
}

// A forged payee (n field) must not verify.
func TestPayeeFieldMustMatchSignature(t *testing.T) {
	key := testKey(t)
	other, _ := btcec.NewPrivateKey()
	inv := Invoice{Network: Regtest, Amount: 1000, Timestamp: time.Unix(1_700_000_000, 0), PaymentHash: [32]byte{9}, IncludePayee: true}
	s, err := Encode(&inv, key)
	if err != nil {
		t.Fatal(err)
	}
	// Swap the n field's key for another one and recompute the checksum.
	hrp, data, _ := bech32Decode(s)
	own, _ := convertBits(key.PubKey().SerializeCompressed(), 8, 5, true)
	forged, _ := convertBits(other.PubKey().SerializeCompressed(), 8, 5, true)
	i := bytes.Index(data, own)
	if i < 0 {
		t.Fatal("n field not found")
	}
	copy(data[i:], forged)
	if _, err := Decode(bech32.Encode(hrp, data)); !errors.Is(err, ErrSignature) {
		t.Fatalf("forged payee: err = %v, want ErrSignature", err)
	}
	// A tampered amount changes the signed data: the recovered payee differs.
	inv.IncludePayee = false
	s, _ = Encode(&inv, key)
	hrp, data, _ = bech32Decode(s)
	tampered, err := Decode(bech32.Encode(hrp[:len(hrp)-1]+"p", data))
	if err == nil && tampered.Payee.IsEqual(key.PubKey()) {
		t.Fatal("tampered invoice still recovers the original payee")
	}
}

func TestExpiresAt(t *testing.T) {
	inv := Invoice{Timestamp: time.Unix(1000, 0), Expiry: time.Minute}
	if !inv.ExpiresAt().Equal(time.Unix(1060, 0)) {
		t.Fatalf("ExpiresAt = %v", inv.ExpiresAt())
	}
	if inv.Expired(time.Unix(1059, 0)) || !inv.Expired(time.Unix(1060, 0)) {
		t.Fatal("Expired boundary wrong")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(coffeeBeans)
	f.Add(strings.ToUpper(coffeeBeans))
	f.Add("lnbc9678785340p1pwmna7lpp5gc3xfm08u9qy06djf8dfflhugl6p7lgza6dsjxq454gxhj9t7a0sd8dgfkx7cmtwd68yetpd5s9xar0wfjn5gpc8qhrsdfq24f5ggrxdaezqsnvda3kkum5wfjkzmfqf3jkgem9wgsyuctwdus9xgrcyqcjcgpzgfskx6eqf9hzqnteypzxz7fzypfhg6trddjhygrcyqezcgpzfysywmm5ypxxjemgw3hxjmn8yptk7untd9hxwg3q2d6xjcmtv4ezq7pqxgsxzmnyyqcjqmt0wfjjq6t5v4khxxqyjw5qcqp2rzjq0gxwkzc8w6323m55m4jyxcjwmy7stt9hwkwe2qxmy8zpsgg7jcuwz87fcqqeuqqqyqqqqlgqqqqn3qq9qn07ytgrxxzad9hc4xt3mawjjt8znfv8xzscs7007v9gh9j569lencxa8xeujzkxs0uamak9aln6ez02uunw6rd2ht2sqe4hz8thcdagpleym0j")
	f.Add("lnbcrt1")
	f.Add("")
	key, _ := btcec.PrivKeyFromBytes([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := Decode(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if inv.Payee == nil {
			t.Fatal("decoded invoice without payee")
		}
		// Whatever decodes must re-encode and decode to the same fields.
		var unknownEven bool
		for _, f := range inv.Features {
			unknownEven = unknownEven || (f%2 == 0 && !knownRequired[f])
		}
		// Zero x and c cannot be written (zero means "default" to Encode).
		if unknownEven || inv.Expiry == 0 || inv.MinFinalCLTVExpiry == 0 {
			return
		}
		inv.Payee = nil
		if inv.Description != "" && inv.DescriptionHash != nil {
			inv.Description = ""
		}
		s2, err := Encode(inv, key)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", inv, err)
		}
		inv2, err := Decode(s2)
		if err != nil {
			t.Fatalf("decode of re-encoded: %v", err)
		}
		inv.Payee = inv2.Payee
		if !equalInvoice(inv, inv2) {
			t.Fatalf("re-encode round trip:\n%+v\n%+v", inv, inv2)
		}
	})
}

// FuzzDecodeData gets past the bech32 checksum (which random strings
// almost never satisfy) to exercise the HRP, field and signature parsing.
func FuzzDecodeData(f *testing.F) {
	hrp, data, _ := bech32Decode(coffeeBeans)
	f.Add(hrp, data)
	f.Add("lnbcrt", []byte{})
	f.Add("lntbs2500u", make([]byte, 200))
	f.Fuzz(func(t *testing.T, hrp string, data []byte) {
		hrp = strings.ToLower(hrp)
		for i := 0; i < len(hrp); i++ {
			if hrp[i] < 33 || hrp[i] > 126 || hrp[i] == '1' {
				return
			}
		}
		words := make([]byte, len(data))
		for i, b := range data {
			words[i] = b & 31
		}
		if _, err := Decode(bech32.Encode(hrp, words)); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
	})
}
