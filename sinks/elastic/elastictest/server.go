// Package elastictest provides a fake of Elasticsearch's _bulk endpoint
// for tests, in the manner of net/http/httptest. It is not for production
// use.
package elastictest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a protocol-level fake of Elasticsearch's _bulk endpoint for
// tests: it checks auth, content type, NDJSON framing and the
// action/document pairs, keeps documents per index and _id with create
// semantics, treats configured names as data streams, and answers with
// per-item results in request order like Elasticsearch. Faults are
// scripted through its methods. It is safe for concurrent use.
type Server struct {
	*httptest.Server

	mu sync.Mutex
	// The settings below are guarded by mu: set them before the first
	// request, or inside Set.

	// Username and Password, or APIKey, when set, are required.
	Username, Password, APIKey string
	// DataStreams are the targets that only take create and @timestamp.
	DataStreams map[string]bool
	// MaxBytes answers 413 to a (decompressed) body above it; 0 is no cap.
	MaxBytes int
	// BadIDSuffix fails the documents whose _id ends with it, as a mapping
	// conflict would: item 400 document_parsing_exception, every time.
	BadIDSuffix string

	// idFaults fail a given _id every time.
	idFaults map[string]itemFault
	// nextItems fail the next items, whatever their _id, once each.
	nextItems []itemFault
	// nextRequests fail the next whole requests, once each.
	nextRequests []requestFault

	docs     map[string]map[string][]byte // index → _id → source
	writes   map[string]int               // index/_id → documents stored
	statuses map[int]int                  // item status → count
	requests []Request
}

// itemFault is an item result the server gives instead of storing.
type itemFault struct {
	status int
	typ    string
}

// requestFault is a whole-request failure.
type requestFault struct {
	status     int
	typ        string
	retryAfter string
}

// Request is what the server saw of one request.
type Request struct {
	Header http.Header
	Query  string // the raw query string
	Body   []byte // decompressed
	Items  int    // operations it carried
	Status int    // the HTTP status answered
}

// NewServer starts a fake on 127.0.0.1 that takes any credentials; it is
// closed when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		DataStreams: map[string]bool{}, idFaults: map[string]itemFault{},
		docs: map[string]map[string][]byte{}, writes: map[string]int{}, statuses: map[int]int{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// FailNextItems makes the next n items fail with status and typ.
func (s *Server) FailNextItems(n, status int, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.nextItems = append(s.nextItems, itemFault{status, typ})
	}
}

// FailNextRequest makes the next request fail as a whole, with a
// Retry-After header when retryAfter is not empty.
func (s *Server) FailNextRequest(status int, typ, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextRequests = append(s.nextRequests, requestFault{status, typ, retryAfter})
}

// FailID makes every item with _id id fail with status and typ.
func (s *Server) FailID(id string, status int, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idFaults[id] = itemFault{status, typ}
}

// ClearIDFaults undoes every FailID.
func (s *Server) ClearIDFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.idFaults)
}

// Put stores a document as if an earlier request had written it, without
// counting a write.
func (s *Server) Put(index, id string, source []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.docs[index] == nil {
		s.docs[index] = map[string][]byte{}
	}
	s.docs[index][id] = append([]byte(nil), source...)
}

// Set runs f with the server's lock held, to change settings while
// requests may arrive. f must not call the other methods.
func (s *Server) Set(f func(s *Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// Doc returns the stored source of index/id.
func (s *Server) Doc(index, id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[index][id]
	return d, ok
}

// Docs returns the documents of index by _id, a copy.
func (s *Server) Docs(index string) map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.docs[index]))
	for id, d := range s.docs[index] {
		out[id] = d
	}
	return out
}

// Stored counts the documents stored in all indices.
func (s *Server) Stored() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.docs {
		n += len(m)
	}
	return n
}

// Writes returns index/_id → documents written, a copy.
func (s *Server) Writes() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.writes))
	for k, v := range s.writes {
		out[k] = v
	}
	return out
}

