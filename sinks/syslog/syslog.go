// Package syslog delivers events to a syslog receiver (rsyslog, syslog-ng,
// QRadar, ArcSight, a Sentinel or Chronicle forwarder) as RFC 5424 messages
// over TCP or TLS (RFC 5425), octet-counted as RFC 6587 §3.4.1 describes.
// Each message carries the event's uuid, eventType, actor and outcome as
// structured data and the event JSON as MSG.
//
// Syslog has no application-level acknowledgement: an event counts as
// delivered once the kernel took its bytes. Bytes still in socket buffers
// when the connection breaks are lost to us, so after a write error every
// event not confirmed written is retried, and the receiver may see
// duplicates (at-least-once; the uuid is the dedup key).
package syslog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/hookbridge/hookbridge/sinks"
)

// ErrTooLarge is the cause of the permanent failure of an event whose
// frame exceeds max_message_bytes.
var ErrTooLarge = errors.New("syslog message larger than max_message_bytes")

// chunkBytes is the most written under one write deadline, so that a large
// batch to a slow but moving receiver is not mistaken for a blocked one.
const chunkBytes = 64 << 10

// probeWait is how long the liveness check before a batch waits for the
// receiver to show it has closed the connection.
const probeWait = time.Millisecond

// Destination writes events to one syslog receiver over one persistent
// connection, opened on first use and after any error. Safe for concurrent
// use: batches are written one at a time.
type Destination struct {
	name   string
	cfg    Config
	hdr    header
	dialer interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	}

	// mu guards conn and serialises writes on it.
	mu   sync.Mutex
	conn net.Conn // nil while disconnected
}

// New returns the destination of sink name. It validates c and loads the
// CA file; it connects on the first delivery.
func New(name string, c Config) (sinks.Destination, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("sinks[%s]: %w", name, err)
	}
	d := &Destination{name: name, cfg: c, hdr: newHeader(&c)}
	netDialer := &net.Dialer{Timeout: c.WriteTimeout, KeepAlive: 30 * time.Second}
	d.dialer = netDialer
	if c.TLS {
		tc := &tls.Config{
			MinVersion:         tls.VersionTLS12,
			ServerName:         c.ServerName,
			InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // opt-in, documented as test only
		}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("sinks[%s]: syslog.ca_file: %w", name, err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("sinks[%s]: syslog.ca_file %s: no PEM certificate", name, c.CAFile)
			}
		}
		d.dialer = &tls.Dialer{NetDialer: netDialer, Config: tc}
	}
	return d, nil
}

// Deliver writes the batch's messages in order on the connection. An event
// too large for max_message_bytes fails permanently; after a connect or
// write error the events not confirmed written fail retryably, with
// Backpressure when the write timed out (the receiver stopped reading).
func (d *Destination) Deliver(ctx context.Context, batch []sinks.Event) []error {
	errs := make([]error, len(batch))
	buf, ends := d.frames(batch, errs)
	if len(ends) == 0 {
		return errs
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	written, err := d.write(ctx, buf)
	if err == nil {
		return errs
	}
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil
	for _, e := range ends {
		if e.end > written {
			errs[e.index] = &sinks.Error{Err: err, Backpressure: timeout}
		}
	}
	return errs
}

// Close closes the connection.
func (d *Destination) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.disconnect()
}

// frameEnd is where the frame of batch[index] ends in the write buffer.
type frameEnd struct {
	index, end int
}

// frames formats the batch into one buffer of octet-counted frames and
// records where each ends. Events too large are left out, their errors set.
func (d *Destination) frames(batch []sinks.Event, errs []error) ([]byte, []frameEnd) {
	var p fastjson.Parser
	var buf, msg []byte
	ends := make([]frameEnd, 0, len(batch))
	for i := range batch {
		msg = d.hdr.appendMessage(msg[:0], &p, &batch[i])
		start := len(buf)
		buf = appendFrame(buf, msg)
		if n := len(buf) - start; n > d.hdr.limit {
			buf = buf[:start]
			errs[i] = sinks.Permanent(fmt.Errorf("event %s: %d-byte frame: %w", batch[i].UUID, n, ErrTooLarge))
			continue
		}
		ends = append(ends, frameEnd{index: i, end: len(buf)})
	}
	return buf, ends
}

// write sends buf, connecting first if needed, and returns how many bytes
// the kernel took. On error the connection is dropped, so the next batch
// starts on a fresh one and a partly written frame is never continued.
// d.mu must be held.
func (d *Destination) write(ctx context.Context, buf []byte) (int, error) {
	if err := d.connect(ctx); err != nil {
		return 0, err
	}
	// A write blocked on a receiver that stopped reading ends when ctx does.
	conn := d.conn
	stop := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Now()) })
	defer stop()

	written := 0
	for written < len(buf) {
		if err := ctx.Err(); err != nil {
			_ = d.disconnect()
			return written, fmt.Errorf("write to %s: %w", d.cfg.Address, err)
		}
		if err := conn.SetWriteDeadline(time.Now().Add(d.cfg.WriteTimeout)); err != nil {
			_ = d.disconnect()
			return written, fmt.Errorf("set write deadline on %s: %w", d.cfg.Address, err)
		}
		n, err := conn.Write(buf[written:min(len(buf), written+chunkBytes)])
		written += n
		if err != nil {
			_ = d.disconnect()
			return written, fmt.Errorf("write to %s: %w", d.cfg.Address, err)
		}
	}
	return written, nil
}

// connect dials the receiver unless the connection is up and the receiver
// has not closed it. d.mu must be held.
func (d *Destination) connect(ctx context.Context) error {
	if d.conn != nil && d.alive() {
		return nil
	}
	_ = d.disconnect()
	dctx, cancel := context.WithTimeout(ctx, d.cfg.WriteTimeout)
	defer cancel()
	conn, err := d.dialer.DialContext(dctx, "tcp", d.cfg.Address)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", d.cfg.Address, err)
	}
	d.conn = conn
	return nil
}

// alive reports whether the receiver has not closed the connection. A
// receiver never sends on a syslog connection, so EOF or an error on a
// short read means it is gone; without this check the first batch after a
// receiver restart would go into a dead socket's buffer and be lost
// unreported. d.mu must be held.
func (d *Destination) alive() bool {
	if err := d.conn.SetReadDeadline(time.Now().Add(probeWait)); err != nil {
		return false
	}
	var b [64]byte
	_, err := d.conn.Read(b[:])
	var ne net.Error
	return err == nil || errors.As(err, &ne) && ne.Timeout()
}

// disconnect closes the connection if there is one. d.mu must be held.
func (d *Destination) disconnect() error {
	if d.conn == nil {
		return nil
	}
	err := d.conn.Close()
	d.conn = nil
	if err != nil {
		return fmt.Errorf("close connection to %s: %w", d.cfg.Address, err)
	}
	return nil
}
