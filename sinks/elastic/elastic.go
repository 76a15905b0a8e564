package elastic

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hookbridge/hookbridge/sinks"
)

// bulkPath is appended to Config.URL. filter_path keeps only what the
// response is read for: without it every item echoes index, version, shard
// counts and sequence numbers.
const bulkPath = "/_bulk?filter_path=errors,items.*.status,items.*.error,items.*._id"

// maxResponseBytes bounds the response read; a filtered response for a
// 5,000-document request is a few hundred KB.
const maxResponseBytes = 64 << 20

// destination posts batches to _bulk. It is safe for concurrent use.
type destination struct {
	index  *indexName
	stream bool
	gzip   bool
	url    string
	auth   string // Authorization header value; empty for none
	client *http.Client
}

// New returns the destination of the sink name. It validates c, resolves
// its secrets and builds the HTTP client; it does not contact the cluster.
func New(name string, c Config) (sinks.Destination, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("sinks[%s]: %w", name, err)
	}
	index, _ := parseIndex(c.Index) // checked by Validate
	auth, err := authHeader(&c)
	if err != nil {
		return nil, fmt.Errorf("sinks[%s]: %w", name, err)
	}
	tr, err := transport(&c.TLS)
	if err != nil {
		return nil, fmt.Errorf("sinks[%s]: %w", name, err)
	}
	return &destination{
		index: index, stream: c.DataStream, gzip: c.Gzip, auth: auth,
		url: strings.TrimRight(c.URL, "/") + bulkPath,
		client: &http.Client{
			Transport: tr,
			Timeout:   c.Timeout,
			// A redirected POST is resent as a GET or not at all; a
			// redirect is a configuration problem to surface, not follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// Deliver sends batch in one _bulk request, or in several when the cluster
// answers 413, and returns one error per event.
func (d *destination) Deliver(ctx context.Context, batch []sinks.Event) []error {
	errs := make([]error, len(batch))
	docs := make([]doc, 0, len(batch))
	var buf []byte
	for i := range batch {
		start := len(buf)
		var err error
		if buf, err = d.appendItem(buf, &batch[i]); err != nil {
			buf = buf[:start]
			errs[i] = sinks.Permanent(fmt.Errorf("encode event %s: %w", batch[i].UUID, err))
			continue
		}
		docs = append(docs, doc{event: i, id: batch[i].UUID, start: start, end: len(buf)})
	}
	d.send(ctx, buf, docs, errs)
	return errs
}

// Close releases idle connections.
func (d *destination) Close() error {
	d.client.CloseIdleConnections()
	return nil
}

// doc is one encoded action and document: buf[start:end] of Deliver.
type doc struct {
	event      int // index in the batch
	id         string
	start, end int
}

// send posts docs and sets errs for them. A 413 splits docs in halves,
// each sent on its own, until a single document is still too large.
func (d *destination) send(ctx context.Context, buf []byte, docs []doc, errs []error) {
	if len(docs) == 0 {
		return
	}
	resp, err := d.post(ctx, buf, docs)
	if err != nil {
		setAll(errs, docs, fmt.Errorf("elasticsearch bulk request: %w", err))
		return
	}
	switch {
	case resp.status == http.StatusRequestEntityTooLarge && len(docs) > 1:
		mid := len(docs) / 2
		d.send(ctx, buf, docs[:mid], errs)
		d.send(ctx, buf, docs[mid:], errs)
	case resp.status >= 200 && resp.status < 300:
		d.readItems(resp.body, docs, errs)
	default:
		setAll(errs, docs, requestError(resp))
	}
}

// response is what send keeps of an HTTP response.
type response struct {
	status     int
	body       []byte
	retryAfter string
}

// post sends one _bulk request made of docs' lines.
func (d *destination) post(ctx context.Context, buf []byte, docs []doc) (*response, error) {
	body, err := d.body(buf, docs)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Accept", "application/json")
	if d.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if d.auth != "" {
		req.Header.Set("Authorization", d.auth)
	}
	res, err := d.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post %d documents: %w", len(docs), err)
	}
	defer res.Body.Close()
	limit := int64(maxResponseBytes)
	if res.StatusCode != http.StatusOK {
		limit = 64 << 10 // an error body is only quoted
	}
	respBody, err := io.ReadAll(io.LimitReader(res.Body, limit))
	if err != nil && res.StatusCode == http.StatusOK {
		return nil, fmt.Errorf("read response to %d documents: %w", len(docs), err)
	}
	return &response{status: res.StatusCode, body: respBody, retryAfter: res.Header.Get("Retry-After")}, nil
}

// body is docs' lines, gzipped when configured. Deliver encodes the docs
// of a batch back to back, so any run of them is one slice of buf.
func (d *destination) body(buf []byte, docs []doc) ([]byte, error) {
	lines := buf[docs[0].start:docs[len(docs)-1].end]
	if !d.gzip {
		return lines, nil
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(lines); err != nil {
		return nil, fmt.Errorf("compress request: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress request: %w", err)
	}
	return out.Bytes(), nil
}

// authHeader resolves the configured credentials into an Authorization
// value. The value never appears in an error or a log line.
func authHeader(c *Config) (string, error) {
	switch {
	case !c.APIKey.IsZero():
		key, err := c.APIKey.Resolve()
		if err != nil {
			return "", fmt.Errorf("elasticsearch.api_key: %w", err)
		}
		return "ApiKey " + key, nil
	case c.Username != "":
		password, err := c.Password.Resolve()
		if err != nil {
			return "", fmt.Errorf("elasticsearch.password: %w", err)
		}
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+password)), nil
	}
	return "", nil
}

// transport is the default transport with the configured TLS checks.
func transport(c *TLSConfig) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // opt-in, documented as unsafe
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("elasticsearch.tls.ca_file: no PEM certificates in %s", c.CAFile)
		}
		tc.RootCAs = pool
	}
	tr.TLSClientConfig = tc
	return tr, nil
}

// setAll gives every doc's event err.
func setAll(errs []error, docs []doc, err error) {
	for _, dc := range docs {
		errs[dc.event] = err
	}
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP-date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
