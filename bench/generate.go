package bench

import (
	"math/rand/v2"
	"strconv"
)

const (
	// startMillis is the first published time, 2026-05-04T10:14:58.907Z; each
	// event moves the clock forward by up to 1.5 seconds.
	startMillis = 1777889698907
	timeLayout  = "2006-01-02T15:04:05.000Z07:00"
	hexDigits   = "0123456789abcdef"
	alnum       = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	// pcgStream is the second half of the PCG seed; any constant will do.
	pcgStream = 0x9e3779b97f4a7c15
)

// Generator produces Okta System Log events and event hook deliveries from a
// seeded pseudo-random source: the same seed gives the same bytes, and every
// event and delivery gets a fresh version 4 uuid. It is not safe for
// concurrent use; give each goroutine its own.
type Generator struct {
	r       *rand.Rand
	now     int64 // the clock, in Unix milliseconds
	hookID  string
	scratch []byte // the events of a delivery, before its envelope

	// Principals are drawn once per generator so that, as in a real org, the
	// same users, apps and groups come back event after event.
	users, admins, apps, groups, policies []principal
	system                                principal
}

// NewGenerator returns a generator whose output is fixed by seed.
func NewGenerator(seed uint64) *Generator {
	g := &Generator{r: rand.New(rand.NewPCG(seed, pcgStream)), now: startMillis}
	g.hookID = "who" + g.alnum(17)
	for i := range 48 {
		p := people[i%len(people)]
		login := p.login
		if i >= len(people) {
			login += strconv.Itoa(i / len(people))
		}
		u := principal{"00u" + g.alnum(17), login + "@" + domains[i%len(domains)], p.name}
		g.users = append(g.users, u)
		if i%8 == 0 {
			g.admins = append(g.admins, u)
		}
	}
	for _, a := range appNames {
		g.apps = append(g.apps, principal{"0oa" + g.alnum(17), a[0], a[1]})
	}
	for _, name := range groupNames {
		g.groups = append(g.groups, principal{"00g" + g.alnum(17), name, name})
	}
	for _, name := range policyNames {
		g.policies = append(g.policies, principal{"00p" + g.alnum(17), name, name})
	}
	g.system = principal{"spr" + g.alnum(17), "system@okta.com", "Okta System"}
	return g
}

// Event returns one System Log event as a JSON object, mostly in the member
// order of Okta's System Log API. The slice is the caller's.
func (g *Generator) Event() []byte {
	ev, _ := g.appendEvent(make([]byte, 0, 3<<10))
	return ev
}

// Delivery returns an event hook POST body (eventType com.okta.event_hook)
// with a fresh eventId and n events in data.events, and the uuids of those
// events in order.
func (g *Generator) Delivery(n int) (body []byte, uuids []string) {
	uuids = make([]string, 0, n)
	// The events come first: eventTime follows the last of them.
	events := jw{b: g.scratch[:0]}
	for range n {
		events.sep()
		var id string
		events.b, id = g.appendEvent(events.b)
		events.comma = true
		uuids = append(uuids, id)
	}
	g.scratch = events.b
	g.now += 200 + g.r.Int64N(1800)

	w := jw{b: make([]byte, 0, 512+len(events.b))}
	w.open('{')
	w.kstr("eventType", "com.okta.event_hook")
	w.kstr("eventTypeVersion", "1.0")
	w.kstr("cloudEventsVersion", "0.1")
	w.kstr("source", "https://example.okta.com/api/v1/eventHooks/"+g.hookID)
	w.kstr("eventId", g.uuid())
	w.key("eventTime")
	w.time(g.now)
	w.kstr("contentType", "application/json")
	w.key("data")
	w.open('{')
	w.key("events")
	w.open('[')
	w.b = append(w.b, events.b...)
	w.close(']')
	w.close('}')
	w.close('}')
	return w.b, uuids
}

// scene is what one event is about, drawn before any of it is written.
type scene struct {
	k        *kind
	actor    principal
	job      bool // run by Okta itself: no client, no IP chain
	sparse   bool // many members left out; see sparse
	uuid     string
	place    *place
	agent    *agent
	isp      *isp
	ip       string
	v6       bool
	session  string
	request  string
	result   string
	reason   string
	severity string
}

