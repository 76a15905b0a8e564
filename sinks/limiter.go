package sinks

import (
	"context"
	"sync"
	"time"
)

// limiter bounds the batches in flight and adapts the bound between 1 and
// max: additive increase while deliveries succeed promptly, multiplicative
// decrease on errors, backpressure or slow answers (AIMD, as TCP does).
// Safe for concurrent use.
type limiter struct {
	max  int
	slow time.Duration // an answer slower than this counts as congestion

	mu sync.Mutex
	// limit, inUse and changed are guarded by mu.
	limit   float64
	inUse   int
	changed chan struct{} // closed and replaced whenever a slot frees up
}

func newLimiter(max int, slow time.Duration) *limiter {
	return &limiter{max: max, slow: slow, limit: float64(max), changed: make(chan struct{})}
}

// acquire waits for a slot.
func (l *limiter) acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.inUse < int(l.limit) {
			l.inUse++
			l.mu.Unlock()
			return nil
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release frees a slot and adapts the limit to how the delivery went.
func (l *limiter) release(took time.Duration, congested bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inUse--
	if congested || took > l.slow {
		l.limit = max(1, l.limit/2)
	} else {
		l.limit = min(float64(l.max), l.limit+1/l.limit)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// current is the limit now, for the concurrency metric.
func (l *limiter) current() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return float64(int(l.limit))
}