// ItemStatus returns how many items were answered with code.
func (s *Server) ItemStatus(code int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statuses[code]
}

// Requests returns the requests seen so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	req := Request{Header: r.Header.Clone(), Query: r.URL.RawQuery}
	status, resp := s.serve(r, body, &req)
	req.Status = status
	s.requests = append(s.requests, req)

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	if _, ok := resp["error"]; ok {
		resp["status"] = status
	}
	if ra, ok := resp["__retry_after"]; ok {
		w.Header().Set("Retry-After", ra.(string))
		delete(resp, "__retry_after")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

// serve checks one request and applies it; s.mu is held.
func (s *Server) serve(r *http.Request, body []byte, req *Request) (int, map[string]any) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/_bulk") {
		return 405, errorBody("illegal_argument_exception", "only POST /_bulk is served")
	}
	if status, resp := s.checkAuth(r); status != 0 {
		return status, resp
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-ndjson") &&
		!strings.HasPrefix(ct, "application/json") {
		return 406, errorBody("media_type_header_exception", "Content-Type header ["+ct+"] is not supported")
	}
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return 400, errorBody("parse_exception", "bad gzip body")
		}
		if body, err = io.ReadAll(zr); err != nil {
			return 400, errorBody("parse_exception", "bad gzip body")
		}
	}
	req.Body = body
	if len(s.nextRequests) > 0 {
		f := s.nextRequests[0]
		s.nextRequests = s.nextRequests[1:]
		resp := errorBody(f.typ, "scripted request failure")
		if f.retryAfter != "" {
			resp["__retry_after"] = f.retryAfter
		}
		return f.status, resp
	}
	if s.MaxBytes > 0 && len(body) > s.MaxBytes {
		return 413, errorBody("content_too_long_exception",
			fmt.Sprintf("request of %d bytes is above %d", len(body), s.MaxBytes))
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return 400, errorBody("illegal_argument_exception",
			"The bulk request must be terminated by a newline [\\n]")
	}
	ops, err := parseBulk(body)
	if err != nil {
		return 400, errorBody("illegal_argument_exception", err.Error())
	}
	req.Items = len(ops)

	items := make([]map[string]any, len(ops))
	failed := false
	for i, op := range ops {
		item := s.apply(op)
		if st := item["status"].(int); st >= 300 {
			failed = true
		}
		s.statuses[item["status"].(int)]++
		items[i] = map[string]any{op.action: item}
	}
	return 200, filter(r.URL.Query().Get("filter_path"),
		map[string]any{"took": 3, "errors": failed, "items": items})
}

func (s *Server) checkAuth(r *http.Request) (int, map[string]any) {
	got := r.Header.Get("Authorization")
	var want string
	switch {
	case s.APIKey != "":
		want = "ApiKey " + s.APIKey
	case s.Username != "":
		want = "Basic " + base64.StdEncoding.EncodeToString([]byte(s.Username+":"+s.Password))
	default:
		return 0, nil
	}
	if got == "" {
		return 401, errorBody("security_exception", "missing authentication credentials for REST request [/_bulk]")
	}
	if got != want {
		return 401, errorBody("security_exception", "unable to authenticate user for REST request [/_bulk]")
	}
	return 0, nil
}

// bulkOp is one parsed action and its document.
type bulkOp struct {
	action, index, id string
	source            []byte
	badJSON           bool
}

// parseBulk splits an NDJSON body ending with \n into operations. Only
// create and index are served; delete and update are refused.
func parseBulk(body []byte) ([]bulkOp, error) {
	lines := bytes.Split(body[:len(body)-1], []byte("\n"))
	var ops []bulkOp
	for i := 0; i < len(lines); i += 2 {
		var action map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(lines[i], &action); err != nil || len(action) != 1 {
			return nil, fmt.Errorf("Malformed action/metadata line [%d], expected a simple value", i+1)
		}
		var op bulkOp
		for name, meta := range action {
			op.action, op.index, op.id = name, meta.Index, meta.ID
		}
		if op.action != "create" && op.action != "index" {
			return nil, fmt.Errorf("action [%s] is not served by the fake", op.action)
		}
		if op.index == "" {
			return nil, fmt.Errorf("line [%d]: index is missing", i+1)
		}
		if i+1 >= len(lines) {
			return nil, fmt.Errorf("line [%d]: the action has no document", i+1)
		}
		op.source = lines[i+1]
		var doc map[string]json.RawMessage
		op.badJSON = json.Unmarshal(op.source, &doc) != nil
		ops = append(ops, op)
	}
	return ops, nil
}