// scene advances the clock and draws the next event: its kind, who did it,
// from where, and how it ended. Kinds with failures fail 15% of the time;
// an account lock always does.
func (g *Generator) scene() scene {
	g.now += 1 + g.r.Int64N(1500)
	s := scene{k: g.kind(), severity: "INFO"}
	switch s.k.actor {
	case byAdmin:
		s.actor = pick(g, g.admins)
	case bySystem:
		s.actor, s.job = g.system, true
	default:
		s.actor = pick(g, g.users)
	}
	s.place = &places[g.r.IntN(len(places))]
	s.agent = &agents[g.r.IntN(len(agents))]
	s.isp = &isps[g.r.IntN(len(isps))]
	s.ip, s.v6 = g.ip()
	s.uuid = g.uuid()
	s.sparse = s.k.actor == byUser && g.r.IntN(100) < 8
	s.session = "idx" + g.alnum(22)
	s.request = g.alnum(23) + "AAA" + g.alnum(1)
	s.result, s.reason = "SUCCESS", ""
	locked := s.k.eventType == "user.account.lock"
	if len(s.k.failures) > 0 && (g.r.IntN(100) < 15 || locked) {
		f := s.k.failures[g.r.IntN(len(s.k.failures))]
		s.result, s.reason, s.severity = f[0], f[1], "WARN"
	}
	if s.k.eventType == "policy.evaluate_sign_on" && s.result == "SUCCESS" {
		s.result, s.reason = "ALLOW", "Sign-on policy evaluation resulted in AUTHENTICATED"
		s.severity = "DEBUG"
	}
	return s
}

// appendEvent appends one event to dst and returns it with the event's uuid.
func (g *Generator) appendEvent(dst []byte) ([]byte, string) {
	s := g.scene()
	w := jw{b: dst}
	if s.sparse {
		return g.sparse(&w, &s), s.uuid
	}
	w.open('{')
	g.actor(&w, &s)
	g.client(&w, &s)
	g.device(&w, &s)
	g.authContext(&w, &s)
	w.kstr("displayMessage", s.k.message)
	w.kstr("eventType", s.k.eventType)
	w.kobj("outcome")
	w.kstr("result", s.result)
	w.kopt("reason", s.reason)
	w.close('}')
	w.key("published")
	w.time(g.now)
	g.securityContext(&w, &s)
	w.kstr("severity", s.severity)
	g.debugContext(&w, &s)
	w.kopt("legacyEventType", s.k.legacy)
	g.transaction(&w, &s)
	w.kstr("uuid", s.uuid)
	w.kstr("version", "0")
	g.request(&w, &s)
	g.targets(&w, &s)
	w.close('}')
	return w.b, s.uuid
}

// sparse writes an event in the shape of the sample delivery in Okta's event
// hook guide: members left out rather than null, and in another order.
func (g *Generator) sparse(w *jw, s *scene) []byte {
	w.open('{')
	w.kstr("version", "0")
	w.kstr("severity", s.severity)
	w.kobj("client")
	w.kstr("zone", "OFF_NETWORK")
	w.kstr("device", s.agent.device)
	w.kobj("userAgent")
	w.kstr("os", s.agent.os)
	w.kstr("browser", s.agent.browser)
	w.kstr("rawUserAgent", s.agent.raw)
	w.close('}')
	w.kstr("ipAddress", s.ip)
	w.key("geographicalContext")
	g.geo(w, s.place)
	w.close('}')
	w.kobj("actor")
	w.kstr("id", s.actor.id)
	w.kstr("type", "User")
	w.kstr("alternateId", s.actor.login)
	w.kstr("displayName", s.actor.name)
	w.close('}')
	w.kobj("outcome")
	w.kstr("result", s.result)
	w.close('}')
	w.kstr("uuid", s.uuid)
	w.key("published")
	w.time(g.now)
	w.kstr("eventType", s.k.eventType)
	w.kstr("displayMessage", s.k.message)
	w.kobj("transaction")
	w.kstr("type", "WEB")
	w.kstr("id", s.request)
	w.close('}')
	w.kobj("debugContext")
	w.kobj("debugData")
	w.kstr("requestId", s.request)
	w.kstr("requestUri", s.k.uri)
	w.close('}')
	w.close('}')
	if s.k.legacy != "" {
		w.kstr("legacyEventType", s.k.legacy)
	}
	w.kobj("authenticationContext")
	w.key("authenticationStep")
	w.raw("0")
	w.kstr("externalSessionId", s.session)
	w.close('}')
	w.close('}')
	return w.b
}

