package syslog

import (
	"fmt"
	"strconv"
	"strings"
)

// parsed is an RFC 5424 message with one structured data element, as this
// package writes them.
type parsed struct {
	pri, version                      int
	timestamp, host, app, proc, msgID string
	sdID                              string
	params                            map[string]string
	msg                               string
}

// parseMessage parses msg strictly by the RFC 5424 grammar for the subset
// this package emits; it is the tests' independent reading of the output.
func parseMessage(msg string) (parsed, error) {
	var p parsed
	rest, ok := strings.CutPrefix(msg, "<")
	if !ok {
		return p, fmt.Errorf("no PRI in %q", msg)
	}
	priText, rest, ok := strings.Cut(rest, ">")
	if !ok {
		return p, fmt.Errorf("unterminated PRI in %q", msg)
	}
	var err error
	if p.pri, err = strconv.Atoi(priText); err != nil || p.pri > 191 {
		return p, fmt.Errorf("bad PRI %q", priText)
	}
	fields := strings.SplitN(rest, " ", 7)
	if len(fields) != 7 {
		return p, fmt.Errorf("short header in %q", msg)
	}
	if p.version, err = strconv.Atoi(fields[0]); err != nil {
		return p, fmt.Errorf("bad version %q", fields[0])
	}
	p.timestamp, p.host, p.app, p.proc, p.msgID = fields[1], fields[2], fields[3], fields[4], fields[5]
	for i, f := range fields[1:6] {
		if !validHeaderField(f, []int{64, maxHostname, maxAppName, 128, maxMsgID}[i]) {
			return p, fmt.Errorf("bad header field %q", f)
		}
	}
	rest, err = p.parseSD(fields[6])
	if err != nil {
		return p, err
	}
	if rest != "" {
		if rest, ok = strings.CutPrefix(rest, " "); !ok {
			return p, fmt.Errorf("no space before MSG in %q", msg)
		}
	}
	p.msg = rest
	return p, nil
}

// parseSD reads one SD-ELEMENT and returns what follows it.
func (p *parsed) parseSD(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, "[")
	if !ok {
		return "", fmt.Errorf("no SD element in %q", s)
	}
	end := strings.IndexAny(rest, " ]")
	if end < 1 || end > 32 {
		return "", fmt.Errorf("bad SD-ID in %q", s)
	}
	p.sdID, rest = rest[:end], rest[end:]
	p.params = map[string]string{}
	for {
		if after, ok := strings.CutPrefix(rest, "]"); ok {
			return after, nil
		}
		rest, ok = strings.CutPrefix(rest, " ")
		if !ok {
			return "", fmt.Errorf("want space or ] in SD at %q", rest)
		}
		name, after, ok := strings.Cut(rest, `="`)
		if !ok || name == "" || len(name) > 32 || strings.ContainsAny(name, ` ="]`) {
			return "", fmt.Errorf("bad PARAM-NAME at %q", rest)
		}
		var value strings.Builder
		i := 0
		for ; i < len(after) && after[i] != '"'; i++ {
			c := after[i]
			switch {
			case c == '\\' && i+1 < len(after) && strings.IndexByte(`"\]`, after[i+1]) >= 0:
				i++
				c = after[i]
			case c == ']':
				return "", fmt.Errorf("unescaped ] in PARAM-VALUE at %q", after)
			}
			value.WriteByte(c)
		}
		if i == len(after) {
			return "", fmt.Errorf("unterminated PARAM-VALUE at %q", after)
		}
		p.params[name] = value.String()
		rest = after[i+1:]
	}
}
