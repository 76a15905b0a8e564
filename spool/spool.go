// Package spool keeps records on local disk while Kafka cannot take them, so
// that a delivery can still be acknowledged to Okta: a record is fsynced to
// the spool before the 200, and a drainer produces it to Kafka when Kafka is
// back, in order per source, deleting it only after Kafka acknowledged it.
//
// The store is bbolt: every append is one fsynced transaction, and a crash
// leaves either the whole transaction or none of it, so there is no torn
// tail to repair. Each record also carries its own CRC-32C; a record that
// fails it is removed and reported at open.
package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/hookbridge/hookbridge/confval"
)

// Config configures the spool.
type Config struct {
	// Enabled turns the spool on; default true. Off, a delivery Kafka does
	// not acknowledge within the response budget gets 503.
	Enabled bool `yaml:"enabled"`
	// Dir holds the spool file; default data/spool.
	Dir string `yaml:"dir"`
	// MaxBytes bounds the records waiting; default 1GiB. When full, new
	// deliveries that need the spool get 503.
	MaxBytes confval.Bytes `yaml:"max_bytes"`
	// MaxAge bounds how old the oldest waiting record may be before new
	// deliveries that need the spool get 503; default 24h. Nothing already
	// spooled is ever dropped.
	MaxAge time.Duration `yaml:"max_age"`
}

// DefaultConfig returns the configuration used for unset keys.
func DefaultConfig() Config {
	return Config{Enabled: true, Dir: "data/spool", MaxBytes: 1 << 30, MaxAge: 24 * time.Hour}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	if c.Dir == "" {
		return errors.New("spool.dir is required when the spool is enabled")
	}
	if c.MaxBytes < 1<<20 {
		return fmt.Errorf("spool.max_bytes: %s is below 1MiB", c.MaxBytes)
	}
	if c.MaxAge <= 0 {
		return errors.New("spool.max_age must be positive")
	}
	return nil
}

// ErrFull is returned by Append when the spool is at its byte or age limit.
var ErrFull = errors.New("spool is full")

const fileName = "spool.db"

// Spool is the on-disk queue. Safe for concurrent use.
type Spool struct {
	cfg  Config
	log  zerolog.Logger
	db   *bolt.DB
	wake chan struct{} // capacity 1: an append nudges the drainer

	bytes   atomic.Int64
	records atomic.Int64
	drained atomic.Int64

	mu sync.Mutex
	// pending maps a source to what it has waiting; guarded by mu.
	pending map[string]*waiting
}

type waiting struct {
	records int
	bytes   int64
	oldest  time.Time // when the oldest waiting record was received
}

// Open opens or creates the spool and counts what it holds. Damage is never
// fatal: corrupt records are removed and reported, and a store that cannot
// be opened at all is moved aside and replaced by an empty one.
func Open(cfg Config, log zerolog.Logger) (*Spool, error) {
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create spool dir: %w", err)
	}
	path := filepath.Join(cfg.Dir, fileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil && !errors.Is(err, bolt.ErrTimeout) {
		aside := fmt.Sprintf("%s.damaged-%d", path, time.Now().Unix())
		log.Error().Err(err).Str("path", path).Str("moved_to", aside).
			Msg("spool file cannot be opened; moved aside, starting an empty spool")
		if rerr := os.Rename(path, aside); rerr != nil {
			return nil, fmt.Errorf("move damaged spool aside: %w", rerr)
		}
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	}
	if err != nil {
		return nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	s := &Spool{cfg: cfg, log: log, db: db, wake: make(chan struct{}, 1), pending: map[string]*waiting{}}
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	if n := s.records.Load(); n > 0 {
		log.Warn().Int64("records", n).Int64("bytes", s.bytes.Load()).
			Msg("spool holds records from before the restart; draining them to kafka")
	}
	return s, nil
}

// load counts the waiting records and removes corrupt ones.
func (s *Spool) load() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			w := &waiting{}
			var bad [][]byte
			err := b.ForEach(func(k, v []byte) error {
				r, err := decodeRecord(v)
				if err != nil {
					bad = append(bad, append([]byte(nil), k...))
					return nil
				}
				if w.records == 0 {
					w.oldest = r.Timestamp
				}
				w.records++
				w.bytes += int64(len(v))
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range bad {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			if len(bad) > 0 {
				s.log.Error().Str("source", string(name)).Int("records", len(bad)).
					Msg("removed corrupt records from the spool; they cannot be delivered")
			}
			if w.records > 0 {
				s.pending[string(name)] = w
				s.records.Add(int64(w.records))
				s.bytes.Add(w.bytes)
			}
			return nil
		})
	})
}

// Append writes records for a source and fsyncs them before returning. It
// fails with ErrFull, writing nothing, when the spool is at a limit.
func (s *Spool) Append(source string, recs []Record) error {
	var buf []byte
	offsets := make([]int, 0, len(recs)+1)
	for i := range recs {
		offsets = append(offsets, len(buf))
		buf = appendRecord(buf, &recs[i])
	}
	offsets = append(offsets, len(buf))
	if err := s.admit(int64(len(buf))); err != nil {
		return err
	}
	// mu spans the write and the counts, so the drainer never sees a source
	// as emptied while an append to it is landing.
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(source))
		if err != nil {
			return err
		}
		for i := range recs {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), buf[offsets[i]:offsets[i+1]]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append to spool: %w", err)
	}
	w := s.pending[source]
	if w == nil {
		w = &waiting{oldest: recs[0].Timestamp}
		s.pending[source] = w
	}
	w.records += len(recs)
	w.bytes += int64(len(buf))
	s.records.Add(int64(len(recs)))
	s.bytes.Add(int64(len(buf)))
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