func (g *Generator) actor(w *jw, s *scene) {
	w.kobj("actor")
	w.kstr("id", s.actor.id)
	typ := "User"
	if s.job {
		typ = "SystemPrincipal"
	}
	w.kstr("type", typ)
	w.kstr("alternateId", s.actor.login)
	w.kstr("displayName", s.actor.name)
	w.knull("detailEntry")
	w.close('}')
}

func (g *Generator) client(w *jw, s *scene) {
	w.kobj("client")
	if s.job {
		for _, k := range []string{"userAgent", "zone", "device", "id", "ipAddress",
			"geographicalContext"} {
			w.knull(k)
		}
		w.close('}')
		return
	}
	w.kobj("userAgent")
	w.kstr("rawUserAgent", s.agent.raw)
	w.kstr("os", s.agent.os)
	w.kstr("browser", s.agent.browser)
	w.close('}')
	w.kstr("zone", oneOf(g, "null", "null", "null", "Corporate VPN", "BlockedIpZone"))
	w.kstr("device", s.agent.device)
	if g.r.IntN(3) == 0 {
		w.kstr("id", "okta."+g.uuid())
	} else {
		w.knull("id")
	}
	w.kstr("ipAddress", s.ip)
	w.key("geographicalContext")
	g.geo(w, s.place)
	w.close('}')
}

// device writes the Okta Verify device, which only some events carry.
func (g *Generator) device(w *jw, s *scene) {
	if s.job || s.k.actor != byUser || g.r.IntN(5) != 0 {
		w.knull("device")
		return
	}
	w.kobj("device")
	w.kstr("id", "guo"+g.alnum(17))
	w.kstr("name", s.actor.name+"’s "+oneOf(g, "MacBook Pro", "iPhone", "Pixel 8", "ThinkPad"))
	w.kstr("os_platform", s.agent.os)
	w.kstr("os_version", oneOf(g, "14.6.1", "17.5", "10.0.22631", "14"))
	w.key("managed")
	w.raw(oneOf(g, "true", "false"))
	w.key("registered")
	w.raw("true")
	w.knull("device_integrator")
	w.kstr("disk_encryption_type", oneOf(g, "ALL_INTERNAL_VOLUMES", "FULL", "NONE"))
	w.kstr("screen_lock_type", oneOf(g, "BIOMETRIC", "PASSCODE"))
	w.key("jailbreak")
	w.raw("false")
	w.key("secure_hardware_present")
	w.raw("true")
	w.close('}')
}

func (g *Generator) authContext(w *jw, s *scene) {
	w.kobj("authenticationContext")
	if s.k.credential != "" && !s.job {
		w.kstr("authenticationProvider", "FACTOR_PROVIDER")
		w.kstr("credentialProvider", "OKTA_CREDENTIAL_PROVIDER")
		w.kstr("credentialType", s.k.credential)
	} else {
		w.knull("authenticationProvider")
		w.knull("credentialProvider")
		w.knull("credentialType")
	}
	if s.k.eventType == "user.authentication.sso" {
		w.kobj("issuer")
		w.kstr("id", "aus"+g.alnum(17))
		w.kstr("type", "AuthorizationServer")
		w.close('}')
	} else {
		w.knull("issuer")
	}
	w.knull("interface")
	w.key("authenticationStep")
	w.raw("0")
	if g.r.IntN(2) == 0 {
		w.kstr("rootSessionId", s.session)
	}
	w.kstr("externalSessionId", s.session)
	w.close('}')
}

func (g *Generator) securityContext(w *jw, s *scene) {
	w.kobj("securityContext")
	if g.r.IntN(10) == 0 {
		for _, k := range []string{"asNumber", "asOrg", "isp", "domain", "isProxy"} {
			w.knull(k)
		}
		w.close('}')
		return
	}
	w.key("asNumber")
	w.int(s.isp.asn)
	w.kstr("asOrg", s.isp.org)
	w.kstr("isp", s.isp.name)
	w.kstr("domain", s.isp.domain)
	w.key("isProxy")
	w.raw(oneOf(g, "false", "false", "false", "true"))
	if g.r.IntN(4) == 0 {
		w.key("ipDetails")
		g.ipDetails(w, s.isp)
	}
	if g.r.IntN(8) == 0 {
		w.kobj("risk")
		w.kstr("level", oneOf(g, "LOW", "MEDIUM", "HIGH"))
		w.kstr("previousLevel", "LOW")
		w.knull("detectionName")
		w.kstr("issuer", "OKTA")
		w.karr("reasons")
		w.str("Anomalous Location")
		if g.r.IntN(2) == 0 {
			w.str("Anomalous Device")
		}
		w.close(']')
		w.close('}')
		w.kobj("botProtection")
		w.kstr("level", "NONE")
		w.close('}')
	}
	w.close('}')
}

