package splunk

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// hecServer is a fake Splunk HTTP Event Collector that checks the protocol
// of the sink spec §1.1 and follows a programmable fault plan (§5.2). A
// request it rejects keeps none of its events, as Splunk does.
type hecServer struct {
	srv   *httptest.Server
	token string

	mu sync.Mutex
	// Everything below is guarded by mu.
	maxBodyBytes  int             // 413 above this many bytes as sent; 0 = no cap
	maxEventBytes int             // 400 code 6 for an envelope above this; 0 = no cap
	indexes       map[string]bool // allowed indexes; nil = any
	busy          int             // the next busy event requests get 503 code 9
	tooMany       int             // the next tooMany event requests get 429
	retryAfter    string          // Retry-After of the 429s
	internal      int             // the next internal event requests get 500 code 8
	drop          int             // the next drop requests are kept, then the connection is cut
	bad           map[string]bool // uuids rejected with 400 code 6
	ack           bool            // indexer acknowledgement on
	ackDelay      time.Duration   // an ackId turns true this long after the request
	ackAfterPolls int             // ... and after it was answered false this many times
	ackLost       bool            // acks never turn true
	channels      map[string]*channel
	requests      []request
	envelopes     []envelope
	byUUID        map[string]int // uuid → times stored
	ackPolls      int
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

// request is what the server saw of one event request.
type request struct {
	header http.Header
	gzip   bool
	bytes  int // body size as sent
	events int
	status int
}

// envelope is one stored HEC envelope.
type envelope struct {
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

func newHECServer(t testing.TB, token string) *hecServer {
	t.Helper()
	return startHECServer(t, token, false)
}

// startHECServer starts the fake, on HTTPS with httptest's certificate
// when tls is set.
func startHECServer(t testing.TB, token string, tls bool) *hecServer {
	t.Helper()
	s := &hecServer{
		token: token, bad: map[string]bool{}, channels: map[string]*channel{}, byUUID: map[string]int{},
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
	t.Cleanup(s.srv.Close)
	return s
}

// do runs f with the server's state locked, to program faults or read what
// it stored.
func (s *hecServer) do(f func(s *hecServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *hecServer) handleEvent(w http.ResponseWriter, r *http.Request) {
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
	req := request{header: r.Header.Clone(), bytes: len(raw), gzip: r.Header.Get("Content-Encoding") == "gzip"}
	e, envs := s.accept(r, raw)
	req.events = len(envs)
	if e == nil && s.drop > 0 {
		// The ambiguous outcome: kept, but the client never hears.
		s.drop--
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
		if s.ack {
			ok["ackId"] = s.newAckID(channelOf(r))
		}
	}
	req.status = s.reply(w, e, ok)
	s.requests = append(s.requests, req)
}

// accept checks an event request and returns its envelopes, or why it is
// rejected. The caller holds mu.
func (s *hecServer) accept(r *http.Request, raw []byte) (*hecError, []envelope) {
	switch {
	case s.busy > 0:
		s.busy--
		return &hecError{http.StatusServiceUnavailable, 9, "Server is busy", -1}, nil
	case s.tooMany > 0:
		s.tooMany--
		return &hecError{http.StatusTooManyRequests, 26, "Queue at capacity", -1}, nil
	case s.internal > 0:
		s.internal--
		return &hecError{http.StatusInternalServerError, 8, "Internal server error", -1}, nil
	case s.maxBodyBytes > 0 && len(raw) > s.maxBodyBytes:
		return &hecError{http.StatusRequestEntityTooLarge, -1,
			fmt.Sprintf("Content-Length of %d too large (maximum is %d)", len(raw), s.maxBodyBytes), -1}, nil
	}
	if s.ack {
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
func (s *hecServer) parse(body []byte) (*hecError, []envelope) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return &hecError{http.StatusBadRequest, 5, "No data", -1}, nil
	}
	if trimmed[0] == '[' {
		return &hecError{http.StatusBadRequest, 6, "Invalid data format", 0}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var envs []envelope
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
func (s *hecServer) check(raw json.RawMessage, i int) (envelope, *hecError) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return envelope{}, &hecError{http.StatusBadRequest, 6, "Invalid data format", i}
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return envelope{}, &hecError{http.StatusBadRequest, 6, "Invalid data format", i}
	}
	ev, ok := keys["event"]
	switch {
	case !ok:
		return env, &hecError{http.StatusBadRequest, 12, "Event field is required", i}
	case string(ev) == `""` || string(ev) == "null":
		return env, &hecError{http.StatusBadRequest, 13, "Event field cannot be blank", i}
	case s.maxEventBytes > 0 && len(raw) > s.maxEventBytes:
		return env, &hecError{http.StatusBadRequest, 6, "Invalid data format", i}
	case s.bad[eventUUID(ev)]:
		return env, &hecError{http.StatusBadRequest, 6, "Invalid data format", i}
	case s.indexes != nil && env.Index != "" && !s.indexes[env.Index]:
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
func (s *hecServer) store(envs []envelope) {
	for _, env := range envs {
		s.envelopes = append(s.envelopes, env)
		s.byUUID[eventUUID(env.Event)]++
	}
}

// newAckID hands out the channel's next ackId. The caller holds mu.
func (s *hecServer) newAckID(ch string) int64 {
	c := s.channels[ch]
	if c == nil {
		c = &channel{pending: map[int64]*pendingAck{}}
		s.channels[ch] = c
	}
	id := c.next
	c.next++
	c.pending[id] = &pendingAck{readyAt: time.Now().Add(s.ackDelay)}
	return id
}

func (s *hecServer) handleAck(w http.ResponseWriter, r *http.Request) {
	if e := s.auth(r); e != nil {
		s.reply(w, e, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ackPolls++
	ch := channelOf(r)
	switch {
	case !s.ack:
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
		if c == nil || s.ackLost {
			continue
		}
		p := c.pending[id]
		if p == nil {
			continue
		}
		if p.polls < s.ackAfterPolls || time.Now().Before(p.readyAt) {
			p.polls++
			continue
		}
		out[key] = true
		delete(c.pending, id) // Splunk forgets an ackId once it said true
	}
	s.reply(w, nil, map[string]any{"acks": out})
}

func (s *hecServer) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	busy := s.busy > 0
	s.mu.Unlock()
	if busy {
		s.reply(w, &hecError{http.StatusServiceUnavailable, 18, "HEC is unhealthy, queues are full", -1}, nil)
		return
	}
	s.reply(w, nil, map[string]any{"text": "HEC is healthy", "code": 17})
}

// auth checks "Authorization: Splunk <token>" or Basic auth with the token
// as the password.
func (s *hecServer) auth(r *http.Request) *hecError {
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
	if got != s.token {
		return &hecError{http.StatusForbidden, 4, "Invalid token", -1}
	}
	return nil
}

// reply writes an error or a success body and returns the status. It reads
// s.retryAfter only for a 429, which is decided with mu held.
func (s *hecServer) reply(w http.ResponseWriter, e *hecError, ok map[string]any) int {
	status, body := http.StatusOK, ok
	if e != nil {
		status, body = e.status, map[string]any{"text": e.text}
		if e.code >= 0 {
			body["code"] = e.code
		}
		if e.invalid >= 0 {
			body["invalid-event-number"] = e.invalid
		}
		if status == http.StatusTooManyRequests && s.retryAfter != "" {
			w.Header().Set("Retry-After", s.retryAfter)
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
