// Package splunk delivers events to a Splunk HTTP Event Collector (HEC):
// batches of JSON envelopes on /services/collector/event, optionally with
// indexer acknowledgement, with the collector's answers mapped onto the
// sinks retry classification.
package splunk

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/hookbridge/hookbridge/sinks"
)

// Type is the sink type of a Splunk HEC sink.
const Type = "splunk_hec"

const (
	eventPath = "/services/collector/event"
	ackPath   = "/services/collector/ack"
)

// ErrTokenRejected is wrapped by the errors of a 401 or 403 answer. They are
// retryable, not permanent: a bad token is an operator's problem, and the
// events must wait for it to be fixed rather than be dead-lettered.
var ErrTokenRejected = errors.New("splunk rejected the token")

// hec is the Splunk HEC destination; safe for concurrent use.
type hec struct {
	cfg      Config
	token    string // never logged nor put in an error
	meta     []byte // the envelope keys every event shares, ending in a comma
	eventURL string
	ackURL   string
	client   *http.Client
}

// New returns a destination that delivers to the collector of c, after
// filling c's defaults. name is the sink's name.
func New(name string, c Config) (sinks.Destination, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("sinks[%s]: %w", name, err)
	}
	token, err := c.Token.Resolve()
	if err != nil {
		return nil, fmt.Errorf("sinks[%s]: splunk.token: %w", name, err)
	}
	tlsCfg, err := c.TLS.build()
	if err != nil {
		return nil, fmt.Errorf("sinks[%s]: %w", name, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.MaxIdleConnsPerHost = 16
	h := &hec{
		cfg:      c,
		token:    token,
		meta:     envelopeMeta(&c),
		eventURL: c.URL + eventPath,
		ackURL:   c.URL + ackPath + "?channel=" + url.QueryEscape(c.Channel),
		client: &http.Client{
			Transport: tr,
			Timeout:   c.Timeout,
			// A redirect would resend the token somewhere else, and HEC
			// never redirects: surface it as an answer instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	return h, nil
}

// Deliver posts the batch as one request (split in halves on 413) and
// returns one error per event, classified for the sinks runtime.
func (h *hec) Deliver(ctx context.Context, batch []sinks.Event) []error {
	errs := make([]error, len(batch))
	idx := make([]int, 0, len(batch))
	for i := range batch {
		// An empty event would make Splunk reject the whole request
		// (code 12/13), so it is refused here, alone.
		if len(bytes.TrimSpace(batch[i].JSON)) == 0 {
			errs[i] = sinks.Permanent(errors.New("splunk: event is empty"))
			continue
		}
		idx = append(idx, i)
	}
	h.send(ctx, batch, idx, errs)
	return errs
}

// Close releases idle connections.
func (h *hec) Close() error {
	h.client.CloseIdleConnections()
	return nil
}

// send posts the events batch[idx...] and sets their errors.
func (h *hec) send(ctx context.Context, batch []sinks.Event, idx []int, errs []error) {
	if len(idx) == 0 {
		return
	}
	res, err := h.post(ctx, batch, idx)
	if err != nil {
		// Connection, TLS or timeout: the outcome is unknown, so send
		// again and accept duplicates.
		setAll(errs, idx, &sinks.Error{Err: err})
		return
	}
	switch {
	case res.status == http.StatusRequestEntityTooLarge && len(idx) > 1:
		half := len(idx) / 2
		h.send(ctx, batch, idx[:half], errs)
		h.send(ctx, batch, idx[half:], errs)
	case res.status/100 == 2 && (res.code == codeSuccess || res.code < 0):
		if h.cfg.Ack {
			setAll(errs, idx, h.acknowledged(ctx, res))
		}
	default:
		classify(res, idx, errs)
	}
}

// post sends one request and reads the collector's answer.
func (h *hec) post(ctx context.Context, batch []sinks.Event, idx []int) (*response, error) {
	body, err := h.encode(batch, idx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.eventURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Splunk "+h.token)
	req.Header.Set("Content-Type", "application/json")
	if *h.cfg.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if h.cfg.Ack {
		req.Header.Set("X-Splunk-Request-Channel", h.cfg.Channel)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post %d events to %s: %w", len(idx), h.eventURL, err)
	}
	return readResponse(resp, time.Now())
}

// encode writes the events as concatenated envelopes (Splunk rejects a JSON
// array), gzipped when configured.
func (h *hec) encode(batch []sinks.Event, idx []int) ([]byte, error) {
	size := 0
	for _, i := range idx {
		size += len(batch[i].JSON) + len(h.meta) + 40
	}
	raw := make([]byte, 0, size)
	for _, i := range idx {
		raw = h.appendEnvelope(raw, &batch[i])
	}
	if !*h.cfg.Gzip {
		return raw, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(raw) / 4)
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("gzip %d events: %w", len(idx), err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip %d events: %w", len(idx), err)
	}
	return buf.Bytes(), nil
}

// appendEnvelope appends {"time":…,"host":…,…,"event":<the Okta JSON>}
// and a newline. The envelope carries the time because Splunk does not take
// _time from the event body on /event.
func (h *hec) appendEnvelope(dst []byte, ev *sinks.Event) []byte {
	dst = append(dst, '{')
	if !ev.Published.IsZero() {
		dst = append(dst, `"time":`...)
		dst = appendEpoch(dst, ev.Published)
		dst = append(dst, ',')
	}
	dst = append(dst, h.meta...)
	dst = append(dst, `"event":`...)
	dst = append(dst, bytes.TrimSpace(ev.JSON)...)
	return append(dst, '}', '\n')
}

// appendEpoch appends t as epoch seconds with a millisecond fraction, e.g.
// 1714566896.789.
func appendEpoch(dst []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	if ms < 0 {
		return strconv.AppendFloat(dst, float64(ms)/1000, 'f', 3, 64)
	}
	dst = strconv.AppendInt(dst, ms/1000, 10)
	frac := ms % 1000
	return append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

// envelopeMeta renders the envelope keys set in c, in the order host,
// source, sourcetype, index, each followed by a comma.
func envelopeMeta(c *Config) []byte {
	var dst []byte
	for _, kv := range [][2]string{
		{"host", c.Host}, {"source", c.Source}, {"sourcetype", c.Sourcetype}, {"index", c.Index},
	} {
		if kv[1] == "" {
			continue
		}
		v, _ := json.Marshal(kv[1]) // a string always marshals
		dst = append(dst, '"')
		dst = append(dst, kv[0]...)
		dst = append(dst, `":`...)
		dst = append(dst, v...)
		dst = append(dst, ',')
	}
	return dst
}

// build returns the TLS client configuration.
func (c *TLSConfig) build() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // opt-in
	if c.CAFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("splunk.tls.ca_file: %w", err)
	}
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("splunk.tls.ca_file %s: no PEM certificate found", c.CAFile)
	}
	return cfg, nil
}

func setAll(errs []error, idx []int, err error) {
	for _, i := range idx {
		errs[i] = err
	}
}
