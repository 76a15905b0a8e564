package ingest

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// rateLog lets one line per key through per interval, so that a failing
// Kafka or a misconfigured Okta org cannot flood the logs. Dropped lines are
// counted. Safe for concurrent use.
type rateLog struct {
	every      time.Duration
	suppressed prometheus.Counter

	mu sync.Mutex
	// last is guarded by mu; keys are a small fixed set of failure kinds.
	last map[string]time.Time
}

func newRateLog(every time.Duration, suppressed prometheus.Counter) *rateLog {
	return &rateLog{every: every, suppressed: suppressed, last: make(map[string]time.Time)}
}

// event returns a log event at level for key, or nil (which zerolog treats
// as disabled) when a line for key was written within the interval.
func (r *rateLog) event(log *zerolog.Logger, level zerolog.Level, key string) *zerolog.Event {
	now := time.Now()
	r.mu.Lock()
	last, ok := r.last[key]
	allow := !ok || now.Sub(last) >= r.every
	if allow {
		r.last[key] = now
	}
	r.mu.Unlock()
	if !allow {
		r.suppressed.Inc()
		return nil
	}
	return log.WithLevel(level).Str("limit_key", key)
}
