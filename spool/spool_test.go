package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"
	bolt "go.etcd.io/bbolt"
)

func testConfig(t *testing.T) Config {
	c := DefaultConfig()
	c.Dir = t.TempDir()
	return c
}

var testStart = time.Now().Truncate(time.Millisecond)

func rec(i int) Record {
	return Record{
		Topic: "okta.events", Key: []byte(fmt.Sprint("k", i)), Value: []byte(fmt.Sprint("value-", i)),
		Headers:   []kgo.RecordHeader{{Key: "okta-event-type", Value: []byte("user.session.start")}},
		Timestamp: testStart.Add(time.Duration(i) * time.Millisecond), DedupKey: uint64(i + 1),
	}
}

// collector is a ProduceFunc that records what it was given, optionally
// failing from the nth record of a call.
type collector struct {
	mu     sync.Mutex
	got    []Record
	failAt int // -1: never
	calls  int
}

func (c *collector) produce(_ context.Context, recs []Record) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	errs := make([]error, len(recs))
	for i, r := range recs {
		if c.failAt >= 0 && i >= c.failAt {
			errs[i] = errors.New("broker unavailable")
			continue
		}
		c.got = append(c.got, r)
	}
	c.failAt = -1 // fail once only
	return errs
}

func drainAll(t *testing.T, s *Spool, c *collector) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, c.produce); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if n, _, _ := s.Stats(); n == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if n, b, _ := s.Stats(); n != 0 || b != 0 {
		t.Fatalf("spool not drained: %d records, %d bytes", n, b)
	}
}

func TestRecordEncoding(t *testing.T) {
	r := rec(7)
	r.Key = nil
	b := appendRecord(nil, &r)
	got, err := decodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Topic != r.Topic || got.Key != nil || string(got.Value) != string(r.Value) ||
		!got.Timestamp.Equal(r.Timestamp) || got.DedupKey != r.DedupKey ||
		len(got.Headers) != 1 || string(got.Headers[0].Value) != "user.session.start" {
		t.Fatalf("decoded %+v", got)
	}
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x40
		if _, err := decodeRecord(bad); !errors.Is(err, errCorrupt) {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	if _, err := decodeRecord(b[:len(b)-1]); !errors.Is(err, errCorrupt) {
		t.Fatal("a truncated record went unnoticed")
	}
}

// TestDrainInOrderAcrossRestart appends, reopens as after a crash, and
// drains: every record arrives once, in order per source.
func TestDrainInOrderAcrossRestart(t *testing.T) {
	cfg := testConfig(t)
	s, err := Open(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i += 3 {
		if err := s.Append("okta", []Record{rec(i), rec(i + 1), rec(i + 2)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append("org2", []Record{rec(100)}); err != nil {
		t.Fatal(err)
	}
	if !s.Pending("okta") || !s.Pending("org2") || s.Pending("other") {
		t.Fatal("pending is wrong")
	}
	s.Close()

	s, err = Open(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _, _ := s.Stats(); n != 31 {
		t.Fatalf("after reopening: %d records, want 31", n)
	}
	c := &collector{failAt: 5}
	drainAll(t, s, c)
	var okta []int
	for _, r := range c.got {
		var i int
		fmt.Sscanf(string(r.Value), "value-%d", &i)
		if i < 100 {
			okta = append(okta, i)
		}
	}
	if len(okta) != 30 {
		t.Fatalf("drained %d okta records, want 30: %v", len(okta), okta)
	}
	for i, v := range okta {
		if v != i {
			t.Fatalf("okta records out of order: %v", okta)
		}
	}
	if s.Pending("okta") || s.Pending("org2") {
		t.Error("still pending after draining")
	}
	if _, _, drained := s.Stats(); drained != 31 {
		t.Errorf("drained counter %d", drained)
	}
}

func TestFull(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxBytes = 1 << 20
	s, err := Open(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	big := rec(1)
	big.Value = make([]byte, 600<<10)
	if err := s.Append("okta", []Record{big}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append("okta", []Record{big}); !errors.Is(err, ErrFull) {
		t.Fatalf("second append: %v, want ErrFull", err)
	}
	if n, _, _ := s.Stats(); n != 1 {
		t.Fatalf("a refused append wrote records: %d", n)
	}

	cfg2 := testConfig(t)
	cfg2.MaxAge = time.Hour
	s2, err := Open(cfg2, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	old := rec(1)
	old.Timestamp = time.Now().Add(-2 * time.Hour)
	if err := s2.Append("okta", []Record{old}); err != nil {
		t.Fatal(err)
	}
	if err := s2.Append("okta", []Record{rec(2)}); !errors.Is(err, ErrFull) {
		t.Fatalf("append behind a record older than max_age: %v, want ErrFull", err)
	}
}

// TestCorruptRecordIsRemovedAtOpen damages one stored record: open reports
// and removes it, the others survive.
func TestCorruptRecordIsRemovedAtOpen(t *testing.T) {
	cfg := testConfig(t)
	s, err := Open(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append("okta", []Record{rec(0), rec(1), rec(2)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(filepath.Join(cfg.Dir, fileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("okta"))
		k, v := b.Cursor().First()
		k, v = b.Cursor().Seek(k)
		bad := append([]byte(nil), v...)
		bad[len(bad)-1] ^= 1
		return b.Put(k, bad)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _, _ := s.Stats(); n != 2 {
		t.Fatalf("after removing the corrupt record: %d records, want 2", n)
	}
	c := &collector{failAt: -1}
	drainAll(t, s, c)
	if len(c.got) != 2 || string(c.got[0].Value) != "value-1" {
		t.Fatalf("drained %d records", len(c.got))
	}
}

func TestDamagedFileIsMovedAside(t *testing.T) {
	cfg := testConfig(t)
	if err := os.WriteFile(filepath.Join(cfg.Dir, fileName), []byte("not a bolt file at all, garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("a damaged file was fatal: %v", err)
	}
	defer s.Close()
	moved, _ := filepath.Glob(filepath.Join(cfg.Dir, fileName+".damaged-*"))
	if len(moved) != 1 {
		t.Fatalf("damaged file not kept aside: %v", moved)
	}
	if err := s.Append("okta", []Record{rec(1)}); err != nil {
		t.Fatal(err)
	}
}

// TestAppendWhileDraining keeps appending while the drainer runs: nothing
// is lost or left behind.
func TestAppendWhileDraining(t *testing.T) {
	s, err := Open(testConfig(t), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &collector{failAt: -1}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, c.produce); close(done) }()
	for i := range 200 {
		if err := s.Append("okta", []Record{rec(i)}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		n := len(c.got)
		c.mu.Unlock()
		if n == 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if len(c.got) != 200 {
		t.Fatalf("drained %d of 200", len(c.got))
	}
	for i, r := range c.got {
		if string(r.Value) != fmt.Sprint("value-", i) {
			t.Fatalf("record %d is %s", i, r.Value)
		}
	}
	if s.Pending("okta") {
		t.Error("still pending")
	}
}