func (g *Generator) ipDetails(w *jw, p *isp) {
	w.open('{')
	w.key("asNumber")
	w.int(p.asn)
	w.kstr("asOrg", p.org)
	w.kstr("domain", p.domain)
	w.kstr("isp", p.name)
	w.karr("ipServiceCategories")
	if g.r.IntN(4) == 0 {
		w.open('{')
		w.kstr("type", "VPN")
		w.kstr("operator", oneOf(g, "NordVPN", "Mullvad VPN", "Proton VPN"))
		w.key("isAnonymous")
		w.raw("true")
		w.close('}')
	}
	w.close(']')
	w.close('}')
}

// debugContext writes debugData, whose keys depend on the event type and on
// chance, as in real traffic.
func (g *Generator) debugContext(w *jw, s *scene) {
	w.kobj("debugContext")
	w.kobj("debugData")
	if s.job {
		w.kstr("requestId", "unknown")
	} else {
		w.kstr("requestId", s.request)
		w.kstr("requestUri", s.k.uri)
		w.kstr("url", s.k.uri+"?")
		w.kstr("threatSuspected", oneOf(g, "false", "false", "false", "false", "true"))
	}
	if s.k.actor == byUser && g.r.IntN(2) == 0 {
		w.kstr("dtHash", g.hex(64))
	}
	switch s.k.eventType {
	case "user.session.start", "policy.evaluate_sign_on":
		w.kstr("behaviors", "{New Geo-Location=NEGATIVE, New Device="+
			oneOf(g, "POSITIVE", "NEGATIVE")+", New IP=NEGATIVE, New State=NEGATIVE, "+
			"New Country=NEGATIVE, Velocity=NEGATIVE, New City=NEGATIVE}")
		w.kstr("risk", "{reasons=Anomalous Location, level="+oneOf(g, "LOW", "MEDIUM")+"}")
		w.kstr("deviceFingerprint", g.hex(32))
		if g.r.IntN(2) == 0 {
			w.kstr("logOnlySecurityData", `{"risk":{"level":"LOW"},"behaviors":{`+
				`"New Geo-Location":"NEGATIVE","New Device":"POSITIVE","New IP":"NEGATIVE"}}`)
		}
	case "user.authentication.sso":
		w.kstr("initiationType", oneOf(g, "SP_INITIATED", "IDP_INITIATED"))
		w.kstr("signOnMode", oneOf(g, "SAML 2.0", "OpenID Connect"))
		w.kstr("authnRequestId", s.request)
	case "user.authentication.auth_via_mfa", "user.mfa.factor.activate":
		w.kstr("factor", oneOf(g, "OKTA_VERIFY_PUSH", "FIDO_WEBAUTHN", "SIGNED_NONCE"))
		w.kstr("factorIntent", "AUTHENTICATION")
	case "policy.lifecycle.update":
		g.policyChange(w)
	case "system.api_token.create":
		w.kstr("apiTokenName", oneOf(g, "terraform", "scim-bridge", "Łódź sync"))
		w.kstr("requestApiTokenId", "00T"+g.alnum(17))
	}
	// A few keys appear on any event type, now and then.
	if g.r.IntN(4) == 0 {
		w.kstr("origin", "https://example.okta.com")
	}
	if g.r.IntN(10) == 0 {
		w.kobj("originalPrincipal")
		w.kstr("id", s.actor.id)
		w.kstr("type", "User")
		w.kstr("alternateId", s.actor.login)
		w.kstr("displayName", s.actor.name)
		w.close('}')
	}
	w.close('}')
	w.close('}')
}

// policyChange writes the old and new policy properties as pretty-printed
// JSON inside strings, Okta's way, which makes the largest events.
func (g *Generator) policyChange(w *jw) {
	name := pick(g, g.policies).name
	for _, side := range []string{"old", "new"} {
		text := "{\n"
		for i, p := range policyProps {
			if i > 0 {
				text += ",\n"
			}
			text += `  "` + p + `": ` + strconv.Itoa(g.r.IntN(12))
		}
		w.kstr(side+"PolicyExtensiblePropertiesJson", text+"\n}")
		w.kstr(side+"PolicyName", name)
		w.kstr(side+"PolicyPriority", strconv.Itoa(1+g.r.IntN(5)))
	}
}

