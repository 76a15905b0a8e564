package ingest

import (
	"path"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// topic is a destination topic and what producing to it needs.
type topic struct {
	name string
	// header frames every value: single-object or registry wire format.
	header []byte
	// maxRecordBytes is the largest record the topic takes, from its
	// max.message.bytes, less room for batch overhead.
	maxRecordBytes int
	events         prometheus.Counter
}

// router picks the topic of an event type. Results are cached because the
// set of event types is small (about 1,300 exist) while events are many.
type router struct {
	rules []RouteRule
	def   *topic
	named map[string]*topic

	mu sync.RWMutex
	// cache maps event type to topic; guarded by mu and bounded, so that
	// made-up event types cannot grow it without limit.
	cache map[string]*topic
}

const routeCacheMax = 4096

func newRouter(rules []RouteRule, def *topic, named map[string]*topic) *router {
	return &router{rules: rules, def: def, named: named, cache: make(map[string]*topic)}
}

// route returns the topic for eventType; nil or empty goes to the default.
func (r *router) route(eventType []byte) *topic {
	r.mu.RLock()
	t, ok := r.cache[string(eventType)]
	r.mu.RUnlock()
	if ok {
		return t
	}
	t = r.match(string(eventType))
	r.mu.Lock()
	if len(r.cache) < routeCacheMax {
		r.cache[string(eventType)] = t
	}
	r.mu.Unlock()
	return t
}

func (r *router) match(eventType string) *topic {
	for _, rule := range r.rules {
		// Patterns were checked at start-up, so Match cannot fail here. A
		// '*' spans dots: "user.*" matches "user.session.start".
		if ok, _ := path.Match(rule.Match, eventType); ok {
			return r.named[rule.Topic]
		}
	}
	return r.def
}
