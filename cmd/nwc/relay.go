package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/relay"
)

func init() {
	commands["relay"] = command{summary: "run the Nostr relay alone (NIP-01/11/40, optional NIP-42 allow-list)", run: runRelay}
}

func runRelay(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("nwc relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:7447", "address to listen on (host:port)")
	dataDir := fs.String("data-dir", "", `directory where stored events persist ("" = memory only)`)
	var allow stringList
	fs.Var(&allow, "auth-allow", "require NIP-42 AUTH and allow only these keys (npub or hex; comma-separated, repeatable)")
	name := fs.String("name", "nwc relay", "relay name (NIP-11)")
	description := fs.String("description", "", "relay description (NIP-11)")
	maxMsg := fs.Int("max-message-bytes", relay.DefaultMaxMessageBytes, "largest client message in bytes (at least 131072)")
	maxSubs := fs.Int("max-subscriptions", relay.DefaultMaxSubsPerConn, "subscriptions per connection")
	maxFilters := fs.Int("max-filters", relay.DefaultMaxFilters, "filters per REQ")
	rate := fs.Float64("events-per-second", relay.DefaultEventsPerSecond, "events per second per connection, burst twice that (negative = no limit)")
	maxLimit := fs.Int("max-limit", relay.DefaultMaxLimit, "most stored events one filter returns")
	maxStored := fs.Int("max-stored", relay.DefaultMaxStoredEvents, "regular events kept (and, separately, replaceable ones); oldest dropped first")
	maxReplaceable := fs.Int("max-replaceable", 0, "replaceable and addressable events kept, if not --max-stored (a wallet's relay: one info event per connection)")
	maxFuture := fs.Duration("max-future", relay.DefaultMaxFuture, "refuse stored events dated further ahead than this (negative = no limit; ephemeral events are never refused for it)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logJSON := fs.Bool("log-json", false, "log as JSON lines")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nwc relay: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	logger, err := newLogger(stderr, *logLevel, *logJSON)
	if err != nil {
		fmt.Fprintln(stderr, "nwc relay:", err)
		return 2
	}
	keys, err := parseKeyList(allow)
	if err != nil {
		fmt.Fprintln(stderr, "nwc relay: --auth-allow:", err)
		return 2
	}
	r, err := relay.New(relay.Config{
		DataDir:              *dataDir,
		AuthAllow:            keys,
		MaxMessageBytes:      *maxMsg,
		MaxSubsPerConn:       *maxSubs,
		MaxFilters:           *maxFilters,
		EventsPerSecond:      *rate,
		MaxLimit:             *maxLimit,
		MaxStoredEvents:      *maxStored,
		MaxReplaceableEvents: *maxReplaceable,
		MaxFuture:            *maxFuture,
		Name:                 *name,
		Description:          *description,
		Logger:               logger,
	})
	if err != nil {
		fmt.Fprintln(stderr, "nwc relay:", err)
		return 1
	}
	url, stop, err := relay.ListenAndServe(ctx, *listen, r)
	if err != nil {
		r.Close()
		fmt.Fprintln(stderr, "nwc relay:", err)
		return 1
	}
	storage := *dataDir
	if storage == "" {
		storage = "memory only"
	}
	logger.Info("relay listening", "url", url, "storage", storage, "auth_required", keys != nil, "allowed_keys", len(keys))
	<-ctx.Done()
	logger.Info("relay stopping")
	stop()
	if err := r.Close(); err != nil {
		logger.Error("relay close", "err", err)
		return 1
	}
	logger.Info("relay stopped")
	return 0
}

// parseKeyList reads npub or hex keys; nil when there are none (an open relay).
func parseKeyList(items []string) ([]nostr.PublicKey, error) {
	var keys []nostr.PublicKey
	for _, s := range items {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		var pk nostr.PublicKey
		var err error
		if strings.HasPrefix(s, "npub1") {
			pk, err = nostr.DecodeNpub(s)
		} else {
			pk, err = nostr.ParsePublicKey(s)
		}
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		keys = append(keys, pk)
	}
	return keys, nil
}
