package ingest

import (
	"hash/maphash"
	"sync"
	"time"
)

// dedup remembers the events Kafka acknowledged during the last window, so
// that events Okta delivers again are dropped. It keeps two generations of
// keys and retires the older one every window: an event is remembered for at
// least one window and at most two. Memory is bounded by maxEntries; when the
// current generation fills up early, generations turn early and the window
// shrinks for a while (counted in a metric) instead of memory growing.
//
// Safe for concurrent use.
type dedup struct {
	window  time.Duration
	maxGen  int
	seed    maphash.Seed
	onEarly func()

	mu sync.Mutex
	// cur, prev and turned are guarded by mu.
	cur, prev map[uint64]struct{}
	turned    time.Time
}

func newDedup(window time.Duration, maxEntries int, onEarly func()) *dedup {
	if window <= 0 {
		return nil
	}
	return &dedup{
		window:  window,
		maxGen:  maxEntries / 2,
		seed:    maphash.MakeSeed(),
		onEarly: onEarly,
		cur:     make(map[uint64]struct{}),
		prev:    make(map[uint64]struct{}),
		turned:  time.Now(),
	}
}

// key identifies an event. Okta's uuid is the identity; eventType and
// published are mixed in so that two different events which happen to share
// a uuid (seen in exported data) are not taken for one another, while a
// redelivery, which repeats all three, still is.
func (d *dedup) key(uuid, eventType, published []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.Write(uuid)
	h.WriteByte(0)
	h.Write(eventType)
	h.WriteByte(0)
	h.Write(published)
	return h.Sum64()
}

// seen reports whether k was acknowledged within the window.
func (d *dedup) seen(k uint64, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.turnLocked(now)
	if _, ok := d.cur[k]; ok {
		return true
	}
	_, ok := d.prev[k]
	return ok
}

// add records that k was acknowledged.
func (d *dedup) add(k uint64, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.turnLocked(now)
	if len(d.cur) >= d.maxGen {
		d.turn(now)
		if d.onEarly != nil {
			d.onEarly()
		}
	}
	d.cur[k] = struct{}{}
}

// len returns the number of remembered keys.
func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.cur) + len(d.prev)
}

// turnLocked retires the older generation once a window has passed. d.mu
// must be held.
func (d *dedup) turnLocked(now time.Time) {
	if now.Sub(d.turned) < d.window {
		return
	}
	d.turn(now)
}

func (d *dedup) turn(now time.Time) {
	d.prev, d.cur = d.cur, d.prev
	clear(d.cur)
	d.turned = now
}
