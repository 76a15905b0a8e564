// Package splunktest provides a fake Splunk HTTP Event Collector for
// tests, in the manner of net/http/httptest. It is not for production use.
package splunktest

import (
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a fake Splunk HTTP Event Collector for tests. It checks the
// protocol of the sink spec §1.1 and follows a programmable fault plan
// (§5.2). A request it rejects keeps none of its events, as Splunk does.
// It is safe for concurrent use.
type Server struct {
	// URL is the base URL of the collector, http://127.0.0.1:port or
	// https://... for NewTLSServer.
	URL string
	// Token is the HEC token the server requires.
	Token string

	srv *httptest.Server

	mu sync.Mutex
	// The fault knobs below are guarded by mu: set them inside Do.
	MaxBodyBytes  int             // 413 above this many bytes as sent; 0 = no cap
	MaxEventBytes int             // 400 code 6 for an envelope above this; 0 = no cap
	Indexes       map[string]bool // allowed indexes; nil = any
	Busy          int             // the next Busy event requests get 503 code 9
	TooMany       int             // the next TooMany event requests get 429
	RetryAfter    string          // Retry-After of the 429s
	Internal      int             // the next Internal event requests get 500 code 8
	Drop          int             // the next Drop requests are kept, then the connection is cut
	Bad           map[string]bool // uuids rejected with 400 code 6
	Ack           bool            // indexer acknowledgement on
	AckDelay      time.Duration   // an ackId turns true this long after the request
	AckAfterPolls int             // ... and after it was answered false this many times
	AckLost       bool            // acks never turn true

	// What the server received, also guarded by mu; read it through the
	// accessors.
	channels  map[string]*channel
	requests  []Request
	envelopes []Envelope
	byUUID    map[string]int // uuid → times stored
	ackPolls  int
}

// channel is a request channel's ack state.
type channel struct {
	next    int64
	pending map[int64]*pendingAck
}

// pendingAck is an ackId not yet reported true.
type pendingAck struct {
	readyAt time.Time
	polls   int // answered false so far
}

// Request is what the server saw of one event request.
type Request struct {
	Header http.Header
	Gzip   bool // the body was gzip-compressed
	Bytes  int  // body size as sent
	Events int  // envelopes it carried
	Status int  // the HTTP status answered; 0 when the connection was cut
}

// Envelope is one stored HEC envelope.
type Envelope struct {
	Time       json.RawMessage `json:"time"`
	Host       string          `json:"host"`
	Source     string          `json:"source"`
	Sourcetype string          `json:"sourcetype"`
	Index      string          `json:"index"`
	Event      json.RawMessage `json:"event"`
	Fields     json.RawMessage `json:"fields"`
}

// hecError is an error answer.
type hecError struct {
	status  int
	code    int
	text    string
	invalid int // -1 for none
}

// guidRE matches the GUID shape Splunk requires of a channel.
var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// NewServer starts a fake collector on 127.0.0.1 that takes token; it is
// closed when the test ends.
func NewServer(t testing.TB, token string) *Server {
	t.Helper()
	return start(t, token, false)
}

// NewTLSServer is NewServer on HTTPS with httptest's certificate; see
// Certificate.
func NewTLSServer(t testing.TB, token string) *Server {
	t.Helper()
	return start(t, token, true)
}

func start(t testing.TB, token string, tls bool) *Server {
	t.Helper()
	s := &Server{
		Token: token, Bad: map[string]bool{}, channels: map[string]*channel{}, byUUID: map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/collector/event", s.handleEvent)
	mux.HandleFunc("POST /services/collector", s.handleEvent)
	mux.HandleFunc("POST /services/collector/event/1.0", s.handleEvent)
	mux.HandleFunc("POST /services/collector/ack", s.handleAck)
	mux.HandleFunc("GET /services/collector/health", s.handleHealth)
	if tls {
		s.srv = httptest.NewTLSServer(mux)
	} else {
		s.srv = httptest.NewServer(mux)
	}
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close shuts the server down; later requests fail to connect.
func (s *Server) Close() { s.srv.Close() }

// Certificate returns the certificate of a NewTLSServer, nil otherwise.
func (s *Server) Certificate() *x509.Certificate { return s.srv.Certificate() }

// Do runs f with the server's lock held, to set fault knobs together. f
// must not call the accessors below, which take the lock too.
func (s *Server) Do(f func(s *Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// Requests returns the event requests seen so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Envelopes returns the envelopes stored so far, in order.
func (s *Server) Envelopes() []Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Envelope(nil), s.envelopes...)
}

// Stored returns how many times each event uuid was stored, a copy.
func (s *Server) Stored() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.byUUID))
	for k, v := range s.byUUID {
		out[k] = v
	}
	return out
}

// AckPolls returns how many requests /services/collector/ack answered.
func (s *Server) AckPolls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ackPolls
}

