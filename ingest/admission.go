package ingest

import (
	"sync"
	"time"
)

// admission bounds the deliveries processed at once and decides how long
// one may wait for a slot, after the CoDel idea of telling a burst from a
// standing queue by the shortest wait over an interval: a burst drains, so
// some delivery gets a slot (almost) at once; under sustained overload even
// the luckiest waits. During a burst a delivery may wait the full admission
// wait; while the last interval shows a standing queue it may wait only a
// few milliseconds, so that the overload is shed with quick 503s instead of
// holding memory and Okta's connections, and Okta's one retry comes sooner.
type admission struct {
	slots chan struct{}
	// wait is the admission wait, which is also the interval; target is the
	// wait that counts as a standing queue, and the longest one allowed
	// while there is one.
	wait, target time.Duration

	mu sync.Mutex
	// The fields below are guarded by mu. minWait is the shortest wait in
	// the interval that ends at end; overloaded is what the interval before
	// it showed.
	end        time.Time
	minWait    time.Duration
	overloaded bool
}

func newAdmission(slots int, wait time.Duration) *admission {
	// 5 ms is CoDel's own target; a tenth of a short admission wait.
	return &admission{slots: make(chan struct{}, slots), wait: wait, target: min(5*time.Millisecond, wait/10)}
}

// acquire takes a slot. It reports whether it got one and, when it did not,
// whether it was refused early because of a standing queue.
func (a *admission) acquire() (ok, early bool) {
	select {
	case a.slots <- struct{}{}:
		a.observe(0)
		return true, false
	default:
	}
	limit := a.wait
	if a.standing() {
		limit = a.target
	}
	start := time.Now()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		a.observe(time.Since(start))
		return true, false
	case <-t.C:
		a.observe(limit)
		return false, limit < a.wait
	}
}

// release frees a slot.
func (a *admission) release() { <-a.slots }

func (a *admission) standing() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.overloaded
}

// observe records one delivery's wait and, at the end of an interval,
// decides from its shortest wait whether the queue is standing.
func (a *admission) observe(waited time.Duration) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case now.Before(a.end):
		a.minWait = min(a.minWait, waited)
		return
	case now.Sub(a.end) > a.wait:
		// A whole interval went by without deliveries: nothing is queued.
		a.overloaded = false
	default:
		a.overloaded = a.minWait > a.target
	}
	a.minWait, a.end = waited, now.Add(a.wait)
}