// apply runs one operation and returns its item; s.mu is held.
func (s *Server) apply(op bulkOp) map[string]any {
	item := map[string]any{"_index": op.index, "_id": op.id}
	fail := func(status int, typ, reason string) map[string]any {
		item["status"] = status
		item["error"] = map[string]any{"type": typ, "reason": reason, "index": op.index}
		return item
	}
	if len(s.nextItems) > 0 {
		f := s.nextItems[0]
		s.nextItems = s.nextItems[1:]
		return fail(f.status, f.typ, "scripted item failure")
	}
	if f, ok := s.idFaults[op.id]; ok {
		return fail(f.status, f.typ, "scripted failure of "+op.id)
	}
	if op.badJSON || (s.BadIDSuffix != "" && strings.HasSuffix(op.id, s.BadIDSuffix)) {
		return fail(400, "document_parsing_exception",
			"[1:42] failed to parse field [outcome.result] of type [long] in document with id '"+op.id+"'")
	}
	if s.DataStreams[op.index] {
		if op.action != "create" {
			return fail(400, "illegal_argument_exception",
				"only write ops with an op_type of create are allowed in data streams")
		}
		var doc struct {
			Timestamp *string `json:"@timestamp"`
		}
		_ = json.Unmarshal(op.source, &doc)
		if doc.Timestamp == nil {
			return fail(400, "document_parsing_exception",
				"[1:1] failed to parse: data stream timestamp field [@timestamp] is missing")
		}
		if _, err := time.Parse(time.RFC3339Nano, *doc.Timestamp); err != nil {
			return fail(400, "document_parsing_exception",
				"failed to parse field [@timestamp] of type [date]")
		}
	}
	if op.id == "" {
		op.id = "auto-" + strconv.Itoa(len(s.writes))
		item["_id"] = op.id
	}
	idx := s.docs[op.index]
	if idx == nil {
		idx = map[string][]byte{}
		s.docs[op.index] = idx
	}
	_, exists := idx[op.id]
	if exists && op.action == "create" {
		return fail(409, "version_conflict_engine_exception",
			"["+op.id+"]: version conflict, document already exists (current version [1])")
	}
	idx[op.id] = append([]byte(nil), op.source...)
	s.writes[op.index+"/"+op.id]++
	item["result"], item["status"] = "created", 201
	if exists {
		item["result"], item["status"] = "updated", 200
	}
	return item
}

func errorBody(typ, reason string) map[string]any {
	return map[string]any{
		"error": map[string]any{"type": typ, "reason": reason, "root_cause": []any{}},
	}
}

// filter applies the subset of filter_path the destination uses:
// top-level keys and items.*.<field>.
func filter(path string, resp map[string]any) map[string]any {
	if path == "" {
		return resp
	}
	out := map[string]any{}
	itemFields := map[string]bool{}
	for _, p := range strings.Split(path, ",") {
		if f, ok := strings.CutPrefix(p, "items.*."); ok {
			itemFields[f] = true
		} else if v, ok := resp[p]; ok {
			out[p] = v
		}
	}
	if len(itemFields) > 0 {
		var items []map[string]any
		for _, it := range resp["items"].([]map[string]any) {
			kept := map[string]any{}
			for action, v := range it {
				fields := map[string]any{}
				for k, fv := range v.(map[string]any) {
					if itemFields[k] {
						fields[k] = fv
					}
				}
				kept[action] = fields
			}
			items = append(items, kept)
		}
		out["items"] = items
	}
	return out
}