// Channel returns how many ackIds a request channel was given and how many
// of them have not yet been reported true.
func (s *Server) Channel(ch string) (ackIDs int64, pending int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[ch]
	if c == nil {
		return 0, 0
	}
	return c.next, len(c.pending)
}

func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request) {
	if e := s.auth(r); e != nil {
		s.reply(w, e, nil)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		s.reply(w, &hecError{http.StatusBadRequest, 6, "Invalid data format", -1}, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	req := Request{
		Header: r.Header.Clone(), Bytes: len(raw), Gzip: r.Header.Get("Content-Encoding") == "gzip",
	}
	e, envs := s.accept(r, raw)
	req.Events = len(envs)
	if e == nil && s.Drop > 0 {
		// The ambiguous outcome: kept, but the client never hears.
		s.Drop--
		s.store(envs)
		s.requests = append(s.requests, req)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	var ok map[string]any
	if e == nil {
		s.store(envs)
		ok = map[string]any{"text": "Success", "code": 0}
		if s.Ack {
			ok["ackId"] = s.newAckID(channelOf(r))
		}
	}
	req.Status = s.reply(w, e, ok)
	s.requests = append(s.requests, req)
}

// accept checks an event request and returns its envelopes, or why it is
// rejected. The caller holds mu.
func (s *Server) accept(r *http.Request, raw []byte) (*hecError, []Envelope) {
	switch {
	case s.Busy > 0:
		s.Busy--
		return &hecError{http.StatusServiceUnavailable, 9, "Server is busy", -1}, nil
	case s.TooMany > 0:
		s.TooMany--
		return &hecError{http.StatusTooManyRequests, 26, "Queue at capacity", -1}, nil
	case s.Internal > 0:
		s.Internal--
		return &hecError{http.StatusInternalServerError, 8, "Internal server error", -1}, nil
	case s.MaxBodyBytes > 0 && len(raw) > s.MaxBodyBytes:
		return &hecError{http.StatusRequestEntityTooLarge, -1,
			fmt.Sprintf("Content-Length of %d too large (maximum is %d)", len(raw), s.MaxBodyBytes), -1}, nil
	}
	if s.Ack {
		switch ch := channelOf(r); {
		case ch == "":
			return &hecError{http.StatusBadRequest, 10, "Data channel is missing", -1}, nil
		case !guidRE.MatchString(ch):
			return &hecError{http.StatusBadRequest, 11, "Invalid data channel", -1}, nil
		}
	}
	body, e := decodeBody(r, raw)
	if e != nil {
		return e, nil
	}
	return s.parse(body)
}

// decodeBody undoes the Content-Encoding; HEC takes gzip only.
func decodeBody(r *http.Request, raw []byte) ([]byte, *hecError) {
	switch r.Header.Get("Content-Encoding") {
	case "":
		return raw, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, &hecError{http.StatusBadRequest, 6, "Invalid data format", 0}
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			return nil, &hecError{http.StatusBadRequest, 6, "Invalid data format", 0}
		}
		return body, nil
	}
	return nil, &hecError{http.StatusUnsupportedMediaType, -1, "Unsupported Content-Encoding", -1}
}

// parse reads concatenated envelopes and checks each. The caller holds mu.
func (s *Server) parse(body []byte) (*hecError, []Envelope) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return &hecError{http.StatusBadRequest, 5, "No data", -1}, nil
	}
	if trimmed[0] == '[' {
		return &hecError{http.StatusBadRequest, 6, "Invalid data format", 0}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var envs []Envelope
	for i := 0; dec.More(); i++ {
		var rawEnv json.RawMessage
		if err := dec.Decode(&rawEnv); err != nil {
			return &hecError{http.StatusBadRequest, 6, "Invalid data format", i}, nil
		}
		env, e := s.check(rawEnv, i)
		if e != nil {
			return e, nil
		}
		envs = append(envs, env)
	}
	return nil, envs
}

// check validates one envelope, the i-th of its request. The caller holds
// mu.
func (s *Server) check(raw json.RawMessage, i int) (Envelope, *hecError) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return Envelope{}, &hecError{http.StatusBadRequest, 6, "Invalid data format", i}
	}
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return Envelope{}, &hecError{http.StatusBadRequest, 6, "Invalid data format", i}
	}
	ev, ok := keys["event"]
	switch {
	case !ok:
		return env, &hecError{http.StatusBadRequest, 12, "Event field is required", i}
	case string(ev) == `""` || string(ev) == "null":
		return env, &hecError{http.StatusBadRequest, 13, "Event field cannot be blank", i}
	case s.MaxEventBytes > 0 && len(raw) > s.MaxEventBytes:
		return env, &hecError{http.StatusBadRequest, 6, "Invalid data format", i}
	case s.Bad[eventUUID(ev)]:
		return env, &hecError{http.StatusBadRequest, 6, "Invalid data format", i}
	case s.Indexes != nil && env.Index != "" && !s.Indexes[env.Index]:
		return env, &hecError{http.StatusBadRequest, 7, "Incorrect index", i}
	case !flatFields(env.Fields):
		return env, &hecError{http.StatusBadRequest, 15, "Error in handling indexed fields", i}
	}
	if t := env.Time; t != nil {
		var f float64
		if json.Unmarshal(t, &f) != nil {
			return env, &hecError{http.StatusBadRequest, 6, "Invalid data format", i}
		}
	}
	return env, nil
}

