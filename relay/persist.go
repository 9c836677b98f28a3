package relay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/nwc-go/nwc/nostr"
)

// ErrStorage wraps failures to read or write the data directory.
var ErrStorage = errors.New("relay: storage")

// ErrDataDirInUse: another relay (another process, or another Relay in this one) has the
// data directory open.
var ErrDataDirInUse = errors.New("relay: data directory in use by another relay")

const (
	logName       = "events.jsonl"
	lockName      = "lock"
	maxBatch      = 256  // log lines written with one fsync
	compactMin    = 1000 // never compact a log shorter than this
	persistQueue  = 1024
	fileMode      = 0o600
	directoryMode = 0o700
)

// persister keeps stored events in an append-only log, one event's JSON per line. Only
// additions are logged: replaying the log through the store's rules (replacement,
// deletions, expiration, caps) rebuilds the same state, so removals need no record. When
// the log holds more than twice the live events it is rewritten (temp file, fsync, rename).
type persister struct {
	path  string
	dir   string
	log   *slog.Logger
	store *store
	f     *os.File // append handle; owned by loop after open
	lines int      // lines in the file
	reqs  chan persistReq
	quit  chan struct{}
	done  chan struct{}

	unlock func() error // releases the data directory
}

type persistReq struct {
	line []byte
	done func(error)
}

// openPersister loads dir's log into st, rewrites it compactly and starts the writer.
func openPersister(dir string, st *store, now int64, log *slog.Logger) (*persister, error) {
	if err := os.MkdirAll(dir, directoryMode); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	p, err := openLocked(dir, st, now, log)
	if err != nil {
		unlock()
		return nil, err
	}
	p.unlock = unlock
	return p, nil
}

func openLocked(dir string, st *store, now int64, log *slog.Logger) (*persister, error) {
	p := &persister{
		path:  filepath.Join(dir, logName),
		dir:   dir,
		log:   log,
		store: st,
		reqs:  make(chan persistReq, persistQueue),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	loaded, bad, err := p.load(now)
	if err != nil {
		return nil, err
	}
	if bad > 0 {
		log.Warn("relay: skipped unreadable lines in the event log", "path", p.path, "lines", bad)
	}
	if err := p.compact(); err != nil {
		return nil, err
	}
	log.Info("relay: loaded stored events", "path", p.path, "read", loaded, "kept", p.lines)
	go p.loop()
	return p, nil
}

// load replays the log. A line that does not parse or whose id does not match its content
// (a torn write after a crash, or corruption) is skipped. Signatures were checked when the
// events were accepted and the file is private to the relay, so they are not re-verified.
func (p *persister) load(now int64) (loaded, bad int, err error) {
	f, err := os.Open(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, rerr := br.ReadBytes('\n')
		if len(line) > 0 && !(len(line) == 1 && line[0] == '\n') {
			var ev nostr.Event
			switch {
			case ev.UnmarshalJSON(line) != nil, ev.ComputeID() != ev.ID:
				bad++
			case !isStored(ev.Kind):
			case expirationOf(&ev) != 0 && expirationOf(&ev) <= now:
			default:
				p.store.add(&ev, nil) // the store keeps its own compact form
				loaded++
			}
		}
		if rerr == io.EOF {
			return loaded, bad, nil
		}
		if rerr != nil {
			return loaded, bad, fmt.Errorf("%w: read %s: %w", ErrStorage, p.path, rerr)
		}
	}
}

// append queues line; done is called from the writer goroutine once it is synced (or
// failed). It reports false if ctx ended or the persister stopped first.
func (p *persister) append(ctx context.Context, line []byte, done func(error)) bool {
	select {
	case p.reqs <- persistReq{line: line, done: done}:
		return true
	case <-ctx.Done():
		return false
	case <-p.quit:
		return false
	}
}

func (p *persister) loop() {
	defer close(p.done)
	batch := make([]persistReq, 0, maxBatch)
	for {
		select {
		case req := <-p.reqs:
			batch = append(batch[:0], req)
		fill:
			for len(batch) < maxBatch {
				select {
				case req := <-p.reqs:
					batch = append(batch, req)
				default:
					break fill
				}
			}
			p.write(batch)
		case <-p.quit:
			for {
				select {
				case req := <-p.reqs:
					p.write([]persistReq{req})
				default:
					return
				}
			}
		}
	}
}

// write appends a batch with a single write and fsync (group commit).
func (p *persister) write(batch []persistReq) {
	n := 0
	for _, r := range batch {
		n += len(r.line) + 1
	}
	buf := make([]byte, 0, n)
	for _, r := range batch {
		buf = append(buf, r.line...)
		buf = append(buf, '\n')
	}
	_, err := p.f.Write(buf)
	if err == nil {
		err = p.f.Sync()
	}
	if err != nil {
		err = fmt.Errorf("%w: append: %w", ErrStorage, err)
		p.log.Error("relay: could not persist events", "path", p.path, "err", err)
	}
	p.lines += len(batch)
	for _, r := range batch {
		r.done(err)
	}
	if p.lines > compactMin && p.lines > 2*p.store.len() {
		if err := p.compact(); err != nil {
			p.log.Error("relay: could not compact the event log", "path", p.path, "err", err)
		}
	}
}

// compact rewrites the log with just the live events: write a temp file, fsync it, rename
// it over the log, fsync the directory, then keep appending to the new file.
func (p *persister) compact() error {
	entries := p.store.snapshot()
	tmp := p.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, fileMode)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	var line []byte
	for _, e := range entries {
		line = append(e.appendJSON(line[:0]), '\n')
		bw.Write(line)
	}
	err = bw.Flush()
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, p.path)
	}
	if err == nil {
		err = syncDir(p.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%w: compact: %w", ErrStorage, err)
	}
	if p.f != nil {
		p.f.Close()
	}
	p.f = f
	p.lines = len(entries)
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// close stops the writer after it has written what was queued, and closes the file.
func (p *persister) close() error {
	close(p.quit)
	<-p.done
	err := p.f.Close()
	if uerr := p.unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return nil
}
