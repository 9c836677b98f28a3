package service

import (
	"context"
	"log/slog"
	"slices"
)

// lazyAttrs is a slog.Handler that keeps a logger's attributes aside until a record is
// handled. slog's text and JSON handlers format attributes in With, and the service makes
// a logger with the event id and connection for every request, nearly always to log
// nothing (at the default level only the one "request" line; under load with
// --log-level warn, nothing).
type lazyAttrs struct {
	h     slog.Handler
	attrs []slog.Attr
}

// withLazy returns a logger like base.With(args...) that formats args only when it logs.
func withLazy(base *slog.Logger, args ...any) *slog.Logger {
	h := base.Handler()
	if l, ok := h.(lazyAttrs); ok {
		return slog.New(l).With(args...)
	}
	return slog.New(lazyAttrs{h: h}).With(args...)
}

func (l lazyAttrs) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level)
}

func (l lazyAttrs) Handle(ctx context.Context, r slog.Record) error {
	return l.h.WithAttrs(l.attrs).Handle(ctx, r)
}

func (l lazyAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return lazyAttrs{h: l.h, attrs: append(slices.Clip(l.attrs), attrs...)}
}

func (l lazyAttrs) WithGroup(name string) slog.Handler {
	return l.h.WithAttrs(l.attrs).WithGroup(name)
}