func (g *Generator) transaction(w *jw, s *scene) {
	w.kobj("transaction")
	if s.job {
		w.knull("type")
		w.kstr("id", "unknown")
	} else {
		w.kstr("type", "WEB")
		w.kstr("id", s.request)
	}
	w.kobj("detail")
	w.close('}')
	w.close('}')
}

// request writes the IP chain: the client first, then up to two proxies.
func (g *Generator) request(w *jw, s *scene) {
	w.kobj("request")
	w.karr("ipChain")
	if !s.job {
		g.hop(w, s.ip, s.v6, s.place, nil)
		// Most requests reach Okta directly; some through one or two
		// proxies.
		proxies := 0
		switch n := g.r.IntN(20); {
		case n >= 18:
			proxies = 2
		case n >= 12:
			proxies = 1
		}
		for range proxies {
			ip, v6 := g.ip()
			var where *place
			if g.r.IntN(2) == 0 {
				where = &places[g.r.IntN(len(places))]
			}
			g.hop(w, ip, v6, where, &isps[g.r.IntN(len(isps))])
		}
	}
	w.close(']')
	w.close('}')
}

// hop writes one ipChain entry; a proxy (via not nil) says so in source and
// carries ipDetails.
func (g *Generator) hop(w *jw, ip string, v6 bool, where *place, via *isp) {
	w.open('{')
	w.kstr("ip", ip)
	w.key("geographicalContext")
	if where == nil {
		w.null()
	} else {
		g.geo(w, where)
	}
	if v6 {
		w.kstr("version", "V6")
	} else {
		w.kstr("version", "V4")
	}
	if via == nil {
		w.knull("source")
	} else {
		w.kstr("source", "PROXY")
		w.key("ipDetails")
		g.ipDetails(w, via)
	}
	w.close('}')
}

func (g *Generator) geo(w *jw, p *place) {
	w.open('{')
	w.kstr("city", p.city)
	w.kstr("state", p.state)
	w.kstr("country", p.country)
	w.kopt("postalCode", p.postal)
	w.kobj("geolocation")
	w.kraw("lat", p.lat)
	w.kraw("lon", p.lon)
	w.close('}')
	w.close('}')
}

// targets writes the entities the action was performed on: none for some
// event types, up to four for others.
func (g *Generator) targets(w *jw, s *scene) {
	t := s.k.eventType
	if t == "user.session.end" || (t == "user.session.start" && g.r.IntN(2) == 0) {
		w.knull("target")
		return
	}
	w.karr("target")
	switch t {
	case "user.session.start", "user.account.lock", "user.account.update_password":
		w.target("User", s.actor)
		w.open('{')
		w.kstr("methodTypeUsed", oneOf(g, "Password", "Okta Verify", "Email"))
		w.kstr("methodUsedVerifiedProperties", "[USER_VERIFYING, HARDWARE_PROTECTED]")
		w.close('}')
		w.close('}')
	case "user.authentication.sso", "application.user_membership.add":
		app := pick(g, g.apps)
		w.plainTarget("AppUser", principal{"0ua" + g.alnum(17), s.actor.login, s.actor.name})
		w.target("AppInstance", app)
		w.open('{')
		w.kstr("signOnModeType", oneOf(g, "SAML_2_0", "OPENID_CONNECT", "AUTO_LOGIN"))
		w.close('}')
		w.close('}')
		if t == "application.user_membership.add" {
			w.plainTarget("User", pick(g, g.users))
		}
	case "user.authentication.auth_via_mfa", "user.mfa.factor.activate":
		w.plainTarget("User", s.actor)
		w.target("AuthenticatorEnrollment", principal{"pfd" + g.alnum(17), "unknown",
			oneOf(g, "Okta Verify", "Google Authenticator", "Security Key or Biometric")})
		w.open('{')
		w.kstr("methodTypeUsed", oneOf(g, "Push", "TOTP", "Signed Nonce"))
		w.kstr("methodUsedVerifiedProperties", "[USER_PRESENCE]")
		w.close('}')
		w.close('}')
	case "policy.evaluate_sign_on":
		g.signOnTargets(w, s)
	case "group.user_membership.add", "user.lifecycle.create":
		w.plainTarget("User", pick(g, g.users))
		if t == "group.user_membership.add" {
			w.plainTarget("UserGroup", pick(g, g.groups))
		}
	case "policy.lifecycle.update":
		w.target("PolicyEntity", pick(g, g.policies))
		w.open('{')
		w.kstr("policyType", "Password")
		w.close('}')
		w.kraw("changeDetails", `{"from":{"policyExtensiblePropertiesJson":`+
			`"{\n  \"recovery.credentials.question.isEnabled\": true\n}"},`+
			`"to":{"policyExtensiblePropertiesJson":`+
			`"{\n  \"recovery.credentials.question.isEnabled\": false\n}"}}`)
		w.close('}')
	case "app.oauth2.as.token.grant.access_token":
		g.tokenTargets(w, s)
	default: // system.api_token.create
		w.plainTarget("Token", principal{"00T" + g.alnum(17), "unknown", "terraform"})
	}
	w.close(']')
}

