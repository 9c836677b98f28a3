package service

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// The lazy logger writes what With would have, and nothing below the level.
func TestLazyAttrs(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelWarn} {
		var got, want bytes.Buffer
		opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}
		lazy := withLazy(slog.New(slog.NewTextHandler(&got, opts)), "event", "e1", "conn", 7)
		eager := slog.New(slog.NewTextHandler(&want, opts)).With("event", "e1", "conn", 7)
		for _, l := range []*slog.Logger{withLazy(lazy, "method", "get_balance"), eager.With("method", "get_balance")} {
			l.Info("request", "outcome", "ok")
			l.Warn("publish", "err", "x")
			l.WithGroup("g").Warn("grouped", "k", 1)
		}
		if got.String() != want.String() {
			t.Fatalf("level %v: lazy logger wrote\n%s\nwant\n%s", level, got.String(), want.String())
		}
		if level == slog.LevelWarn && strings.Contains(got.String(), "request") {
			t.Fatalf("info line written at level warn: %s", got.String())
		}
		if !strings.Contains(got.String(), "event=e1 conn=7 method=get_balance err=x") {
			t.Fatalf("attributes missing: %s", got.String())
		}
	}
}
