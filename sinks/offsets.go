package sinks

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

type topicPartition struct {
	topic     string
	partition int32
}

// offsets tracks, per partition, the records handed to the sink and which
// of them are finished (delivered, dead-lettered or filtered out), so that
// only the offset below the first unfinished record is committed. Offsets
// in a partition need not be contiguous (transaction markers, compaction),
// hence a queue rather than a counter. Safe for concurrent use.
type offsets struct {
	mu sync.Mutex
	// parts is guarded by mu.
	parts map[topicPartition]*partition
}

type partition struct {
	queue     []int64 // tracked offsets, in order, not yet committed
	done      map[int64]bool
	epoch     int32
	committed int64 // the last offset handed to commit, -1 for none
}

func newOffsets() *offsets { return &offsets{parts: map[topicPartition]*partition{}} }

// track records that r was handed out. Records of a partition arrive in
// order.
func (o *offsets) track(r *kgo.Record) {
	o.mu.Lock()
	defer o.mu.Unlock()
	tp := topicPartition{r.Topic, r.Partition}
	p := o.parts[tp]
	if p == nil {
		p = &partition{done: map[int64]bool{}, committed: -1}
		o.parts[tp] = p
	}
	p.queue = append(p.queue, r.Offset)
	p.epoch = r.LeaderEpoch
}

// finish marks r finished. A record of a partition no longer tracked (it
// was revoked) is ignored: its new owner will deliver it again.
func (o *offsets) finish(r *kgo.Record) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p := o.parts[topicPartition{r.Topic, r.Partition}]; p != nil {
		p.done[r.Offset] = true
	}
}

// committable returns, for every partition that advanced, the offset to
// commit: one past the last record of the finished prefix.
func (o *offsets) committable() map[string]map[int32]kgo.EpochOffset {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out map[string]map[int32]kgo.EpochOffset
	for tp, p := range o.parts {
		last := int64(-1)
		n := 0
		for n < len(p.queue) && p.done[p.queue[n]] {
			last = p.queue[n]
			delete(p.done, last)
			n++
		}
		p.queue = p.queue[n:]
		if last < 0 || last == p.committed {
			continue
		}
		p.committed = last
		if out == nil {
			out = map[string]map[int32]kgo.EpochOffset{}
		}
		if out[tp.topic] == nil {
			out[tp.topic] = map[int32]kgo.EpochOffset{}
		}
		out[tp.topic][tp.partition] = kgo.EpochOffset{Epoch: p.epoch, Offset: last + 1}
	}
	return out
}

// forget drops partitions the sink no longer owns.
func (o *offsets) forget(revoked map[string][]int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for topic, parts := range revoked {
		for _, p := range parts {
			delete(o.parts, topicPartition{topic, p})
		}
	}
}