// flatFields reports whether fields is absent or an object of strings and
// string arrays.
func flatFields(raw json.RawMessage) bool {
	if raw == nil {
		return true
	}
	var fields map[string]any
	if json.Unmarshal(raw, &fields) != nil {
		return false
	}
	for _, v := range fields {
		switch v := v.(type) {
		case string:
		case []any:
			for _, e := range v {
				if _, ok := e.(string); !ok {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// store keeps accepted envelopes. The caller holds mu.
func (s *Server) store(envs []Envelope) {
	for _, env := range envs {
		s.envelopes = append(s.envelopes, env)
		s.byUUID[eventUUID(env.Event)]++
	}
}

// newAckID hands out the channel's next ackId. The caller holds mu.
func (s *Server) newAckID(ch string) int64 {
	c := s.channels[ch]
	if c == nil {
		c = &channel{pending: map[int64]*pendingAck{}}
		s.channels[ch] = c
	}
	id := c.next
	c.next++
	c.pending[id] = &pendingAck{readyAt: time.Now().Add(s.AckDelay)}
	return id
}

func (s *Server) handleAck(w http.ResponseWriter, r *http.Request) {
	if e := s.auth(r); e != nil {
		s.reply(w, e, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ackPolls++
	ch := channelOf(r)
	switch {
	case !s.Ack:
		s.reply(w, &hecError{http.StatusBadRequest, 14, "ACK is disabled", -1}, nil)
		return
	case ch == "":
		s.reply(w, &hecError{http.StatusBadRequest, 10, "Data channel is missing", -1}, nil)
		return
	}
	var q struct {
		Acks []int64 `json:"acks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		s.reply(w, &hecError{http.StatusBadRequest, 6, "Invalid data format", -1}, nil)
		return
	}
	out := map[string]bool{}
	c := s.channels[ch]
	for _, id := range q.Acks {
		key := fmt.Sprint(id)
		out[key] = false
		if c == nil || s.AckLost {
			continue
		}
		p := c.pending[id]
		if p == nil {
			continue
		}
		if p.polls < s.AckAfterPolls || time.Now().Before(p.readyAt) {
			p.polls++
			continue
		}
		out[key] = true
		delete(c.pending, id) // Splunk forgets an ackId once it said true
	}
	s.reply(w, nil, map[string]any{"acks": out})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	busy := s.Busy > 0
	s.mu.Unlock()
	if busy {
		s.reply(w, &hecError{http.StatusServiceUnavailable, 18, "HEC is unhealthy, queues are full", -1}, nil)
		return
	}
	s.reply(w, nil, map[string]any{"text": "HEC is healthy", "code": 17})
}

// auth checks "Authorization: Splunk <token>" or Basic auth with the token
// as the password.
func (s *Server) auth(r *http.Request) *hecError {
	h := r.Header.Get("Authorization")
	var got string
	switch {
	case h == "":
		return &hecError{http.StatusUnauthorized, 2, "Token is required", -1}
	case strings.HasPrefix(h, "Splunk "):
		got = strings.TrimPrefix(h, "Splunk ")
	case strings.HasPrefix(h, "Basic "):
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
		if err != nil {
			return &hecError{http.StatusUnauthorized, 3, "Invalid authorization", -1}
		}
		_, got, _ = strings.Cut(string(b), ":")
	default:
		return &hecError{http.StatusUnauthorized, 3, "Invalid authorization", -1}
	}
	if got != s.Token {
		return &hecError{http.StatusForbidden, 4, "Invalid token", -1}
	}
	return nil
}

// reply writes an error or a success body and returns the status. It reads
// s.RetryAfter only for a 429, which is decided with mu held.
func (s *Server) reply(w http.ResponseWriter, e *hecError, ok map[string]any) int {
	status, body := http.StatusOK, ok
	if e != nil {
		status, body = e.status, map[string]any{"text": e.text}
		if e.code >= 0 {
			body["code"] = e.code
		}
		if e.invalid >= 0 {
			body["invalid-event-number"] = e.invalid
		}
		if status == http.StatusTooManyRequests && s.RetryAfter != "" {
			w.Header().Set("Retry-After", s.RetryAfter)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
	return status
}

func channelOf(r *http.Request) string {
	if ch := r.Header.Get("X-Splunk-Request-Channel"); ch != "" {
		return ch
	}
	return r.URL.Query().Get("channel")
}

// eventUUID is the uuid of an Okta event object, "" when it has none.
func eventUUID(ev json.RawMessage) string {
	var v struct {
		UUID string `json:"uuid"`
	}
	_ = json.Unmarshal(ev, &v)
	return v.UUID
}
