package elastic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hookbridge/hookbridge/sinks"
)

// maxReasonBytes bounds an Elasticsearch reason quoted in an error; a
// mapping failure can quote much of the document.
const maxReasonBytes = 512

// appendItem appends the action line and the document line of ev to dst:
// {"create":{"_index":...,"_id":<uuid>}}, then the event, with @timestamp
// first for a data stream. Both lines end with \n.
func (d *destination) appendItem(dst []byte, ev *sinks.Event) ([]byte, error) {
	doc := bytes.TrimSpace(ev.JSON)
	if len(doc) < 2 || doc[0] != '{' || doc[len(doc)-1] != '}' {
		return dst, errors.New("event is not a JSON object")
	}
	if bytes.ContainsAny(doc, "\r\n") {
		// NDJSON ends a document at the first newline; a newline between
		// tokens is whitespace that can go, one inside a string is
		// invalid JSON.
		var b bytes.Buffer
		if err := json.Compact(&b, doc); err != nil {
			return dst, fmt.Errorf("compact event JSON: %w", err)
		}
		doc = b.Bytes()
	}
	at := eventTime(ev)

	dst = append(dst, `{"create":{"_index":`...)
	dst = appendJSONString(dst, d.index.format(at))
	if ev.UUID != "" {
		// Without a uuid Elasticsearch picks an _id: delivered, but a
		// replay would duplicate it.
		dst = append(dst, `,"_id":`...)
		dst = appendJSONString(dst, ev.UUID)
	}
	dst = append(dst, "}}\n"...)

	if !d.stream {
		dst = append(dst, doc...)
		return append(dst, '\n'), nil
	}
	dst = append(dst, `{"@timestamp":"`...)
	dst = at.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	dst = append(dst, '"')
	if rest := bytes.TrimSpace(doc[1:]); rest[0] != '}' {
		dst = append(dst, ',')
	}
	dst = append(dst, doc[1:]...)
	return append(dst, '\n'), nil
}

// eventTime is the time that names the index and fills @timestamp: the
// published time, else the Kafka record's, else now.
func eventTime(ev *sinks.Event) time.Time {
	switch {
	case !ev.Published.IsZero():
		return ev.Published.UTC()
	case ev.Record != nil && !ev.Record.Timestamp.IsZero():
		return ev.Record.Timestamp.UTC()
	}
	return time.Now().UTC()
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

// bulkResponse is a _bulk response reduced by bulkPath's filter_path.
type bulkResponse struct {
	Errors bool                  `json:"errors"`
	Items  []map[string]bulkItem `json:"items"`
}

// bulkItem is one item's result; Elasticsearch keys it by the action.
type bulkItem struct {
	ID     string     `json:"_id"`
	Status int        `json:"status"`
	Error  *bulkError `json:"error"`
}

type bulkError struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// readItems sets errs from a 2xx response. Items come in request order;
// a response that cannot be matched to docs leaves them all retryable.
func (d *destination) readItems(body []byte, docs []doc, errs []error) {
	var resp bulkResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		setAll(errs, docs, fmt.Errorf("decode elasticsearch bulk response: %w", err))
		return
	}
	if !resp.Errors && len(resp.Items) == 0 {
		return // all delivered; nothing else to check
	}
	if len(resp.Items) != len(docs) {
		setAll(errs, docs, fmt.Errorf("elasticsearch bulk response has %d items for %d documents",
			len(resp.Items), len(docs)))
		return
	}
	for i, dc := range docs {
		var item bulkItem
		for _, it := range resp.Items[i] { // one key: the action
			item = it
		}
		if item.ID != "" && dc.id != "" && item.ID != dc.id {
			setAll(errs, docs, fmt.Errorf("elasticsearch bulk response item %d is %s, want %s",
				i, item.ID, dc.id))
			return
		}
		errs[dc.event] = itemError(dc.id, &item)
	}
}

// itemError classifies one item's status; nil is delivered.
func itemError(id string, it *bulkItem) error {
	typ, reason := "", ""
	if it.Error != nil {
		typ, reason = it.Error.Type, truncate(it.Error.Reason)
	}
	switch {
	case it.Status == http.StatusOK || it.Status == http.StatusCreated:
		return nil
	case it.Status == http.StatusConflict && (typ == "version_conflict_engine_exception" || typ == ""):
		return nil // create of an existing _id: an earlier delivery landed
	}
	err := fmt.Errorf("elasticsearch item %s: status %d %s: %s", id, it.Status, typ, reason)
	switch {
	case it.Status == http.StatusTooManyRequests:
		// es_rejected_execution_exception (write queue full) or
		// circuit_breaking_exception (heap): the node is overloaded.
		return &sinks.Error{Err: err, Backpressure: true}
	case it.Status == http.StatusForbidden:
		// cluster_block_exception: the index is read-only, usually past
		// the disk flood stage, until an operator clears the block.
		return &sinks.Error{Err: err, Backpressure: true}
	case it.Status >= 400 && it.Status < 500:
		// document_parsing_exception, mapper_parsing_exception,
		// illegal_argument_exception, index_not_found_exception: the
		// same document fails again.
		return sinks.Permanent(err)
	}
	return err // 500, 503 unavailable_shards_exception, anything else
}

// ErrRejectedCredentials is wrapped by the errors of a request answered
// 401 or 403: an operator has to fix the credentials or their privileges.
var ErrRejectedCredentials = errors.New("elasticsearch rejected the credentials")

// requestError classifies a response that failed the whole request.
func requestError(r *response) error {
	detail := errorDetail(r.body)
	switch r.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return &sinks.Error{
			Err:          fmt.Errorf("%w (HTTP %d)%s", ErrRejectedCredentials, r.status, detail),
			Backpressure: true,
		}
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable,
		http.StatusGatewayTimeout, http.StatusRequestTimeout:
		return &sinks.Error{
			Err:          fmt.Errorf("elasticsearch bulk request: HTTP %d%s", r.status, detail),
			Backpressure: true, RetryAfter: retryAfter(r.retryAfter),
		}
	case http.StatusRequestEntityTooLarge:
		return sinks.Permanent(fmt.Errorf("elasticsearch bulk request: HTTP 413: "+
			"a single document is larger than http.max_content_length%s", detail))
	}
	err := fmt.Errorf("elasticsearch bulk request: HTTP %d%s", r.status, detail)
	if r.status >= 400 && r.status < 500 {
		return sinks.Permanent(err)
	}
	return err
}

// errorDetail quotes the type and reason of an Elasticsearch error body,
// as ": type: reason", or the start of a body of another shape.
func errorDetail(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var be bulkError
		if json.Unmarshal(e.Error, &be) == nil && be.Type != "" {
			return ": " + be.Type + ": " + truncate(be.Reason)
		}
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return ": " + truncate(s)
		}
	}
	if body = bytes.TrimSpace(body); len(body) > 0 {
		return ": " + truncate(string(body))
	}
	return ""
}

func truncate(s string) string {
	if len(s) <= maxReasonBytes {
		return s
	}
	return strings.ToValidUTF8(s[:maxReasonBytes], "") + "..."
}
