package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nwc-go/nwc/internal/lightning/lnd"
)

// lndFlags are the connection settings of `nwc serve --backend lnd`; each defaults to
// its environment variable, so flags win over the environment.
type lndFlags struct {
	host, cert, macaroon *string
}

func addLNDFlags(fs *flag.FlagSet) *lndFlags {
	return &lndFlags{
		host: fs.String("lnd-host", os.Getenv("NWC_LND_HOST"),
			"LND REST address, host:port or https://host:port (env NWC_LND_HOST; port 8080 when absent)"),
		cert: fs.String("lnd-tlscert", os.Getenv("NWC_LND_TLSCERT"),
			"LND tls.cert: a file, or the certificate in hex (env NWC_LND_TLSCERT; empty = system roots)"),
		macaroon: fs.String("lnd-macaroon", os.Getenv("NWC_LND_MACAROON"),
			"LND macaroon: a file (admin.macaroon), or the macaroon in hex (env NWC_LND_MACAROON)"),
	}
}

// open connects to LND. The node may be down: calls fail until it is back.
func (f *lndFlags) open(ctx context.Context, logger *slog.Logger, payTimeout time.Duration) (*lnd.Backend, error) {
	if *f.host == "" {
		return nil, fmt.Errorf("--backend lnd needs --lnd-host (or NWC_LND_HOST)")
	}
	cert, err := lnd.LoadTLSCert(*f.cert)
	if err != nil {
		return nil, err
	}
	mac, err := lnd.LoadMacaroon(*f.macaroon)
	if err != nil {
		return nil, err
	}
	return lnd.Open(ctx, lnd.Config{
		Host: *f.host, TLSCert: cert, Macaroon: mac, PaymentTimeout: payTimeout,
		Logger: logger.With("component", "lnd"),
	})
}
