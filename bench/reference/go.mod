module github.com/nwc-go/nwc/bench/reference

go 1.26.8

require (
	github.com/nbd-wtf/go-nostr v0.38.2
	github.com/nwc-go/nwc v0.0.0
)

require (
	github.com/btcsuite/btcd/btcec/v2 v2.3.4 // indirect
	github.com/btcsuite/btcd/chaincfg/chainhash v1.1.0 // indirect
	github.com/decred/dcrd/crypto/blake256 v1.1.0 // indirect
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.4.1 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/nwc-go/nwc => ../..
