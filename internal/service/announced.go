package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nwc-go/nwc/internal/wallet"
)

// Announcement memory. Every connection's info event (13194) used to be published again
// at every start: 100,000 signatures, 100,000 events for each relay to verify and store
// (~20 s of CPU here, and a burst that public relays rate-limit). Connections never change
// after creation, so an info event only has to be published again when something outside
// the connection changes: the backend's capabilities, the encryptions, the relays
// (Config.AnnounceKey). The store keeps that fingerprint with the highest connection id
// whose info event — and every lower one's — a relay accepted; a start with the same
// fingerprint announces only the connections above it. Config.AnnounceAll (nwc serve
// --announce-all) ignores the memory, for relays that lost their events.

// settingAnnounced is the store setting: "<fingerprint> <highest announced id>".
const settingAnnounced = "info_announced"

// announceVersion changes when the info event's format changes (forces a re-announce).
const announceVersion = "info-v1"

// announceFingerprint is what, besides the connection itself, shapes an info event.
func (s *Service) announceFingerprint() string {
	caps := s.cfg.Backend.Capabilities()
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%v", announceVersion, s.cfg.AnnounceKey,
		strings.Join(caps.Methods, " "), strings.Join(caps.Notifications, " "), encryptions)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// loadAnnounced returns the highest connection id already announced under fingerprint
// fp (0: announce everything).
func (s *Service) loadAnnounced(ctx context.Context, fp string) int64 {
	if s.cfg.AnnounceAll {
		return 0
	}
	v, err := s.cfg.Store.GetSetting(ctx, settingAnnounced)
	if err != nil {
		if !errors.Is(err, wallet.ErrNotFound) {
			s.log.Warn("read announcement memory", "err", err)
		}
		return 0
	}
	stored, id, ok := parseAnnounced(v)
	if !ok || stored != fp {
		return 0
	}
	return id
}

// formatAnnounced and parseAnnounced are the setting's value: "<fingerprint> <id>".
func formatAnnounced(fp string, id int64) string { return fp + " " + strconv.FormatInt(id, 10) }

func parseAnnounced(v string) (fp string, id int64, ok bool) {
	fp, idText, ok := strings.Cut(v, " ")
	if !ok || fp == "" || strings.ContainsAny(fp, " \t\n") {
		return "", 0, false
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id < 0 {
		return "", 0, false
	}
	return fp, id, true
}

// saveAnnounced records the highest id below which every connection's info event was
// accepted: all known ids if none is waiting, else just below the lowest one waiting.
func (s *Service) saveAnnounced(ctx context.Context) {
	s.mu.Lock()
	hw := s.maxSeenID
	for id := range s.unannounced {
		hw = min(hw, id-1)
	}
	if hw <= s.announcedHW {
		s.mu.Unlock()
		return
	}
	s.announcedHW = hw
	value := formatAnnounced(s.fingerprint, hw)
	s.mu.Unlock()
	if err := s.cfg.Store.PutSetting(ctx, settingAnnounced, value); err != nil {
		s.log.Warn("save announcement memory", "err", err)
	}
}