// signOnTargets writes the app, the global session rule, and now and then
// the authentication policy rule and the user: two to four targets.
func (g *Generator) signOnTargets(w *jw, s *scene) {
	w.target("AppInstance", pick(g, g.apps))
	w.open('{')
	w.kstr("signOnModeType", "OPENID_CONNECT")
	w.kstr("signOnModeEvaluationResult", s.result)
	w.close('}')
	w.close('}')
	w.target("Rule", principal{"0pr" + g.alnum(17), "Global session policy", "Default Rule"})
	w.open('{')
	w.kstr("policyName", "Default Policy")
	w.kstr("policyRuleFactorMode", "1FA")
	w.close('}')
	w.close('}')
	if g.r.IntN(2) == 0 {
		w.target("Rule", principal{"rul" + g.alnum(17), "Authentication policy", "Catch-all Rule"})
		w.open('{')
		w.kstr("policyName", pick(g, g.policies).name)
		w.kstr("policyRuleFactorMode", "2FA")
		w.close('}')
		w.close('}')
		if g.r.IntN(2) == 0 {
			w.plainTarget("User", s.actor)
		}
	}
}

// tokenTargets writes the token an authorization server granted, and the
// server.
func (g *Generator) tokenTargets(w *jw, s *scene) {
	w.target("access_token", principal{"AT." + g.alnum(43), "unknown", "Access Token"})
	w.open('{')
	w.key("expires")
	w.time(g.now + 3600_000)
	w.kstr("subject", s.actor.id)
	w.kstr("hash", g.alnum(22))
	w.close('}')
	w.close('}')
	w.target("AuthorizationServer", principal{"aus" + g.alnum(17), "default", "default"})
	w.open('{')
	w.kstr("authServerUri", "https://example.okta.com/oauth2/default")
	w.close('}')
	w.close('}')
}

func (g *Generator) kind() *kind {
	n := g.r.IntN(totalWeight)
	for i := range kinds {
		if n < kinds[i].weight {
			return &kinds[i]
		}
		n -= kinds[i].weight
	}
	panic("BUG: kind weights do not add up")
}

// ip returns an address from the documentation ranges (RFC 5737 and RFC
// 3849), an IPv6 one about a third of the time.
func (g *Generator) ip() (string, bool) {
	if g.r.IntN(3) == 0 {
		b := []byte("2001:db8:")
		b = strconv.AppendUint(b, uint64(g.r.IntN(0x10000)), 16)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(g.r.IntN(0x10000)), 16)
		b = append(b, "::"...)
		b = strconv.AppendUint(b, uint64(1+g.r.IntN(0xfffe)), 16)
		return string(b), true
	}
	b := []byte(oneOf(g, "192.0.2.", "198.51.100.", "203.0.113."))
	return string(strconv.AppendInt(b, int64(1+g.r.IntN(254)), 10)), false
}

// uuid returns a random (version 4) uuid in its canonical text form.
func (g *Generator) uuid() string {
	var b [36]byte
	putUUID(b[:], g.r.Uint64(), g.r.Uint64())
	return string(b[:])
}

func (g *Generator) alnum(n int) string { return g.text(n, alnum) }
func (g *Generator) hex(n int) string   { return g.text(n, hexDigits) }

func (g *Generator) text(n int, chars string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[g.r.IntN(len(chars))]
	}
	return string(b)
}

func pick(g *Generator, ps []principal) principal { return ps[g.r.IntN(len(ps))] }

func oneOf(g *Generator, options ...string) string { return options[g.r.IntN(len(options))] }
