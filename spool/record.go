package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Record is one Kafka record waiting in the spool.
type Record struct {
	Topic     string
	Key       []byte
	Value     []byte
	Headers   []kgo.RecordHeader
	Timestamp time.Time
	// DedupKey identifies the event for deduplication; 0 when there is
	// none (dead letters, or deduplication off).
	DedupKey uint64
}

const recordVersion = 1

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a stored record whose checksum or layout is wrong.
var errCorrupt = errors.New("spooled record is corrupt")

// appendRecord encodes r: a CRC-32C of everything after it, a version byte,
// then the fields. The checksum catches what the store's own page checks
// cannot: a record damaged before it was written, or by hand.
func appendRecord(dst []byte, r *Record) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, recordVersion)
	dst = binary.AppendVarint(dst, r.Timestamp.UnixMilli())
	dst = binary.BigEndian.AppendUint64(dst, r.DedupKey)
	dst = appendBytes(dst, []byte(r.Topic))
	if r.Key == nil {
		dst = binary.AppendUvarint(dst, 0)
	} else {
		dst = binary.AppendUvarint(dst, uint64(len(r.Key))+1)
		dst = append(dst, r.Key...)
	}
	dst = appendBytes(dst, r.Value)
	dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
	for _, h := range r.Headers {
		dst = appendBytes(dst, []byte(h.Key))
		dst = appendBytes(dst, h.Value)
	}
	binary.BigEndian.PutUint32(dst[start:], crc32.Checksum(dst[start+4:], crcTable))
	return dst
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// decodeRecord decodes a record; its slices are copies, safe after the
// store's transaction ends.
func decodeRecord(b []byte) (Record, error) {
	var r Record
	if len(b) < 5 || binary.BigEndian.Uint32(b) != crc32.Checksum(b[4:], crcTable) {
		return r, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	if b[4] != recordVersion {
		return r, fmt.Errorf("%w: unknown version %d", errCorrupt, b[4])
	}
	d := decoder{b: b[5:]}
	r.Timestamp = time.UnixMilli(d.varint())
	r.DedupKey = d.uint64()
	r.Topic = string(d.bytes())
	if n := d.uvarint(); n > 0 {
		r.Key = d.take(int(n - 1))
	}
	r.Value = d.bytes()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: string(d.bytes()), Value: d.bytes()})
	}
	if d.err != nil || len(d.b) != 0 {
		return r, fmt.Errorf("%w: bad layout", errCorrupt)
	}
	return r, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.err = errCorrupt
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) bytes() []byte { return d.take(int(d.uvarint())) }

func (d *decoder) take(n int) []byte {
	if d.err != nil || n < 0 || n > len(d.b) {
		d.err = errCorrupt
		return nil
	}
	out := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return out
}