func (s *Spool) admit(n int64) error {
	if s.bytes.Load()+n > int64(s.cfg.MaxBytes) {
		return fmt.Errorf("%w: %d bytes waiting, limit %s", ErrFull, s.bytes.Load(), s.cfg.MaxBytes)
	}
	if age := s.OldestAge(); age > s.cfg.MaxAge {
		return fmt.Errorf("%w: oldest record waited %s, limit %s", ErrFull, age.Round(time.Second), s.cfg.MaxAge)
	}
	return nil
}

// Pending reports whether source has records waiting. While it has, its new
// deliveries are spooled too, so that they reach Kafka after the older ones.
func (s *Spool) Pending(source string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending[source] != nil
}

// Stats returns the records and bytes waiting and the records drained.
func (s *Spool) Stats() (records, bytes, drained int64) {
	return s.records.Load(), s.bytes.Load(), s.drained.Load()
}

// OldestAge is how long the oldest waiting record has waited; 0 when empty.
func (s *Spool) OldestAge() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest time.Time
	for _, w := range s.pending {
		if oldest.IsZero() || w.oldest.Before(oldest) {
			oldest = w.oldest
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return time.Since(oldest)
}

// Close closes the store.
func (s *Spool) Close() error { return s.db.Close() }

// ProduceFunc produces records to Kafka and returns, per record, nil once
// Kafka acknowledged it or the error.
type ProduceFunc func(ctx context.Context, recs []Record) []error

// drainBatch bounds one round of the drainer.
const (
	drainBatchRecords = 1000
	drainBatchBytes   = 8 << 20
)

// Run drains the spool until ctx ends: each source's records in order, a
// batch at a time, deleting each record once produce reports it
// acknowledged. Failures are retried with backoff; nothing is dropped.
func (s *Spool) Run(ctx context.Context, produce ProduceFunc) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		progressed, failed := false, false
		for _, src := range s.sources() {
			n, err := s.drainOne(ctx, src, produce)
			progressed = progressed || n > 0
			if err != nil {
				failed = true
				s.log.Warn().Err(err).Str("source", src).Msg("spool drain round failed; retrying")
			}
		}
		var wait time.Duration
		switch {
		case failed:
			wait = backoff
			backoff = min(2*backoff, 5*time.Second)
		case progressed:
			backoff = 100 * time.Millisecond
			continue
		default:
			wait = time.Minute // idle: an append wakes us
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-time.After(wait):
		}
	}
}

func (s *Spool) sources() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.pending))
	for src := range s.pending {
		out = append(out, src)
	}
	sort.Strings(out)
	return out
}

// drainOne produces the oldest batch of a source and deletes what Kafka
// acknowledged, in order: it stops at the first record that failed.
func (s *Spool) drainOne(ctx context.Context, source string, produce ProduceFunc) (int, error) {
	var keys [][]byte
	var recs []Record
	var sizes []int
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(source))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		total := 0
		for k, v := c.First(); k != nil && len(recs) < drainBatchRecords && total < drainBatchBytes; k, v = c.Next() {
			r, err := decodeRecord(v)
			if err != nil {
				// Cannot happen for what load checked and Append wrote,
				// but must not block the queue forever.
				s.log.Error().Err(err).Str("source", source).Msg("skipping a corrupt spooled record")
				continue
			}
			keys = append(keys, append([]byte(nil), k...))
			recs = append(recs, r)
			sizes = append(sizes, len(v))
			total += len(v)
		}
		return nil
	})
	if err != nil || len(recs) == 0 {
		return 0, err
	}

	errs := produce(ctx, recs)
	done := 0
	for done < len(recs) && errs[done] == nil {
		done++
	}
	if done > 0 {
		var bytes int64
		for _, n := range sizes[:done] {
			bytes += int64(n)
		}
		s.mu.Lock()
		next, empty, err := s.delete(source, keys[:done])
		if err == nil {
			s.forgetLocked(source, done, bytes, next, empty)
		}
		s.mu.Unlock()
		if err != nil {
			return 0, err
		}
		s.drained.Add(int64(done))
	}
	if done < len(recs) {
		return done, fmt.Errorf("produce spooled record: %w", errs[done])
	}
	return done, nil
}

// delete removes drained records and returns when the next waiting record
// was received, or empty when none is left.
func (s *Spool) delete(source string, keys [][]byte) (next time.Time, empty bool, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(source))
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		k, v := b.Cursor().First()
		if k == nil {
			empty = true
			return nil
		}
		if r, err := decodeRecord(v); err == nil {
			next = r.Timestamp
		}
		return nil
	})
	return next, empty, err
}

// forgetLocked takes drained records off the counts. A source with nothing
// left is no longer pending. s.mu must be held.
func (s *Spool) forgetLocked(source string, n int, bytes int64, next time.Time, empty bool) {
	w := s.pending[source]
	if w == nil {
		return
	}
	s.records.Add(-int64(n))
	s.bytes.Add(-bytes)
	w.records -= n
	w.bytes -= bytes
	if empty || w.records <= 0 {
		s.records.Add(-int64(w.records)) // keep the totals right if they drifted
		s.bytes.Add(-w.bytes)
		delete(s.pending, source)
		return
	}
	if !next.IsZero() {
		w.oldest = next
	}
}

// Admits reports whether an append would currently be accepted, size aside.
func (s *Spool) Admits() bool { return s.admit(0) == nil }
